#!/bin/sh
# Socket echo benchmark on loopback: benches/socket_echo.c (a C service on the raw socket
# API) as the bootstrap of a node. First the server's resident memory per idle connection
# (on the fresh node), then benches/socket_loadgen.c drives 1,000 connections in a closed
# loop (each sends a message and waits for its echo), for 64-byte and 4 KiB messages.
#
#   sh benches/socket.sh                  our core (run `make linux` first)
#   UPSTREAM=<dir> sh benches/socket.sh   also upstream skynet, built in <dir> (`make linux`
#                                         there), with the same server module and load
# Last row, floor: benches/socket_floor.c, a bare one-thread epoll echo server (no skynet):
# what this machine and load give a server that does nothing else.
#
# Knobs: CONNS (1000), SIZES ("64 4096"), BENCH_SECONDS (5), THREAD (workers, 4),
# LOADGEN_THREADS (2: with one, the load generator itself was the limit at 4 KiB, as the floor
# row showed). Results go to stdout and benches/out/socket/results.txt.
set -eu
cd "$(dirname "$0")/.."
out=benches/out/socket
mkdir -p "$out/ours" "$out/upstream"
conns=${CONNS:-1000}
sizes=${SIZES:-"64 4096"}
seconds=${BENCH_SECONDS:-5}
thread=${THREAD:-4}
LOADGEN_THREADS=${LOADGEN_THREADS:-2}
export LOADGEN_THREADS

cc -O2 -Wall -o "$out/loadgen" benches/socket_loadgen.c -lpthread
cc -O2 -Wall -o "$out/floor" benches/socket_floor.c
cc -O2 -Wall -std=gnu99 -fPIC -shared -Iinclude -o "$out/ours/bench_echo.so" benches/socket_echo.c
if [ -n "${UPSTREAM:-}" ]; then
	cc -O2 -Wall -std=gnu99 -fPIC -shared -I"$UPSTREAM/skynet-src" -o "$out/upstream/bench_echo.so" benches/socket_echo.c
fi

# run NAME SKYNET-EXECUTABLE MODULE-DIR CORE-CSERVICE-DIR
run() {
	name=$1 exe=$2 modules=$3 cservice=$4
	port=$("$out/loadgen" port 0)
	cfg="$out/$name/config"
	cat > "$cfg" <<EOF
thread = $thread
harbor = 0
cpath = "$modules/?.so;$cservice/?.so"
bootstrap = "bench_echo $port"
EOF
	"$exe" "$cfg" > "$out/$name/node.log" 2>&1 &
	pid=$!
	if ! "$out/loadgen" wait "$port"; then
		kill "$pid" 2>/dev/null || true
		cat "$out/$name/node.log"
		return 1
	fi
	# Idle connections first, on the fresh node: after the echo runs the allocator holds
	# freed memory that new connections reuse, and RSS would not move.
	printf '%-8s ' "$name"
	"$out/loadgen" idle "$port" "$conns" "$pid"
	for size in $sizes; do
		printf '%-8s ' "$name"
		"$out/loadgen" echo "$port" "$conns" "$size" "$seconds"
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# The echo rows against benches/socket_floor.c; the server is killed even if a row fails.
floor() {
	port=$("$out/loadgen" port 0)
	"$out/floor" "$port" > "$out/floor.log" 2>&1 &
	pid=$!
	failed=0
	if "$out/loadgen" wait "$port"; then
		for size in $sizes; do
			printf '%-8s ' floor
			"$out/loadgen" echo "$port" "$conns" "$size" "$seconds" || { failed=1; break; }
		done
	else
		cat "$out/floor.log"
		failed=1
	fi
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	return "$failed"
}

{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cpus, thread = $thread, loadgen threads $LOADGEN_THREADS"
	run ours ./skynet "$out/ours" ./cservice
	if [ -n "${UPSTREAM:-}" ]; then
		run upstream "$UPSTREAM/skynet" "$out/upstream" "$UPSTREAM/cservice"
	fi
	floor
} | tee "$out/results.txt"
