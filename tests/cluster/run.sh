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

case $only in
""|harbor) harbor_test ;;
esac

echo "cluster: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
