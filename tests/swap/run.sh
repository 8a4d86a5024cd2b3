#!/bin/sh
# The core's no-hang promises on a swapped upstream tree, with that tree's own snlua.so and
# Lua layer: callers of a killed service get errors (C services and Lua services), and a
# node whose start service cannot start exits non-zero. SKYNET_UPSTREAM=<upstream skynet
# tree> names the tree; it is copied to tests/out/swap/ and swapped there (never changed in
# place). Without it the suite is skipped.
set -u
cd "$(dirname "$0")/../.." || exit 1
here=$(pwd)
if [ -z "${SKYNET_UPSTREAM:-}" ]; then
	echo "swap: skipped (set SKYNET_UPSTREAM=<an upstream skynet tree> to run it)"
	echo "swap: 0 passed, 0 failed"
	exit 0
fi
out=tests/out/swap
rm -rf "$out"
mkdir -p "$out"
cp -r "$SKYNET_UPSTREAM" "$out/tree" || exit 1
tree="$here/$out/tree"
if ! skynet-compat/swap "$tree" > "$out/swap.log" 2>&1; then
	tail -20 "$out/swap.log"
	echo "swap: 0 passed, 1 failed"
	exit 1
fi
passed=0
failed=0
verdict() {	# verdict <name> <ok?>
	if [ "$2" = yes ]; then
		echo "ok   $1"; passed=$((passed + 1))
	else
		echo "FAIL $1"; tail -20 "$out/$1.log"; failed=$((failed + 1))
	fi
}
lua_config() {	# lua_config <start service>
	cat <<CFG
thread = 4
harbor = 0
bootstrap = "snlua bootstrap"
start = "$1"
cpath = "$tree/cservice/?.so"
lualoader = "$tree/lualib/loader.lua"
lua_path = "$tree/lualib/?.lua;$tree/lualib/?/init.lua;$here/tests/lua/?.lua"
lua_cpath = "$tree/luaclib/?.so"
luaservice = "$tree/service/?.lua;$here/tests/lua/?.lua"
CFG
}

lua_config test_killheld > "$out/killheld.config"
timeout 60 "$tree/skynet" "$out/killheld.config" > "$out/killheld-lua.log" 2>&1
rc=$?
ok=no
[ $rc -eq 0 ] && grep -q "TEST PASS test_killheld" "$out/killheld-lua.log" && ! grep -q "TEST FAIL" "$out/killheld-lua.log" && ok=yes
verdict killheld-lua $ok

cc -O1 -fPIC -shared -I"$tree/skynet-src" -Itests/c -o "$out/core_killheld.so" tests/c/core_killheld.c || exit 1
printf 'thread = 4\nharbor = 0\ncpath = "%s/?.so;%s/cservice/?.so"\nbootstrap = "core_killheld"\n' "$here/$out" "$tree" > "$out/killheld-c.config"
timeout 60 "$tree/skynet" "$out/killheld-c.config" > "$out/killheld-c.log" 2>&1
rc=$?
ok=no
[ $rc -eq 0 ] && grep -q "TEST PASS" "$out/killheld-c.log" && ok=yes
verdict killheld-c $ok

for start in lt_badstart lt_no_such_service; do
	lua_config $start > "$out/$start.config"
	timeout 60 "$tree/skynet" "$out/$start.config" > "$out/start-$start.log" 2>&1
	rc=$?
	ok=no
	[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "the start service failed to start" "$out/start-$start.log" && ok=yes
	verdict start-$start $ok
done
echo "swap: $passed passed, $failed failed"
[ $failed -eq 0 ]
