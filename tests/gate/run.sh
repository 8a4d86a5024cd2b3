#!/bin/sh
# The gate suite: python clients on loopback against service/gate.lua (snax.gateserver),
# tests/gate/gate_test.py starts and stops its own nodes. Usage: sh tests/gate/run.sh [test ...]
cd "$(dirname "$0")/../.." || exit 1
mkdir -p tests/out/gate
timeout 150 python3 tests/gate/gate_test.py "$@"
rc=$?
if [ $rc -eq 124 ]; then
	echo "FAIL the suite ran out of time (150 s)"
	echo "gate: 0 passed, 1 failed"
fi
exit $rc
