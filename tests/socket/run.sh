#!/bin/sh
# The socket suite (skynet.socket, skynet.dns, console) on a real node with Python peers
# on loopback. Last line: "socket: N passed, M failed". Usage: sh tests/socket/run.sh [test ...]
cd "$(dirname "$0")/../.." || exit 1
mkdir -p tests/out/socket
timeout 300 python3 tests/socket/run.py "$@"
rc=$?
if [ $rc -eq 124 ]; then
	echo "socket: the suite ran past its time limit"
	echo "socket: 0 passed, 1 failed"
fi
exit $rc
