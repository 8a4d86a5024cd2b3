#!/bin/sh
# Runs the Lua tests: every tests/lua/<name>.expect names a test, a node started by ./skynet
# with tests/lua/<name>.config appended to a base config (the base starts the service
# <name> through the Lua layer; tiny_* tests bring their own loader and need no layer).
# A test passes when the node exits 0 (or the code in <name>.status) within its time limit, its log has every line of
# <name>.expect (each an extended regular expression), none of <name>.reject, and no
# "TEST FAIL".
# Tests that need the Lua layer are skipped while luaclib has no skynet.core.
# LUA_LAYER_LUALIB, LUA_LAYER_SERVICE, LUA_LAYER_LUACLIB and LUA_LAYER_CSERVICE point the
# tests at another Lua layer (by default the repository's lualib, service, luaclib, cservice).
# SKYNET names the executable to run (default ./skynet).
# Usage: sh tests/run-lua-tests.sh [name ...]
set -u
cd "$(dirname "$0")/.." || exit 1
out=tests/out/lua
mkdir -p "$out"
limit=${TEST_TIMEOUT:-60}
skynet=${SKYNET:-./skynet}
lualib=${LUA_LAYER_LUALIB:-./lualib}
service=${LUA_LAYER_SERVICE:-./service}
luaclib=${LUA_LAYER_LUACLIB:-./luaclib}
cservice=${LUA_LAYER_CSERVICE:-./cservice}

layer=yes
if [ ! -f "$lualib/loader.lua" ] || [ ! -f "$lualib/skynet.lua" ] \
	|| ! nm -D "$luaclib/skynet.so" 2>/dev/null | grep -q "luaopen_skynet_core"; then
	layer=
fi

names=${*:-$(ls tests/lua/*.expect | sed 's|.*/||; s|\.expect$||')}
passed=0
failed=0
skipped=0
for name in $names; do
	[ -f "tests/lua/$name.expect" ] || { echo "FAIL $name (no tests/lua/$name.expect)"; failed=$((failed + 1)); continue; }
	case $name in
	tiny_*) ;;
	*) if [ -z "$layer" ]; then
		echo "skip $name (no Lua layer: $luaclib/skynet.so has no skynet.core)"
		skipped=$((skipped + 1)); continue
	fi ;;
	esac
	cfg="$out/$name.config"
	{
		echo "thread = 4"
		echo "harbor = 0"
		echo "bootstrap = \"snlua bootstrap\""
		echo "start = \"$name\""
		echo "cpath = \"$cservice/?.so;./cservice/?.so\""
		echo "lualoader = \"$lualib/loader.lua\""
		echo "lua_path = \"$lualib/?.lua;$lualib/?/init.lua;tests/lua/?.lua\""
		echo "lua_cpath = \"$luaclib/?.so\""
		echo "luaservice = \"tests/lua/?.lua;$service/?.lua\""
		[ -f "tests/lua/$name.config" ] && cat "tests/lua/$name.config"
	} > "$cfg"
	start=$(date +%s)
	timeout "$limit" "$skynet" "$cfg" > "$out/$name.log" 2>&1
	rc=$?
	took=$(( $(date +%s) - start ))
	missing=""
	while IFS= read -r line; do
		[ -z "$line" ] && continue
		grep -qE -- "$line" "$out/$name.log" || missing="$missing
  expected in the log: $line"
	done < "tests/lua/$name.expect"
	if [ -f "tests/lua/$name.reject" ]; then
		while IFS= read -r line; do
			[ -z "$line" ] && continue
			grep -qE -- "$line" "$out/$name.log" && missing="$missing
  not wanted in the log: $line ($(grep -cE -- "$line" "$out/$name.log") lines)"
		done < "tests/lua/$name.reject"
	fi
	want=0
	[ -f "tests/lua/$name.status" ] && want=$(cat "tests/lua/$name.status")
	if [ $rc -eq "$want" ] && [ -z "$missing" ] && ! grep -q "TEST FAIL" "$out/$name.log"; then
		echo "ok   $name (${took}s)"; passed=$((passed + 1))
	else
		echo "FAIL $name (exit $rc, ${took}s)$missing"; tail -n 40 "$out/$name.log"; failed=$((failed + 1))
	fi
done
[ $skipped -gt 0 ] && echo "($skipped skipped: they need the Lua layer)"
echo "lua: $passed passed, $failed failed"
[ $failed -eq 0 ]
