#!/bin/sh
# Shared Lua code and tables (lua-share/) under the sanitizers: builds our patched Lua sources
# (kept by build.rs under target/release/lua/src) around each tests/lua-share/*.c, with
# -fsanitize=thread (share_stress, box_stress) and -fsanitize=address (box_stress), and runs
# them. Needs `make linux` first.
set -u
cd "$(dirname "$0")/.." || exit 1
src=target/release/lua/src
out=tests/out/lua-share
mkdir -p "$out"
passed=0
failed=0
result() { echo "lua-share: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }
if [ ! -f "$src/lshare.c" ]; then
	echo "FAIL lua-share: no $src/lshare.c (build with make linux first)"
	failed=1
	result
fi
# run <test> <sanitizer>
run() {
	name=$1-$2
	if ! cc -std=gnu99 -fsanitize="$2" -O1 -g -DLUA_USE_LINUX -I"$src" -o "$out/$name" \
		"tests/lua-share/$1.c" "$src"/*.c -lm -ldl -lpthread 2> "$out/$name.build.log"; then
		cat "$out/$name.build.log"
		echo "FAIL $name: does not build with -fsanitize=$2"
		failed=$((failed + 1))
		return
	fi
	if TSAN_OPTIONS="halt_on_error=1 exitcode=66" ASAN_OPTIONS="detect_leaks=1" \
		timeout 300 "$out/$name"; then
		echo "ok   $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		failed=$((failed + 1))
	fi
}
run share_stress thread
run box_stress thread
run box_stress address
result
