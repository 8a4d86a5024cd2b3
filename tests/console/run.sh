#!/bin/sh
# The console suite: a node with a debug_console on a free loopback port and a
# few services (tests/console/console_main.lua); tests/console/client.py sends
# every console command over TCP (and HTTP through curl), runs debug sessions,
# and checks each answer.  The node is stopped by its PID.
# CONSOLE_SERVICE_PATH (a luaservice pattern such as "<dir>/?.lua") is searched
# first: it runs the suite against another debug_console.lua, e.g. upstream's.
# Usage: sh tests/console/run.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
out=tests/out/console
mkdir -p "$out"
limit=${TEST_TIMEOUT:-90}

if ! nm -D luaclib/skynet.so 2>/dev/null | grep -q luaopen_skynet_core; then
	echo "FAIL console (no Lua layer: build with make linux)"
	echo "console: 0 passed, 1 failed"
	exit 1
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cfg="$out/node.config"
cat > "$cfg" <<CFG
thread = 2
harbor = 0
bootstrap = "snlua bootstrap"
start = "console_main"
cpath = "./cservice/?.so"
lualoader = "./lualib/loader.lua"
lua_path = "./lualib/?.lua;./lualib/?/init.lua;tests/console/?.lua"
lua_cpath = "./luaclib/?.so"
luaservice = "${CONSOLE_SERVICE_PATH:+$CONSOLE_SERVICE_PATH;}tests/console/?.lua;./service/?.lua"
snax = "tests/console/?.lua"
logpath = "$out/logs"
console_port = $port
CFG

rm -rf "$out/logs"
mkdir -p "$out/logs"
log="$out/node.log"
timeout "$limit" ./skynet "$cfg" > "$log" 2>&1 &
node=$!

# client.py retries the connection until the port accepts (bounded)
timeout "$limit" python3 tests/console/client.py "$port" tests/console/console_target.lua "$out" > "$out/client.log" 2>&1
rc=$?
kill "$node" 2>/dev/null
wait "$node" 2>/dev/null

cat "$out/client.log" | grep -v '^RESULT'
result=$(grep '^RESULT' "$out/client.log")
if [ $rc -ne 0 ] || [ -z "$result" ]; then
	echo "FAIL console client (exit $rc)"
	tail -n 30 "$log"
	set -- $(echo "${result:-RESULT 0 0}" | cut -d' ' -f2-)
	echo "console: $1 passed, $(( $2 + 1 )) failed"
	exit 1
fi
set -- $(echo "$result" | cut -d' ' -f2-)
if [ "$2" -ne 0 ]; then
	tail -n 30 "$log"
fi
echo "console: $1 passed, $2 failed"
[ "$2" -eq 0 ]
