#!/bin/sh
# The FFI fence: no `unsafe` in the core modules, and every unsafe fn documents its contract
# (tools/unsafe-count --check; clippy checks unsafe blocks and impls, see tests/clippy).
cd "$(dirname "$0")/../.." || exit 1
if tools/unsafe-count --check; then
	echo "fence: 1 passed, 0 failed"
else
	echo "fence: 0 passed, 1 failed"
	exit 1
fi
