#!/bin/sh
# Runs the C-ABI tests: every tests/c/<name>.c is a C service compiled against include/ and
# run by ./skynet as the bootstrap of its own node (tests/c/<name>.config, if present, adds
# config lines). A test passes when the node logs "TEST PASS", logs no "TEST FAIL", and
# exits 0 within its time limit; each line of tests/c/<name>.expect must appear in the log. SANITIZE=address builds the modules with ASan.
# Usage: sh tests/run-c-tests.sh [name ...]
set -u
cd "$(dirname "$0")/.." || exit 1
out=tests/out/c
mkdir -p "$out/cservice"
limit=${TEST_TIMEOUT:-120}
cflags="-O1 -g -Wall -std=gnu99 -fPIC -shared -Iinclude -Itarget/release/lua/include -Itests/c"
preload=
if [ "${SANITIZE:-}" = address ]; then
	cflags="$cflags -fsanitize=address -fno-omit-frame-pointer"
	# The executable is not instrumented: load the runtime first for the modules.
	preload=$(cc -print-file-name=libasan.so)
	out=tests/out/c-asan
	mkdir -p "$out/cservice"
fi

# tests/c/mod_<name>.c are helper modules for the tests, installed as <name>.so: a
# module on cpath must win over a built-in one of the same name.
for src in tests/c/mod_*.c; do
	[ -f "$src" ] || continue
	mod=$(basename "$src" .c | sed 's/^mod_//')
	cc $cflags -o "$out/cservice/$mod.so" "$src" || { echo "FAIL build of $src"; exit 1; }
done

names=${*:-$(ls tests/c/*.c | sed 's|.*/||; s|\.c$||' | grep -v '^mod_')}
passed=0
failed=0
for name in $names; do
	[ -f "tests/c/$name.c" ] || continue
	if ! cc $cflags -o "$out/cservice/$name.so" "tests/c/$name.c" 2>"$out/$name.build"; then
		echo "FAIL $name (build)"; cat "$out/$name.build"; failed=$((failed + 1)); continue
	fi
	cfg="$out/$name.config"
	{
		echo "thread = 4"
		grep -q "^harbor" "tests/c/$name.config" 2>/dev/null || echo "harbor = 0"
		echo "cpath = \"$out/cservice/?.so;./cservice/?.so\""
		echo "bootstrap = \"$name\""
		echo "testdir = \"$out\""
		[ -f "tests/c/$name.config" ] && cat "tests/c/$name.config"
	} > "$cfg"
	start=$(date +%s)
	LD_PRELOAD=$preload ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
		timeout "$limit" ./skynet "$cfg" > "$out/$name.log" 2>&1
	rc=$?
	took=$(( $(date +%s) - start ))
	missing=""
	if [ -f "tests/c/$name.expect" ]; then
		while IFS= read -r line; do
			grep -qF -- "$line" "$out/$name.log" || missing="$missing
  expected in the log: $line"
		done < "tests/c/$name.expect"
	fi
	if [ $rc -eq 0 ] && [ -z "$missing" ] && grep -q "TEST PASS" "$out/$name.log" \
		&& ! grep -q "TEST FAIL" "$out/$name.log" \
		&& ! grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer" "$out/$name.log"; then
		echo "ok   $name (${took}s)"; passed=$((passed + 1))
	else
		echo "FAIL $name (exit $rc, ${took}s)$missing"; tail -n 30 "$out/$name.log"; failed=$((failed + 1))
	fi
done
echo "c-abi${SANITIZE:+ ($SANITIZE sanitizer)}: $passed passed, $failed failed"
[ $failed -eq 0 ]
