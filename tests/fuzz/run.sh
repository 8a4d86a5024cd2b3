#!/bin/sh
# make test's short fuzzing pass: every fuzz target for a few seconds, after replaying the
# inputs that once failed (fuzz/regress/). `make fuzz` runs them longer.
cd "$(dirname "$0")/../.." || exit 1
FUZZ_OUT=tests/out/fuzz exec sh fuzz/run.sh -max_total_time="${FUZZ_TEST_SECONDS:-4}" "$@"
