#!/bin/sh
# Builds the libFuzzer target for sproto.core (clang, AddressSanitizer and UBSan) and runs it.
# Usage: sh tests/sproto/fuzz/run.sh [seconds]   (default 60; needs `make linux` done)
# The seed corpus is the suite's recorded messages; crashes land in tests/out/sproto-fuzz/.
set -e
cd "$(dirname "$0")/../../.." || exit 1
secs=${1:-60}
out=tests/out/sproto-fuzz
mkdir -p "$out/corpus"
inc=target/release/lua/include
lib=target/release/lua/lib/liblua5.5.a
[ -f "$lib" ] || { echo "no $lib: run make linux first"; exit 1; }
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I"$inc" -Iluaclib-src/sproto -o "$out/fuzz_sproto" \
	tests/sproto/fuzz/fuzz_sproto.c luaclib-src/sproto/*.c "$lib" -lm -ldl
python3 - "$out/corpus" <<'PY'
import re, sys
text = open("tests/sproto/vectors.lua", encoding="latin-1").read()
for i, h in enumerate(re.findall(r'(?:encoded|packed) = "([0-9a-f]*)"', text)):
    open("%s/seed%03d" % (sys.argv[1], i), "wb").write(bytes.fromhex(h))
PY
"$out/fuzz_sproto" -max_total_time="$secs" -max_len=4096 -timeout=10 \
	-artifact_prefix="$out/" "$out/corpus"
