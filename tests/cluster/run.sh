#!/bin/sh
# Suite "cluster": multi-node on loopback, each node a separate process on free ports.
#  harbor: a master and two slaves calling by handle and by global name; a slave killed
#          mid-call (its caller gets an error, the others keep working); a name registered
#          twice.
#  cluster: two nodes calling, sending, 1 MB replies, reload, a peer restarted, garbage at
#          the cluster port (see cluster_*.lua).
# SKYNET_UPSTREAM=<built upstream tree> adds the interop pairs (ours <-> upstream's), else
# they are skipped.
set -u
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd)
out=$root/tests/out/cluster
mkdir -p "$out"
skynet=$root/skynet
. "$root/tests/cluster/lib.sh"
trap 'stop_all' EXIT INT TERM

only=${1:-}

harbor_test() {
	pm=$(free_port); p1=$(free_port); p2=$(free_port); p3=$(free_port)
	master="master = \"127.0.0.1:$pm\""
	write_config "$out/h1.config" hnode "harbor = 1" "role = \"one\"" "$master" \
		"standalone = \"127.0.0.1:$pm\"" "address = \"127.0.0.1:$p1\""
	write_config "$out/h2.config" hnode "harbor = 2" "role = \"two\"" "$master" "address = \"127.0.0.1:$p2\""
	write_config "$out/h3.config" hnode "harbor = 3" "role = \"three\"" "$master" "address = \"127.0.0.1:$p3\""
	start_node h1 "$out/h1.config"
	expect h1 "registered ECHO1" "harbor: master + slave 1 up"
	start_node h2 "$out/h2.config"
	expect h2 "\[harbor-test two\] ready" "harbor: slave 2 joined and called harbor 1"
	expect_no h2 "TEST FAIL" "harbor: slave 2 checks"
	start_node h3 "$out/h3.config"
	expect h3 "hang call started" "harbor: slave 3 joined"
	expect h2 "hang received" "harbor: the hanging call reached slave 2"
	kill_node h2
	expect h3 "TEST DONE" "harbor: slave 3 finished after slave 2 was killed"
	expect_no h3 "TEST FAIL" "harbor: slave 3 checks (by name, by handle, 200 KB, twice-registered name, error on loss)"
	grep -E "ok|FAIL" "$out/h3.log" | sed 's/^/    /'
	expect h1 "slave 2 is down" "harbor: the master saw slave 2 go"
	stop_node h3
	stop_node h1
}

cluster_test() {
	pa=$(free_port)
	addr="addr_a = \"127.0.0.1:$pa\""
	write_config "$out/ca.config" cnode_a "harbor = 0" "$addr"
	write_config "$out/cb.config" cnode_b "harbor = 0" "$addr"
	start_node ca "$out/ca.config"
	expect ca "\[cluster-test a\] open" "cluster: node a listens"
	expect ca "second register of echo: false" "cluster: a name registered twice is refused"
	expect ca "cluster name echo is registered already" "cluster: ... with a log line"
	python3 tests/cluster/garbage.py "$pa" > "$out/garbage.out" 2>&1
	if grep -q "^closed" "$out/garbage.out" && ! grep -qv "^closed" "$out/garbage.out"; then
		ok "cluster: garbage, truncated and oversize packets: each connection closed ($(wc -l < "$out/garbage.out") cases)"
	else
		sed 's/^/    /' "$out/garbage.out"; bad "cluster: garbage packets close their connection"
	fi
	n=$(grep -c "cluster agent: connection fd .* closed" "$out/ca.log")
	[ "$n" -ge 5 ] && ok "cluster: a log line per closed bad connection ($n)" || bad "cluster: a log line per closed bad connection ($n)"
	start_node cb "$out/cb.config"
	expect cb "hang call started" "cluster: node b called node a" 30
	expect ca "hang received" "cluster: the hanging call reached node a"
	kill_node ca
	expect cb "ok the caller waiting on a killed node got an error" "cluster: a caller waiting on a killed node gets an error" 20
	start_node ca "$out/ca.config"
	expect cb "TEST DONE" "cluster: node b finished after node a restarted" 30
	expect_no cb "TEST FAIL" "cluster: node b checks (calls, query, 1 MB both ways, pushes, proxy, reload, restart)"
	grep -E " ok | TEST FAIL " "$out/cb.log" | sed 's/^/    /'
	stop_node cb
	stop_node ca
}

case $only in
""|harbor) harbor_test ;;
esac
case $only in
""|cluster) cluster_test ;;
esac

echo "cluster: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
