#!/bin/sh
# The Rust unit tests, with a closing "rust: N passed, M failed" line.
cd "$(dirname "$0")/.." || exit 1
cargo test --release 2>&1 | tee tests/out/rust.log
rc=$?
p=$(sed -n 's/^test result: .* \([0-9][0-9]*\) passed; \([0-9][0-9]*\) failed.*/\1/p' tests/out/rust.log | awk '{ s += $1 } END { print s + 0 }')
f=$(sed -n 's/^test result: .* \([0-9][0-9]*\) passed; \([0-9][0-9]*\) failed.*/\2/p' tests/out/rust.log | awk '{ s += $1 } END { print s + 0 }')
[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
echo "rust: $p passed, $f failed"
[ "$f" -eq 0 ]
