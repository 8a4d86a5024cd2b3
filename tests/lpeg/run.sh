#!/bin/sh
# lpeg is third-party: we do not ship it. This suite shows that lpeg built by hand against
# our headers, as the README says, loads and matches in a service of our stack. It needs an
# lpeg source folder: LPEG_SRC=<dir with lpcap.c lpcode.c ...>, or SKYNET_UPSTREAM=<skynet
# tree> (its 3rd/lpeg); without one it is skipped.
set -u
cd "$(dirname "$0")/../.." || exit 1
src=${LPEG_SRC:-}
[ -z "$src" ] && [ -n "${SKYNET_UPSTREAM:-}" ] && src="$SKYNET_UPSTREAM/3rd/lpeg"
if [ -z "$src" ] || [ ! -f "$src/lptree.c" ]; then
	echo "lpeg: skipped (set LPEG_SRC=<lpeg source folder> or SKYNET_UPSTREAM=<skynet tree>)"
	echo "lpeg: 0 passed, 0 failed"
	exit 0
fi
out=tests/out/lpeg
mkdir -p "$out/luaclib"
# The README's command, word for word but for the output folder.
if ! cc -O2 -fPIC -shared -Itarget/release/lua/include -o "$out/luaclib/lpeg.so" "$src"/lp*.c 2> "$out/build.log"; then
	cat "$out/build.log"
	echo "lpeg: 0 passed, 1 failed"
	exit 1
fi
cat > "$out/config" <<CFG
thread = 2
harbor = 0
bootstrap = "snlua bootstrap"
start = "lpeg_check"
cpath = "./cservice/?.so"
lualoader = "./lualib/loader.lua"
lua_path = "./lualib/?.lua;./lualib/?/init.lua;tests/lua/?.lua"
lua_cpath = "./luaclib/?.so;$out/luaclib/?.so"
luaservice = "./service/?.lua;tests/lpeg/?.lua"
CFG
timeout 30 ./skynet "$out/config" > "$out/node.log" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "TEST PASS lpeg_check" "$out/node.log" && ! grep -q "TEST FAIL" "$out/node.log"; then
	echo "ok   lpeg built against our headers loads and matches"
	echo "lpeg: 1 passed, 0 failed"
	exit 0
fi
tail -20 "$out/node.log"
echo "FAIL lpeg (exit $rc)"
echo "lpeg: 0 passed, 1 failed"
exit 1
