#!/bin/sh
# Lua stack benchmark: skynet.call round trips (upstream's test/testecho.lua, in sequence and
# with 10 workers) and the weight of an idle Lua service, on our full stack (core + our Lua
# layer) and on upstream's full stack, in one run.
# Usage: sh benches/lua.sh <path-to-upstream-skynet built with make linux>
set -u
cd "$(dirname "$0")/.." || exit 1
. benches/node_config.sh
up=${1:-${UPSTREAM:-}}
[ -n "$up" ] && [ -x "$up/skynet" ] || { echo "usage: sh benches/lua.sh <upstream skynet tree, built>"; exit 1; }
out=benches/out/lua
mkdir -p "$out"
here=$(pwd)

# config <which> <root> <start> <extra luaservice dir>
config() {
	node_config "$out/$1-$3.config" "$2" "$3" "$4" 8 "spawn_count = ${BENCH_SPAWN:-2000}"
}

# echo_rates <binary> <config>: the two qps figures testecho prints (it never exits)
echo_rates() {
	timeout "${BENCH_ECHO_SECONDS:-20}" "$1" "$2" 2>&1 | grep "qps" | awk '{ print $NF }' | tr '\n' ' '
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
ours_echo=$(echo_rates ./skynet "$(config ours "$here" testecho "$up/test")")
up_echo=$(echo_rates "$up/skynet" "$(config upstream "$up" testecho "$up/test")")
ours_idle=$(timeout 300 ./skynet "$(config ours "$here" spawner "$here/benches/lua")" 2>&1 | grep "BENCH idle")
up_idle=$(timeout 300 "$up/skynet" "$(config upstream "$up" spawner "$here/benches/lua")" 2>&1 | grep "BENCH idle")
echo "testecho calls/s (sequence, 10 workers): ours $ours_echo / upstream $up_echo"
set -- $ours_echo
o1=${1:-0} o2=${2:-0}
set -- $up_echo
u1=${1:-1} u2=${2:-1}
awk -v a="$o1" -v b="$u1" -v c="$o2" -v d="$u2" 'BEGIN { printf "ratio: sequence %.2fx, parallel %.2fx\n", a / b, c / d }'
echo "idle service: ours: ${ours_idle#*BENCH idle } / upstream: ${up_idle#*BENCH idle }"
