#!/bin/sh
# The http suite: examples/simpleweb.lua and examples/simplewebsocket.lua on one node, httpc
# and our websocket client (tests/http/httptest.lua, in that node) against them and against
# Python servers (pyservers.py), then Python clients (curl, `websockets`, raw sockets:
# clients.py) against our servers, bad input included; last, the node must still serve.
# Usage: sh tests/http/run.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
out=tests/out/http
rm -rf "$out"
mkdir -p "$out"
passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
finish() {
	[ -n "${node:-}" ] && kill "$node" 2>/dev/null
	[ -n "${py:-}" ] && kill "$py" 2>/dev/null
	echo "http: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# wait_for <seconds> <command...>: polls the command every 0.1 s, bounded
wait_for() {
	n=$(($1 * 10)); shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# TLS tests run when ltls is built and openssl can make a self-signed certificate
tls=
if [ -f luaclib/ltls.so ] && openssl req -x509 -newkey rsa:2048 -days 2 -nodes -subj /CN=localhost \
	-keyout "$out/key.pem" -out "$out/cert.pem" > "$out/openssl.log" 2>&1; then
	tls=yes
fi
timeout 120 python3 tests/http/pyservers.py "$out/pyports.json" ${tls:+"$out/cert.pem" "$out/key.pem"} \
	> "$out/pyservers.log" 2>&1 &
py=$!
if ! wait_for 20 test -f "$out/pyports.json"; then
	fail "python servers did not start"; cat "$out/pyservers.log"; finish
fi
pyport() { python3 -c "import json,sys; print(json.load(open('$out/pyports.json'))['$1'])"; }

http_port=$(free_port)
ws_port=$(free_port)
cfg="$out/node.config"
cat > "$cfg" <<CFG
thread = 4
harbor = 0
bootstrap = "snlua bootstrap"
start = "httptest"
cpath = "./cservice/?.so"
lualoader = "./lualib/loader.lua"
lua_path = "./lualib/?.lua;./lualib/?/init.lua"
lua_cpath = "./luaclib/?.so"
luaservice = "./service/?.lua;./tests/http/?.lua;./examples/?.lua"
http_port = $http_port
http_agents = 3
http_bodylimit = 1048576
http_timeout = 1
ws_port = $ws_port
ws_agents = 3
ws_demo_client = "false"
ws_handshake_timeout = 1
py_echo_port = $(pyport echo)
py_bad_port = $(pyport bad)
py_stall_port = $(pyport stall)
upgrade_port = $(free_port)
CFG
if [ -n "$tls" ]; then
	cat >> "$cfg" <<CFG
https_port = $(free_port)
wss_port = $(free_port)
py_wss_port = $(pyport wss)
certfile = "$out/cert.pem"
keyfile = "$out/key.pem"
CFG
fi
log="$out/node.log"
timeout 110 ./skynet "$cfg" > "$log" 2>&1 &
node=$!

if ! wait_for 60 grep -qs "LUA TESTS DONE" "$log"; then
	fail "the Lua tests did not finish"; tail -n 40 "$log"; finish
fi
while IFS= read -r line; do
	case $line in
	"TEST OK "*) ok "lua ${line#TEST OK }" ;;
	"TEST FAIL "*) fail "lua ${line#TEST FAIL }" ;;
	"TEST SKIP "*) echo "skip lua ${line#TEST SKIP }" ;;
	esac
done < "$log"

https_port=$(sed -n 's/^https_port = //p' "$cfg")
wss_port=$(sed -n 's/^wss_port = //p' "$cfg")
timeout 90 python3 tests/http/clients.py "$http_port" "$ws_port" "$log" ${tls:+"$https_port" "$wss_port"} \
	> "$out/clients.log" 2>&1
rc=$?
while IFS= read -r line; do
	case $line in
	"ok "*) ok "${line#ok }" ;;
	"FAIL "*) fail "${line#FAIL }" ;;
	esac
done < "$out/clients.log"
if [ $rc -ne 0 ] && ! grep -q "^FAIL " "$out/clients.log"; then
	fail "clients.py exited $rc"; tail -n 30 "$out/clients.log"
fi

if kill -0 "$node" 2>/dev/null; then ok "node still running after every bad input"; else fail "node died"; tail -n 30 "$log"; fi
if grep -qE "LUA PANIC|Segmentation|traceback" "$log" && ! grep -q "TEST FAIL" "$log"; then
	fail "errors in the node log"; grep -nE -B2 -A8 "LUA PANIC|traceback" "$log" | head -40
fi
[ "$failed" -gt 0 ] && { echo "--- node log (tail)"; tail -n 30 "$log"; }
finish
