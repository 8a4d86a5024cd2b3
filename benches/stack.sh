#!/bin/sh
# Full-stack side-by-side benchmarks (issues 11 and 12): each benchmark runs the same Lua
# service (benches/stack/) on our stack and on upstream's (each with its own core, lualib,
# luaclib, service), alternating ours/upstream for ROUNDS rounds; best round each.
#   1. skynet.pack + skynet.unpack (+ trash) of a ~15-field game message, ops/s
#   2. sharetable.query of a loaded table from one service, queries/s; and the time from
#      sharetable.loadtable of a new version until 20 readers each ran sharetable.update and
#      see it (best of 10 reloads), ms; and the node's VmRSS growth when 100 readers each
#      query a table of a few MB (20,000 items) and read some of it, KB
#   3. multicast: one publish to 1,000 subscriber services until every one acknowledged it
#      (an ack message back each), 200 publishes, publishes/s
#   4. service/gate.lua with a trivial watchdog (accepts every fd), 1,000 idle TCP clients:
#      node VmRSS before and after, bytes per connection
# Usage: sh benches/stack.sh <upstream skynet tree, built>
#   (env: ROUNDS=3 BENCH_SECONDS=3; STACK_BENCHES="pack multicast" runs only those)
set -u
cd "$(dirname "$0")/.." || exit 1
. benches/node_config.sh
up=${1:-${UPSTREAM:-}}
[ -n "$up" ] && [ -x "$up/skynet" ] || { echo "usage: sh benches/stack.sh <upstream skynet tree, built>"; exit 1; }
up=$(cd "$up" && pwd)
here=$(pwd)
out=${STACK_OUT:-benches/out/stack}   # another folder for a run beside someone else's
mkdir -p "$out"
rounds=${ROUNDS:-3}
clients=${GATE_CLIENTS:-1000}

# config <which> <root> <bench> [port]
config() {
	node_config "$out/$1-$3.config" "$2" stackbench "$here/benches/stack" 4 "bench = \"$3\"
bench_seconds = ${BENCH_SECONDS:-3}
gate_port = ${4:-0}"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run <which> <binary> <root> <bench>: BENCH lines appended to $out/<which>.results
run() {
	if [ "$4" = gate ]; then
		port=$(free_port)
		timeout 60 python3 benches/stack/gate_idle.py "$2" "$(config "$1" "$3" gate "$port")" "$port" "$clients" 2>&1
	else
		timeout 90 "$2" "$(config "$1" "$3" "$4")" 2>&1
	fi | grep -o 'BENCH [a-z0-9_]* [-0-9.e+]*' | sed 's/^BENCH //' >> "$out/$1.results"
}

: > "$out/ours.results"
: > "$out/upstream.results"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); rounds: $rounds"
r=1
while [ "$r" -le "$rounds" ]; do
	for b in ${STACK_BENCHES:-pack sharetable multicast gate}; do
		run ours ./skynet "$here" "$b"
		run upstream "$up/skynet" "$up" "$b"
	done
	echo "round $r done"
	r=$((r + 1))
done

# best <which> <key> <max|min>
best() {
	awk -v k="$2" -v m="$3" '$1 == k { v = $2 + 0; if (!n || (m == "max" ? v > b : v < b)) b = v; n++ }
		END { if (n) printf "%.6g", b; else printf "-" }' "$out/$1.results"
}

printf '%-36s %14s %14s %8s\n' benchmark ours upstream ratio
for spec in pack_unpack_ops_s:max sharetable_query_s:max sharetable_reload20_ms:min sharetable_rss100_kb:min \
	multicast_publish_s:max gate_rss_before_kb:min gate_rss_after_kb:min gate_bytes_per_conn:min; do
	key=${spec%:*} m=${spec#*:}
	o=$(best ours "$key" "$m")
	u=$(best upstream "$key" "$m")
	ratio=$(awk -v o="$o" -v u="$u" -v m="$m" 'BEGIN { if (o == "-" || u == "-" || o + 0 == 0 || u + 0 == 0) print "-";
		else printf "%.2f", (m == "max" ? o / u : u / o) }')
	printf '%-36s %14s %14s %8s\n' "$key" "$o" "$u" "$ratio"
done
echo "(ratio above 1: ours better; rates best = highest round, times/memory best = lowest round)"
