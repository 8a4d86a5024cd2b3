#!/bin/sh
# The layer suite: the contract of the core Lua modules and bootstrap services (skynet.lua's
# calls, responses, forks, killthread, batched requests; service_mgr, launcher, manager,
# datacenter, skynet.service, snax, mqueue), checked from inside a node by
# tests/layer/layer_api.lua. Each check logs "ok <what>" or "TEST FAIL <what>"; the service
# ends with "layer: N passed, M failed" and aborts the node.
# Usage: sh tests/layer/run.sh
cd "$(dirname "$0")/../.." || exit 1
out=tests/out/layer
mkdir -p "$out"
cat > "$out/config" <<CFG
thread = 4
harbor = 0
bootstrap = "snlua bootstrap"
start = "layer_api"
cpath = "./cservice/?.so"
lualoader = "./lualib/loader.lua"
lua_path = "./lualib/?.lua;./lualib/?/init.lua"
lua_cpath = "./luaclib/?.so"
luaservice = "tests/layer/?.lua;./service/?.lua"
snax = "tests/layer/?.lua"
CFG
timeout 60 ./skynet "$out/config" > "$out/log" 2>&1
rc=$?
sed -n 's/^\[:[0-9a-f]*\] \(ok .*\|TEST FAIL.*\)$/\1/p' "$out/log"
summary=$(grep -oE 'layer: [0-9]+ passed, [0-9]+ failed' "$out/log" | tail -n 1)
if [ -z "$summary" ]; then
	echo "FAIL the node ended (exit $rc) before the checks were done; the log's end:"
	tail -n 30 "$out/log" | sed 's/^/    /'
	echo "layer: 0 passed, 1 failed"
	exit 1
fi
echo "$summary"
case "$summary" in *", 0 failed") exit 0 ;; esac
exit 1
