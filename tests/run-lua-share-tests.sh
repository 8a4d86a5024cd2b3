#!/bin/sh
# Shared Lua code (lua-share/) under ThreadSanitizer: builds our patched Lua sources (kept by
# build.rs under target/release/lua/src) with -fsanitize=thread around
# tests/lua-share/share_stress.c and runs it. Needs `make linux` first.
set -u
cd "$(dirname "$0")/.." || exit 1
src=target/release/lua/src
out=tests/out/lua-share
mkdir -p "$out"
result() { echo "lua-share: $1 passed, $2 failed"; [ "$2" -eq 0 ]; exit $?; }
if [ ! -f "$src/lshare.c" ]; then
	echo "FAIL share_stress: no $src/lshare.c (build with make linux first)"
	result 0 1
fi
if ! cc -std=gnu99 -fsanitize=thread -O1 -g -DLUA_USE_LINUX -I"$src" -o "$out/share_stress" \
	tests/lua-share/share_stress.c "$src"/*.c -lm -ldl -lpthread 2> "$out/build.log"; then
	cat "$out/build.log"
	echo "FAIL share_stress: does not build with -fsanitize=thread"
	result 0 1
fi
if TSAN_OPTIONS="halt_on_error=1 exitcode=66" timeout 300 "$out/share_stress"; then
	echo "ok   share_stress"
	result 1 0
fi
echo "FAIL share_stress"
result 0 1
