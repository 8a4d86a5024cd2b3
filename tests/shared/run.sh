#!/bin/sh
# The "shared" suite: bson, md5, multicast, sharedata, sharetable, stm, datasheet, sharemap.
# Each tests/shared/t_<name>.lua is the start service of a node of its own (harbor 0, our
# Lua layer); it prints "<name>: PASS" when every check held and ends the node itself
# (skynet.abort). A test passes when the node exits within its limit, its log has the PASS
# line and no "FAIL" / "LEAK" line. Usage: sh tests/shared/run.sh [name ...]
set -u
cd "$(dirname "$0")/../.." || exit 1
out=tests/out/shared
mkdir -p "$out"
limit=${TEST_TIMEOUT:-60}
names=${*:-$(ls tests/shared/t_*.lua | sed 's|.*/t_||; s|\.lua$||')}
passed=0
failed=0
for name in $names; do
	cfg="$out/$name.config"
	{
		echo "thread = 4"
		echo "harbor = 0"
		echo "bootstrap = \"snlua bootstrap\""
		echo "start = \"t_$name\""
		echo "cpath = \"./cservice/?.so\""
		echo "lualoader = \"./lualib/loader.lua\""
		echo "lua_path = \"./lualib/?.lua;./lualib/?/init.lua;tests/shared/?.lua\""
		echo "lua_cpath = \"./luaclib/?.so\""
		echo "luaservice = \"tests/shared/?.lua;./service/?.lua\""
	} > "$cfg"
	start=$(date +%s)
	timeout "$limit" ./skynet "$cfg" > "$out/$name.log" 2>&1
	rc=$?
	took=$(( $(date +%s) - start ))
	if grep -q "^.*$name: PASS" "$out/$name.log" && ! grep -qE "FAIL|LEAK" "$out/$name.log"; then
		echo "ok   $name (${took}s)"; passed=$((passed + 1))
	else
		echo "FAIL $name (exit $rc, ${took}s)"; tail -n 30 "$out/$name.log"; failed=$((failed + 1))
	fi
done
echo "shared: $passed passed, $failed failed"
[ $failed -eq 0 ]
