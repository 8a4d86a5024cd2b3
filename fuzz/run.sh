#!/bin/sh
# Fuzzes the parsers of untrusted bytes with libFuzzer (clang): fuzz/targets/<name>.lua on
# the harness (fuzz/harness.c) linked with our Lua C modules under AddressSanitizer and
# UndefinedBehaviorSanitizer.
#   sh fuzz/run.sh [-runs N | -max_total_time S] [target ...]
# Every target first replays fuzz/regress/<target>/ (inputs that once failed) and its seeds
# (fuzz/seeds/<target>/), then fuzzes from a corpus under fuzz/out/corpus/<target>/. A crash
# leaves its input in fuzz/out/ (move it to fuzz/regress/<target>/ once fixed). FUZZ_OUT
# names another folder for all of that.
# The last line is "fuzz: N passed, M failed"; each target prints its execution count.
set -u
cd "$(dirname "$0")/.." || exit 1
limit="-max_total_time=${FUZZ_SECONDS:-60}"
case "${1:-}" in
-runs=*|-max_total_time=*) limit=$1; shift ;;
esac
# A target is a Lua script over the common harness (fuzz/targets/<name>.lua) or a C harness
# of its own (fuzz/<name>/*.c, built with fuzz/stubs.c).
targets=${*:-$(ls fuzz/targets/*.lua fuzz/*/*.c 2>/dev/null | sed 's|^fuzz/targets/||; s|^fuzz/||; s|/.*||; s|\.lua$||' | sort -u)}
command -v clang >/dev/null 2>&1 || { echo "fuzz: clang is missing"; echo "fuzz: 0 passed, 1 failed"; exit 1; }
lua_inc=target/release/lua/include
lua_lib=target/release/lua/lib/liblua5.5.a
[ -f "$lua_lib" ] || { echo "fuzz: run make linux first (no $lua_lib)"; echo "fuzz: 0 passed, 1 failed"; exit 1; }
out=${FUZZ_OUT:-fuzz/out}	# binaries, corpora, logs and crash inputs
mkdir -p "$out"
modules="luaclib-src/lua-netpack.c luaclib-src/lua-cluster.c luaclib-src/lua-seri.c luaclib-src/lua-crypt.c $(ls luaclib-src/sproto/*.c luaclib-src/bson/*.c)"
passed=0
failed=0
for t in $targets; do
	bin="$out/$t"
	san="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Iinclude"
	leaks=""
	if [ -f "fuzz/targets/$t.lua" ]; then
		# Lua's collector frees an input's garbage later, so libFuzzer's check after each input
		# (mallocs against frees) would scan the heap for nearly every one; a block that
		# nothing points to any more is still reported when the fuzzer exits.
		leaks="-detect_leaks=0"
		# A parser written in Lua (its target says "-- fuzz: lua only") runs on the VM alone:
		# the sanitizers would only slow the allocator, there being no C of ours to check.
		grep -q '^-- fuzz: lua only' "fuzz/targets/$t.lua" && san="-g -O1 -fsanitize=fuzzer -Iinclude"
		clang $san -I"$lua_inc" -Iluaclib-src -Iluaclib-src/sproto \
			-DFUZZ_SCRIPT="\"$(pwd)/fuzz/targets/$t.lua\"" -DFUZZ_LUALIB="\"$(pwd)/lualib\"" -DFUZZ_ROOT="\"$(pwd)\"" \
			-o "$bin" fuzz/harness.c fuzz/stubs.c $modules "$lua_lib" -lm 2> "$out/$t.build"
	else
		clang $san -o "$bin" fuzz/$t/*.c fuzz/stubs.c 2> "$out/$t.build"
	fi
	if [ $? -ne 0 ]; then
		echo "FAIL $t (build)"; cat "$out/$t.build"; failed=$((failed + 1)); continue
	fi
	corpus="$out/corpus/$t"
	mkdir -p "$corpus"
	replay=""
	for d in fuzz/regress/$t fuzz/seeds/$t; do
		[ -d "$d" ] && [ -n "$(ls "$d")" ] && replay="$replay $d"
	done
	# -rss_limit_mb: a parser that lets a peer's claimed size drive an allocation fails here.
	if "$bin" $limit $leaks -rss_limit_mb=1024 -malloc_limit_mb=256 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$out/$t-" "$corpus" $replay > "$out/$t.log" 2>&1; then
		runs=$(grep -aE '^stat::number_of_executed_units' "$out/$t.log" | awk '{print $2}')
		echo "ok   $t (${runs:-?} executions)"; passed=$((passed + 1))
	else
		echo "FAIL $t"; grep -E 'ERROR|SUMMARY|fuzz:|Test unit written' "$out/$t.log" | head -8; failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
