#!/bin/sh
# The mongo suite: skynet.db.mongo (and skynet.mongo.driver) against tests/mongo/mongoserver.py,
# a MongoDB wire-protocol server with documents in memory (no mongod is packaged for this
# machine). The server is started here on a free loopback port and stopped by PID.
# tests/mongo/test_mongo.lua prints "ok <check>" / "not ok <check>: <why>" and "done <count>";
# every check is one test.
set -u
cd "$(dirname "$0")/../.." || exit 1
out=tests/out/mongo
mkdir -p "$out"
tmp=$(mktemp -d -t skynet-mongo.XXXXXX)
server=
cleanup() {
	if [ -n "$server" ]; then
		kill "$server" 2>/dev/null
		wait "$server" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

passed=0
failed=0

python3 tests/mongo/mongoserver.py "$tmp/port" < /dev/null > "$tmp/server.log" 2>&1 &
server=$!
n=100
while [ ! -s "$tmp/port" ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
if [ ! -s "$tmp/port" ]; then
	echo "not ok mongo: the test server did not start"
	cat "$tmp/server.log"
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
mongo_port = "$(cat "$tmp/port")"
dead_port = "$dead"
CFG
log="$tmp/mongo.log"
timeout 60 ./skynet "$cfg" > "$log" 2>&1
rc=$?
cp "$cfg" "$log" "$tmp/server.log" "$out/" 2>/dev/null
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
echo "mongo: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
