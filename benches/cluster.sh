#!/bin/sh
# Cross-node benchmark, over harbor (master+slave 1 serves, slave 2 calls) and over cluster:
# sequential skynet.call round trips/s with p50/p99 latency, pipelined sends/s, and 1 MB
# replies; a pair of nodes of our stack, then a pair of upstream's, on loopback; prints both
# side by side with ours / upstream (for latency: upstream / ours; above 1, ours is better),
# and the cpu seconds both nodes used for the whole run (steadier than rates on a busy box).
# Usage: sh benches/cluster.sh <upstream skynet tree, built> [runs]
set -u
cd "$(dirname "$0")/.." || exit 1
up=${1:-${UPSTREAM:-}}
runs=${2:-1}
[ -n "$up" ] && [ -x "$up/skynet" ] || { echo "usage: sh benches/cluster.sh <upstream skynet tree, built> [runs]"; exit 1; }
up=$(cd "$up" && pwd)
here=$(pwd)
out=$here/benches/out/cluster
mkdir -p "$out"
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done' EXIT INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

config() {	# file tree start extra...
	f=$1; t=$2; s=$3; shift 3
	{
		echo "thread = 2"
		echo "bootstrap = \"snlua bootstrap\""
		echo "start = \"$s\""
		echo "cpath = \"$t/cservice/?.so\""
		echo "lualoader = \"$t/lualib/loader.lua\""
		echo "lua_path = \"$t/lualib/?.lua;$t/lualib/?/init.lua\""
		echo "lua_cpath = \"$t/luaclib/?.so\""
		echo "luaservice = \"$here/benches/cluster/?.lua;$t/service/?.lua\""
		for l in "$@"; do echo "$l"; done
	} > "$f"
}

wait_for() {	# file pattern
	n=0
	while [ $n -lt 300 ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		n=$((n + 1)); sleep 0.1
	done
	return 1
}

pair() {	# stack tree mode -> appends BENCH lines to $out/<stack>.txt
	exe=$2/skynet
	if [ "$3" = harbor ]; then
		pm=$(free_port); p1=$(free_port); p2=$(free_port)
		config "$out/s.config" "$2" bserver "harbor = 1" "bench_mode = \"harbor\"" "master = \"127.0.0.1:$pm\"" \
			"standalone = \"127.0.0.1:$pm\"" "address = \"127.0.0.1:$p1\""
		config "$out/c.config" "$2" bclient "harbor = 2" "bench_mode = \"harbor\"" "master = \"127.0.0.1:$pm\"" \
			"address = \"127.0.0.1:$p2\""
	else
		pa=$(free_port)
		config "$out/s.config" "$2" bserver "harbor = 0" "bench_mode = \"cluster\"" "bench_addr = \"127.0.0.1:$pa\""
		config "$out/c.config" "$2" bclient "harbor = 0" "bench_mode = \"cluster\"" "bench_addr = \"127.0.0.1:$pa\""
	fi
	# the last pair's log must be gone before the wait for this one's line starts
	rm -f "$out/s.log"
	/usr/bin/time -f "%U %S" -o "$out/s.time" timeout 300 "$exe" "$out/s.config" > "$out/s.log" 2>&1 & sp=$!; pids="$pids $sp"
	wait_for "$out/s.log" "BENCH server ready" || { echo "server of $1 $3 did not start"; kill $sp; return; }
	/usr/bin/time -f "%U %S" -o "$out/c.time" timeout 300 "$exe" "$out/c.config" > "$out/c.log" 2>&1
	grep "^BENCH $3" "$out/c.log" >> "$out/$1.txt"
	# stop the server (the child of time and timeout), then add up the cpu of both nodes
	for p in $(pgrep -P $sp); do kill $(pgrep -P $p) 2>/dev/null; done
	wait $sp 2>/dev/null
	cpu=$(tail -qn1 "$out/s.time" "$out/c.time" | awk '{ s += $1 + $2 } END { print s }')
	echo "BENCH $3 cpu $cpu s" >> "$out/$1.txt"
}

: > "$out/ours.txt"; : > "$out/upstream.txt"
i=0
while [ $i -lt "$runs" ]; do
	for mode in harbor cluster; do
		pair ours "$here" $mode
		pair upstream "$up" $mode
	done
	i=$((i + 1))
done

# best of the runs: the highest rate, the lowest time
python3 - "$out/ours.txt" "$out/upstream.txt" <<'PY'
import re, sys
def load(p):
    best = {}
    for line in open(p):
        w = line.split()
        key = (w[1], w[2])
        if w[2] == "call":	# rate /s p50 x us p99 y us
            v = {"rate": float(w[3]), "p50": float(w[6]), "p99": float(w[9])}
        elif w[2] == "send":
            v = {"rate": float(w[3])}
        elif w[2] == "cpu":	# seconds of both nodes for the whole run
            v = {"cpu": float(w[3])}
        else:
            v = {"ms": float(w[3])}
        old = best.get(key)
        score = lambda d: d.get("rate", -d.get("ms", d.get("cpu", 0)))
        if old is None or score(v) > score(old):
            best[key] = v
    return best
o, u = load(sys.argv[1]), load(sys.argv[2])
print("%-22s %14s %14s %8s" % ("", "ours", "upstream", "ratio"))
for key in sorted(o.keys() | u.keys()):
    a, b = o.get(key, {}), u.get(key, {})
    for m, unit, better_high in (("rate", "/s", True), ("p50", "us", False), ("p99", "us", False), ("ms", "ms", False), ("cpu", "s", False)):
        if m in a or m in b:
            x, y = a.get(m), b.get(m)
            r = (x / y if better_high else y / x) if x and y else float("nan")
            print("%-22s %11.1f %-2s %11.1f %-2s %7.2fx" % (("%s %s" % key if m == "cpu" else "%s %s %s" % (key[0], key[1], m)), x or 0, unit, y or 0, unit, r))
PY
