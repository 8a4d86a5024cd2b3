#!/bin/sh
# Suite "cluster": multi-node on loopback, each node a separate process on free ports.
#  harbor: a master and two slaves calling by handle and by global name; a slave killed
#          mid-call (its caller gets an error, the others keep working); a name registered
#          twice.
#  cluster: two nodes calling, sending, 1 MB replies, reload, a peer restarted, garbage at
#          the cluster port (see cnode_*.lua).
# SKYNET_UPSTREAM=<built upstream tree> adds the interop pairs (ours <-> upstream's) and
# upstream's testharborlink and cluster examples on both stacks (upstream-examples.sh), else
# they are skipped. An argument runs one part: harbor, cluster, interop, harbor-interop,
# cluster-interop, examples.
set -u
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd)
out=$root/tests/out/cluster
mkdir -p "$out"
skynet=$root/skynet
. "$root/tests/cluster/lib.sh"
trap 'stop_all' EXIT INT TERM

only=${1:-}

# node_stack which: sets exe and layer for "ours" or "up" (the SKYNET_UPSTREAM tree)
node_stack() {
	if [ "$1" = up ]; then
		exe=$upstream/skynet; layer=$upstream
	else
		exe=$skynet; layer=
	fi
}

# harbor_test s1 s2 s3: harbor 1 (master and slave), 2 and 3 on stacks s1 s2 s3 (ours|up).
# Harbor 3 makes the checks, and must be ours: upstream's harbor sends no error to a caller
# waiting on a harbor that is lost.
harbor_test() {
	tag="harbor[$1 $2 $3]"
	pm=$(free_port); p1=$(free_port); p2=$(free_port); p3=$(free_port)
	master="master = \"127.0.0.1:$pm\""
	node_stack "$1"; write_config "$out/h1.config" hnode "harbor = 1" "role = \"one\"" "$master" \
		"standalone = \"127.0.0.1:$pm\"" "address = \"127.0.0.1:$p1\""
	start_node h1 "$out/h1.config" "$exe"
	node_stack "$2"; write_config "$out/h2.config" hnode "harbor = 2" "role = \"two\"" "$master" "address = \"127.0.0.1:$p2\""
	exe2=$exe
	node_stack "$3"; write_config "$out/h3.config" hnode "harbor = 3" "role = \"three\"" "$master" "address = \"127.0.0.1:$p3\""
	exe3=$exe
	expect h1 "registered ECHO1" "$tag: master + slave 1 up"
	start_node h2 "$out/h2.config" "$exe2"
	expect h2 "\[harbor-test two\] ready" "$tag: slave 2 joined and called harbor 1 by name and by handle"
	expect_no h2 "TEST FAIL" "$tag: slave 2 checks"
	start_node h3 "$out/h3.config" "$exe3"
	expect h3 "hang call started" "$tag: slave 3 joined"
	expect h2 "hang received" "$tag: the hanging call reached slave 2"
	kill_node h2
	expect h3 "TEST DONE" "$tag: slave 3 finished after slave 2 was killed"
	expect_no h3 "TEST FAIL" "$tag: slave 3 checks (by name, by handle, 200 KB, error on loss)"
	expect h3 "Global name ECHO1 is registered already" "$tag: a global name registered twice is refused with a log line"
	grep -E " ok | TEST FAIL " "$out/h3.log" | sed 's/^/    /'
	expect h1 "slave 2 is down" "$tag: the master saw slave 2 go"
	expect h1 "ok an early call to ECHO3 answered" "$tag: a call by global name made before the name existed is delivered once registered"
	stop_node h3
	stop_node h1
	for n in h1 h2 h3; do cp "$out/$n.log" "$out/$n-$1-$2-$3.log"; done
}

# cluster_test sa sb: node a (serves @echo) and node b (calls it) on stacks sa sb
cluster_test() {
	tag="cluster[$1 $2]"
	pa=$(free_port)
	addr="addr_a = \"127.0.0.1:$pa\""
	node_stack "$1"; write_config "$out/ca.config" cnode_a "harbor = 0" "$addr"; exe_a=$exe
	pc=$(free_port); pbad=$(free_port)
	node_stack "$2"; write_config "$out/cb.config" cnode_b "harbor = 0" "$addr" "stack = \"$2\"" \
		"addr_c = \"127.0.0.1:$pc\"" "addr_bad = \"127.0.0.1:$pbad\""; exe_b=$exe
	timeout 120 python3 tests/cluster/bad_server.py "$pbad" > "$out/bad_server.log" 2>&1 &
	bad_pid=$!; pids="$pids $bad_pid"
	wait_log bad_server "listening" 10
	start_node ca "$out/ca.config" "$exe_a"
	expect ca "\[cluster-test a\] open" "$tag: node a listens"
	expect ca "second register of echo: false" "$tag: a name registered twice is refused"
	if [ "$1" = ours ]; then
		expect ca "cluster name echo is registered already" "$tag: ... with a log line"
		python3 tests/cluster/garbage.py "$pa" > "$out/garbage.out" 2>&1
		if grep -q "^closed" "$out/garbage.out" && ! grep -qv "^closed" "$out/garbage.out"; then
			ok "$tag: garbage, truncated and oversize packets: each connection closed ($(wc -l < "$out/garbage.out") cases)"
		else
			sed 's/^/    /' "$out/garbage.out"; bad "$tag: garbage packets close their connection"
		fi
		n=$(grep -c "cluster agent: connection fd .* closed" "$out/ca.log")
		[ "$n" -ge 5 ] && ok "$tag: a log line per closed bad connection ($n)" || bad "$tag: a log line per closed bad connection ($n)"
	fi
	start_node cb "$out/cb.config" "$exe_b"
	expect cb "hang call started" "$tag: node b called node a" 30
	expect ca "hang received" "$tag: the hanging call reached node a"
	kill_node ca
	expect cb "ok the caller waiting on a killed node got an error" "$tag: a caller waiting on a killed node gets an error" 20
	start_node ca "$out/ca.config" "$exe_a"
	expect cb "TEST DONE" "$tag: node b finished after node a restarted" 30
	expect_no cb "TEST FAIL" "$tag: node b checks (calls, query, 1 MB both ways, pushes, proxy, reload, restart)"
	grep -E " ok | TEST FAIL " "$out/cb.log" | sed 's/^/    /'
	stop_node cb
	stop_node ca
	kill "$bad_pid" 2>/dev/null; wait "$bad_pid" 2>/dev/null
	for n in ca cb; do cp "$out/$n.log" "$out/$n-$1-$2.log"; done
}

# our examples/cluster1.lua and cluster2.lua (config.c1, config.c2), on free ports
examples_test() {
	pa=$(free_port); pb=$(free_port)
	d=$out/examples; mkdir -p "$d"
	for f in cluster1.lua cluster2.lua clustername.lua; do
		sed "s/2528/$pa/g; s/2529/$pb/g" "examples/$f" > "$d/$f"
	done
	for c in 1 2; do
		sed "s#^include .*#include \"$root/examples/config.path\"#; s#^cluster = .*#cluster = \"$d/clustername.lua\"#" \
			"examples/config.c$c" > "$d/config.c$c"
		echo "luaservice = \"$d/?.lua;\" .. luaservice" >> "$d/config.c$c"
	done
	start_node ex1 "$d/config.c1"
	expect ex1 "listening as node db2" "examples: cluster1 listens as db and db2"
	start_node ex2 "$d/config.c2"
	expect ex2 "cluster2: db back[[:space:]]+42" "examples: cluster2 ran (name, handle, proxy, 200 KB, reload)"
	expect ex1 "ping from cluster2 throug" "examples: a send through the proxy arrived"
	expect ex1 "ping from cluster2 by clu" "examples: a cluster.send arrived"
	stop_node ex2
	stop_node ex1
}

upstream=${SKYNET_UPSTREAM:-}
if [ -n "$upstream" ]; then
	upstream=$(cd "$upstream" && pwd) || exit 1
	[ -x "$upstream/skynet" ] || { echo "SKYNET_UPSTREAM=$upstream has no built skynet"; exit 1; }
fi

case $only in
""|harbor) harbor_test ours ours ours ;;
esac
case $only in
""|cluster) cluster_test ours ours ;;
esac
case $only in
""|examples) examples_test ;;
esac
if [ -n "$upstream" ]; then
	case $only in
	""|interop|harbor-interop)
		harbor_test ours up ours
		harbor_test up ours ours ;;
	esac
	case $only in
	""|interop|cluster-interop)
		cluster_test up ours
		cluster_test ours up ;;
	esac
	case $only in
	""|interop|examples)
		sh tests/cluster/upstream-examples.sh "$upstream" > "$out/upstream-examples.out" 2>&1
		grep -E "^(PASS|FAIL|    )" "$out/upstream-examples.out"
		p=$(sed -n 's/^upstream-examples: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$out/upstream-examples.out")
		f=$(sed -n 's/^upstream-examples: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$out/upstream-examples.out")
		[ -n "$p" ] || { p=0; f=1; tail -5 "$out/upstream-examples.out"; }
		passed=$((passed + p)); failed=$((failed + f)) ;;
	esac
else
	echo "skip interop with upstream's stack (set SKYNET_UPSTREAM=<built upstream tree>)"
fi

echo "cluster: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
