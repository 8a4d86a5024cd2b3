#!/bin/sh
# The mongo suite: skynet.db.mongo (and skynet.mongo.driver) against tests/mongo/mongoserver.py,
# a MongoDB wire-protocol server with documents in memory (no mongod is packaged for this
# machine). The server is started here on a free loopback port and stopped by PID.
# tests/mongo/test_mongo.lua prints "ok <check>" / "not ok <check>: <why>" and "done <count>";
# every check is one test.
# SKYNET_UPSTREAM=<built upstream tree> adds upstream's test/testmongodb.lua, run (a copy with
# the server's port put in) on our stack and on upstream's, each against a fresh server.
set -u
cd "$(dirname "$0")/../.." || exit 1
out=tests/out/mongo
mkdir -p "$out"
tmp=$(mktemp -d -t skynet-mongo.XXXXXX)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start_server <name> [--primary HOST:PORT|none]: a fresh server; sets $port (empty when it
# did not start).
start_server() {
	name=$1; shift
	rm -f "$tmp/$name.port"
	python3 tests/mongo/mongoserver.py "$tmp/$name.port" "$@" < /dev/null > "$tmp/$name.server.log" 2>&1 &
	server=$!
	pids="$pids $server"
	n=100
	while [ ! -s "$tmp/$name.port" ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	port=$(cat "$tmp/$name.port" 2>/dev/null)
}

stop_server() {
	kill "$server" 2>/dev/null
	wait "$server" 2>/dev/null
}

passed=0
failed=0

start_server main
main_port=$port
main_server=$server
start_server secondary --primary "127.0.0.1:$main_port"
secondary_port=$port
start_server orphan --primary none
orphan_port=$port
if [ -z "$main_port" ] || [ -z "$secondary_port" ] || [ -z "$orphan_port" ]; then
	echo "not ok mongo: the test servers did not start"
	cat "$tmp"/*.server.log
	echo "mongo: 0 passed, 1 failed"
	exit 1
fi
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cfg="$tmp/mongo.config"
cat > "$cfg" <<CFG
thread = 2
harbor = 0
bootstrap = "snlua bootstrap"
start = "test_mongo"
cpath = "./cservice/?.so"
lualoader = "./lualib/loader.lua"
lua_path = "./lualib/?.lua;./lualib/?/init.lua"
lua_cpath = "./luaclib/?.so"
luaservice = "./tests/mongo/?.lua;./service/?.lua"
mongo_port = "$main_port"
secondary_port = "$secondary_port"
orphan_port = "$orphan_port"
dead_port = "$dead"
CFG
log="$tmp/mongo.log"
timeout 60 ./skynet "$cfg" > "$log" 2>&1
rc=$?
cp "$cfg" "$log" "$tmp"/*.server.log "$out/" 2>/dev/null
grep -E '\] (not )?ok ' "$log" | sed 's/^[^]]*\] //'
passed=$(grep -c '\] ok ' "$log")
failed=$(grep -c '\] not ok ' "$log")
count=$(sed -n 's/.*\] done \([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)
if [ -z "$count" ]; then
	echo "not ok mongo: the node did not finish (exit $rc); log tail:"
	tail -n 20 "$log" | sed 's/^/    /'
	failed=$((failed + 1))
elif [ "$count" -ne $((passed + failed)) ]; then
	echo "not ok mongo: $count checks ran, $((passed + failed)) reported"
	failed=$((failed + 1))
fi

# upstream_test <label> <tree>: upstream's testmongodb.lua on the stack of <tree> (its lualib,
# luaclib, service and executable); one test: it reaches "mongodb test finish." with no error.
upstream_test() {
	label=$1 root=$2
	start_server "up-$label"
	if [ -z "$port" ]; then
		echo "not ok testmongodb on $label: the test server did not start"; failed=$((failed + 1)); return
	fi
	d="$tmp/up-$label"
	mkdir -p "$d"
	sed "s/^port = 27017\$/port = $port/" "$SKYNET_UPSTREAM/test/testmongodb.lua" > "$d/testmongodb.lua"
	cat > "$d/config" <<CFG
thread = 2
harbor = 0
bootstrap = "snlua bootstrap"
start = "testmongodb"
cpath = "$root/cservice/?.so"
lualoader = "$root/lualib/loader.lua"
lua_path = "$root/lualib/?.lua;$root/lualib/?/init.lua"
lua_cpath = "$root/luaclib/?.so"
luaservice = "$d/?.lua;$root/service/?.lua"
CFG
	(cd "$root" && exec ./skynet "$d/config") > "$d/log" 2>&1 &
	node=$!
	n=300
	while [ $n -gt 0 ] && kill -0 "$node" 2>/dev/null && ! grep -qs 'mongodb test finish' "$d/log"; do
		sleep 0.1; n=$((n - 1))
	done
	kill "$node" 2>/dev/null
	wait "$node" 2>/dev/null
	stop_server
	cp "$d/log" "$out/testmongodb-$label.log"
	if grep -q 'mongodb test finish' "$d/log" && ! grep -qiE 'error|failed' "$d/log"; then
		echo "ok testmongodb (upstream's test) on $label stack"; passed=$((passed + 1))
	else
		echo "not ok testmongodb (upstream's test) on $label stack; log tail:"
		tail -n 15 "$d/log" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
	grep -v 'LAUNCH\|KILL' "$d/log" | sed 's/^\[[^]]*\] //' > "$d/lines"
}

upstream=${SKYNET_UPSTREAM:-}
if [ -n "$upstream" ]; then
	upstream=$(cd "$upstream" && pwd)
	upstream_test our "$(pwd)"
	upstream_test upstream "$upstream"
	if cmp -s "$tmp/up-our/lines" "$tmp/up-upstream/lines"; then
		echo "ok testmongodb prints the same lines on both stacks"; passed=$((passed + 1))
	else
		echo "not ok testmongodb prints different lines on the two stacks:"
		diff "$tmp/up-our/lines" "$tmp/up-upstream/lines" | head -n 20 | sed 's/^/    /'
		failed=$((failed + 1))
	fi
else
	echo "skip upstream's testmongodb (set SKYNET_UPSTREAM=<built upstream tree>)"
fi
echo "mongo: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
