#!/bin/sh
# tests/cluster/upstream-examples.sh <built upstream tree>: upstream's own multi-node scripts,
# run on our stack (a skynet-compat/layer-tree of ours with upstream's test/ and examples/)
# and on upstream's, with their outputs compared once addresses, handles and numbers are
# blanked:
#   testharborlink: test/testharborlink.lua as harbor 1 (and master), examples/main_log.lua
#                   as harbor 2; harbor 2 is stopped at the end ("disconnected")
#   cluster:        examples/cluster1.lua (config.c1) and cluster2.lua (config.c2), with
#                   their fixed ports swapped for free ones in copies under tests/out
# Prints PASS/FAIL lines; called by run.sh when SKYNET_UPSTREAM is set.
set -u
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd)
up=$(cd "$1" && pwd) || exit 2
out=$root/tests/out/cluster/upex
rm -rf "$out"; mkdir -p "$out"
. "$root/tests/cluster/lib.sh"
trap 'stop_all' EXIT INT TERM
skynet-compat/layer-tree "$up" "$out/ours" > /dev/null || exit 2

# blank what differs from run to run: handles, numbers, paths, the log prefix
normal() {
	grep -v '^\[:[0-9a-f]*\] \(LAUNCH\|KILL\)' "$1" | sed -E 's/^\[:[0-9a-f]+\] //; s/:[0-9a-f]{8}/:H/g; s/[0-9]+/N/g; s#[^ \t]*/(lualib|service)/#\1/#g' | sort
}

compare() {	# name
	normal "$out/$1-ours.log" > "$out/$1-ours.norm"
	normal "$out/$1-up.log" > "$out/$1-up.norm"
	if diff "$out/$1-up.norm" "$out/$1-ours.norm" > "$out/$1.diff"; then
		ok "upstream $1 on our stack: same output as on upstream's ($(wc -l < "$out/$1-ours.norm") lines)"
	else
		sed 's/^/    /' "$out/$1.diff" | head -20
		bad "upstream $1 on our stack: output differs from upstream's"
	fi
}

harborlink() {	# stack tree
	pm=$(free_port); p1=$(free_port); p2=$(free_port)
	cat > "$out/hl1-$1.config" <<CFG
root = "$2/"
thread = 2
harbor = 1
address = "127.0.0.1:$p1"
master = "127.0.0.1:$pm"
standalone = "127.0.0.1:$pm"
start = "testharborlink"
bootstrap = "snlua bootstrap"
luaservice = root.."service/?.lua;"..root.."test/?.lua;"..root.."examples/?.lua"
lualoader = root.."lualib/loader.lua"
lua_path = root.."lualib/?.lua;"..root.."lualib/?/init.lua"
lua_cpath = root.."luaclib/?.so"
cpath = root.."cservice/?.so"
CFG
	sed -e "s/^harbor = 1/harbor = 2/; s/^address = .*/address = \"127.0.0.1:$p2\"/; s/^start = .*/start = \"main_log\"/; /^standalone/d" \
		"$out/hl1-$1.config" > "$out/hl2-$1.config"
	start_node "hl1_$1" "$out/hl1-$1.config" "$2/skynet"
	wait_log "hl1_$1" "wait for harbor 2" 20
	start_node "hl2_$1" "$out/hl2-$1.config" "$2/skynet"
	wait_log "hl1_$1" "LOG =" 20
	stop_node "hl2_$1"
	wait_log "hl1_$1" "disconnected" 20
	stop_node "hl1_$1"
	grep -v "^\[:" "$out/hl1_$1.log" > "$out/testharborlink-$1.log"
}

clusterex() {	# stack tree
	pa=$(free_port); pb=$(free_port)
	d=$out/ex-$1; mkdir -p "$d"
	for f in cluster1.lua cluster2.lua clustername.lua; do
		sed "s/2528/$pa/g; s/2529/$pb/g" "$up/examples/$f" > "$d/$f"
	done
	for c in c1 c2; do
		cat > "$d/config.$c" <<CFG
root = "$2/"
thread = 2
harbor = 0
start = "cluster${c#c}"
bootstrap = "snlua bootstrap"
luaservice = "$d/?.lua;"..root.."service/?.lua;"..root.."test/?.lua;"..root.."examples/?.lua"
lualoader = root.."lualib/loader.lua"
lua_path = root.."lualib/?.lua;"..root.."lualib/?/init.lua"
lua_cpath = root.."luaclib/?.so"
cpath = root.."cservice/?.so"
snax = root.."test/?.lua"
CFG
	done
	echo "cluster = \"$d/clustername.lua\"" >> "$d/config.c2"
	start_node "c1_$1" "$d/config.c1" "$2/skynet"
	wait_log "c1_$1" "Listen on .*$pb" 20
	start_node "c2_$1" "$d/config.c2" "$2/skynet"
	# cluster2 ends with the snax ping through db3 (after its 3 s timer has reloaded)
	wait_log "c2_$1" "^hello" 30
	wait_log "c1_$1" "ping db2:longstring" 10
	stop_node "c2_$1"
	stop_node "c1_$1"
	# the printed lines, and the pings simpledb logs
	keep='^[^[]|\] :[0-9a-f]+ ping '
	{ grep -E "$keep" "$out/c1_$1.log" | sed 's/^/c1: /'; grep -E "$keep" "$out/c2_$1.log" | sed 's/^/c2: /'; } \
		| cut -c1-120 > "$out/cluster-examples-$1.log"
}

harborlink ours "$out/ours"; harborlink up "$up"; compare testharborlink
clusterex ours "$out/ours"; clusterex up "$up"; compare cluster-examples
echo "upstream-examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
