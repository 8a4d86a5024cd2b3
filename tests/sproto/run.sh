#!/bin/sh
# The sproto suite: tests/sproto/sproto_main.lua runs as the start service of a node (with
# sproto_peer.lua beside it) and checks our sproto against bytes recorded from upstream's
# (tests/sproto/vectors.lua, made by gen_vectors.lua). Every "ok" line is a passed check,
# every "TEST FAIL" line a failed one. Decoding is fuzzed by fuzz/targets/sproto.lua
# (sh fuzz/run.sh sproto; a short pass runs in make test).
# Usage: sh tests/sproto/run.sh
cd "$(dirname "$0")/../.." || exit 1
out=tests/out/sproto
mkdir -p "$out"
cfg="$out/sproto.config"
cat > "$cfg" <<CFG
thread = 2
harbor = 0
bootstrap = "snlua bootstrap"
start = "sproto_main"
cpath = "./cservice/?.so"
lualoader = "./lualib/loader.lua"
lua_path = "./lualib/?.lua;./lualib/?/init.lua;./tests/sproto/?.lua"
lua_cpath = "./luaclib/?.so"
luaservice = "./tests/sproto/?.lua;./service/?.lua"
CFG
log="$out/sproto.log"
timeout 100 ./skynet "$cfg" > "$log" 2>&1
rc=$?
passed=$(grep -ac '^ok ' "$log")
failed=$(grep -ac 'TEST FAIL' "$log")
grep -a 'TEST FAIL' "$log" | head -n 40
if ! grep -aq '^SPROTO DONE' "$log"; then
	echo "FAIL the node did not reach its end (exit $rc); log tail:"
	tail -n 30 "$log"
	failed=$((failed + 1))
elif [ $rc -ne 0 ]; then
	echo "FAIL the node exited $rc"
	failed=$((failed + 1))
fi
echo "sproto: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
