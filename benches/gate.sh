#!/bin/sh
# Gate benchmark on loopback: service/gate.lua (snax.gateserver) with a watchdog and one echo
# agent per client (tests/gate/gate_main.lua, echo_watchdog.lua, echo_agent.lua), driven by
# benches/gate_loadgen.c: CONNS clients in a closed loop (each sends a packet, waits for it
# to come back), for 64-byte and 4 KiB packets; packets/s and round-trip p50/p99.
#
#   sh benches/gate.sh                    our stack (run `make linux` first)
#   UPSTREAM=<dir> sh benches/gate.sh     also upstream skynet's full stack (its core, lualib,
#                                         service/gate.lua), built in <dir>, running a copy of
#                                         the same three Lua scripts; then the ratio per size
#
# Knobs: CONNS (1000), SIZES ("64 4096"), BENCH_SECONDS (5), THREAD (workers, 4),
# GATE_LOADGEN_THREADS (2), ROUNDS (2: the stacks take turns, round after round, so a change
# of the machine's load hits both; the summary keeps each stack's best round per size).
# Results go to stdout and benches/out/gate/results.txt.
set -eu
cd "$(dirname "$0")/.."
out=benches/out/gate
mkdir -p "$out/ours" "$out/upstream/lua"
conns=${CONNS:-1000}
sizes=${SIZES:-"64 4096"}
seconds=${BENCH_SECONDS:-5}
thread=${THREAD:-4}
rounds=${ROUNDS:-2}
export GATE_LOADGEN_THREADS=${GATE_LOADGEN_THREADS:-2}
cc -O2 -Wall -o "$out/loadgen" benches/gate_loadgen.c -lpthread

# config NAME PORT LUALIB SERVICE LUACLIB CSERVICE SCRIPTS
config() {
	cat > "$out/$1/config" <<CFG
thread = $thread
harbor = 0
bootstrap = "snlua bootstrap"
start = "gate_main"
cpath = "$6/?.so"
lualoader = "$3/loader.lua"
lua_path = "$3/?.lua;$3/?/init.lua"
lua_cpath = "$5/?.so"
luaservice = "$7/?.lua;$4/?.lua"
gate_port = $2
gate_maxclient = $((conns + 100))
gate_backlog = 1024
CFG
}

# run NAME EXECUTABLE: one node, every size; rows "NAME conns=... msgs/s=..."
run() {
	name=$1 exe=$2
	port=$(grep -o 'gate_port = [0-9]*' "$out/$name/config" | grep -o '[0-9]*$')
	"$exe" "$out/$name/config" > "$out/$name/node.log" 2>&1 &
	pid=$!
	failed=0
	if "$out/loadgen" wait "$port"; then
		for size in $sizes; do
			printf '%-8s ' "$name"
			"$out/loadgen" echo "$port" "$conns" "$size" "$seconds" || { failed=1; break; }
		done
	else
		failed=1
	fi
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	[ $failed -eq 0 ] || { tail -n 20 "$out/$name/node.log"; return 1; }
}

here=$(pwd)
config ours "$("$out/loadgen" port)" "$here/lualib" "$here/service" "$here/luaclib" "$here/cservice" "$here/tests/gate"
if [ -n "${UPSTREAM:-}" ]; then
	up=$(cd "$UPSTREAM" && pwd)
	cp tests/gate/gate_main.lua tests/gate/echo_watchdog.lua tests/gate/echo_agent.lua "$out/upstream/lua/"
	config upstream "$("$out/loadgen" port)" "$up/lualib" "$up/service" "$up/luaclib" "$up/cservice" "$here/$out/upstream/lua"
fi
{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cpus, thread = $thread, loadgen threads $GATE_LOADGEN_THREADS, $rounds rounds"
	r=0
	while [ $r -lt "$rounds" ]; do
		r=$((r + 1))
		run ours ./skynet
		if [ -n "${UPSTREAM:-}" ]; then
			run upstream "$UPSTREAM/skynet"
		fi
	done
} | tee "$out/results.txt"

# best NAME SIZE: the row of NAME's best round at SIZE
best() {
	grep "^$1 .* size=$2 " "$out/results.txt" | sort -t= -k4 -n -r | head -n 1 |
		sed 's/.*msgs\/s=\([0-9]*\) .*p99=\([0-9]*\)us.*/\1 \2/'
}
for size in $sizes; do
	set -- $(best ours "$size")
	a=${1:-} pa=${2:-}
	line="best     size=$size ours $a msgs/s p99 ${pa}us"
	if [ -n "${UPSTREAM:-}" ]; then
		set -- $(best upstream "$size")
		b=${1:-} pb=${2:-}
		line="$line, upstream $b msgs/s p99 ${pb}us"
		[ -n "$a" ] && [ -n "$b" ] && line="$line, ratio $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx", a / b }')"
	fi
	echo "$line"
done | tee -a "$out/results.txt"
