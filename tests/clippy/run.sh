#!/bin/sh
# Lints the Rust core: `cargo clippy --all-targets -- -D warnings` must be clean.
# Skipped (with a message, counted as passed) where clippy is not installed.
cd "$(dirname "$0")/../.." || exit 1
mkdir -p tests/out/clippy
if ! cargo clippy --version >/dev/null 2>&1; then
	echo "clippy not installed (rustup component add clippy): skipped"
	echo "clippy: 0 passed, 0 failed"
	exit 0
fi
if timeout 600 cargo clippy --release --all-targets -- -D warnings > tests/out/clippy/clippy.log 2>&1; then
	echo "clippy: 1 passed, 0 failed"
else
	grep -E '^(error|warning)|-->' tests/out/clippy/clippy.log | head -n 60
	echo "clippy: 0 passed, 1 failed"
	exit 1
fi
