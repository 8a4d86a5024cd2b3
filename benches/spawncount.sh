#!/bin/sh
# What spawning a Lua service costs, counted in instructions, which do not swing with the host
# as spawn rates do: callgrind runs a node with one worker thread that spawns SMALL and then
# LARGE idle services one by one (benches/lua/spawner.lua) and stops, on our stack and on
# upstream's; the difference of the two totals over LARGE - SMALL is the cost of one service,
# its close at the node's stop included.
# Usage: sh benches/spawncount.sh <path-to-upstream-skynet built with make linux>
# Needs valgrind. SMALL and LARGE default to 500 and 1500.
set -u
cd "$(dirname "$0")/.." || exit 1
. benches/node_config.sh
up=${1:-${UPSTREAM:-}}
[ -n "$up" ] && [ -x "$up/skynet" ] || { echo "usage: sh benches/spawncount.sh <upstream skynet tree, built>"; exit 1; }
command -v valgrind > /dev/null || { echo "spawncount: needs valgrind"; exit 1; }
small=${SMALL:-500}
large=${LARGE:-1500}
out=benches/out/spawncount
mkdir -p "$out"
here=$(pwd)

# config <which> <root> <count>
config() {
	node_config "$out/$1-$3.config" "$2" spawner "$here/benches/lua" 1 "spawn_count = $3"
}

# instructions <binary> <config>: callgrind's total
instructions() {
	timeout 600 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" "$2" 2>&1 |
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

per_service() {
	a=$(instructions "$2" "$(config "$1" "$3" "$small")")
	b=$(instructions "$2" "$(config "$1" "$3" "$large")")
	awk -v a="${a:-0}" -v b="${b:-0}" -v n=$((large - small)) 'BEGIN { printf "%.0f", (b - a) / n }'
}

ours=$(per_service ours ./skynet "$here")
theirs=$(per_service upstream "$up/skynet" "$up")
echo "instructions per idle Lua service spawned and closed (callgrind, 1 worker, $small -> $large services):"
awk -v o="$ours" -v u="$theirs" 'BEGIN { printf "ours %d, upstream %d, ratio %.2fx\n", o, u, (o > 0 ? u / o : 0) }'
