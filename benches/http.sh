#!/bin/sh
# HTTP and WebSocket benchmark on loopback: benches/http/server.lua (written to the http.* API
# only) on our stack, and with UPSTREAM=<upstream skynet tree, built with make linux> on
# upstream's (its core, its lualib/http), side by side; benches/http/load.c drives CONNS
# connections in a closed loop, one exchange in flight each: HTTP/1.1 keep-alive GETs
# (requests/s) and WebSocket echo of SIZE-byte text messages (messages/s), each with the p99
# round trip.
#
#   sh benches/http.sh                  ours only
#   UPSTREAM=<dir> sh benches/http.sh   ours and upstream's, with the ratio
#
# Each runs twice: as the stacks are (neither sets TCP_NODELAY: a reply written in several
# pieces waits on Nagle's algorithm and the peer's delayed ACK), and with TCP_NODELAY set on
# every connection (skynet.socketdriver.nodelay), which leaves the libraries' own costs.
# Knobs: CONNS (100), SIZE (64), BENCH_SECONDS (5), THREAD (workers, 4), AGENTS (4).
# Results go to stdout and benches/out/http/results.txt.
set -eu
cd "$(dirname "$0")/.."
out=benches/out/http
mkdir -p "$out"
conns=${CONNS:-100}
size=${SIZE:-64}
seconds=${BENCH_SECONDS:-5}
thread=${THREAD:-4}
agents=${AGENTS:-4}
cc -O2 -Wall -o "$out/load" benches/http/load.c

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# run STACK MODE NODELAY: prints the rate and the p99 round trip (µs)
run() {
	stack=$1 mode=$2 nodelay=$3
	if [ "$stack" = ours ]; then
		exe=./skynet root=.
	else
		exe=$UPSTREAM/skynet root=$UPSTREAM
	fi
	port=$(free_port)
	cfg="$out/$stack-$mode-$nodelay.config"
	cat > "$cfg" <<CFG
thread = $thread
harbor = 0
bootstrap = "snlua bootstrap"
start = "server"
cpath = "$root/cservice/?.so"
lualoader = "$root/lualib/loader.lua"
lua_path = "$root/lualib/?.lua;$root/lualib/?/init.lua"
lua_cpath = "$root/luaclib/?.so"
luaservice = "$root/service/?.lua;benches/http/?.lua"
bench_mode = "$mode"
bench_port = $port
bench_agents = $agents
bench_nodelay = "$nodelay"
CFG
	log="$out/$stack-$mode-$nodelay.log"
	# the last run's log must be gone before the wait for this one's ready line starts
	rm -f "$log"
	"$exe" "$cfg" > "$log" 2>&1 &
	node=$!
	n=100
	until grep -qs "bench server ready" "$log"; do
		n=$((n - 1))
		if [ $n -le 0 ] || ! kill -0 $node 2>/dev/null; then
			echo "the $stack node did not start:" >&2; tail -n 20 "$log" >&2
			kill $node 2>/dev/null; return 1
		fi
		sleep 0.1
	done
	result=$("$out/load" "$mode" "$port" "$conns" "$seconds" "$size") || result="0 0 0 0 0"
	kill $node 2>/dev/null || true
	wait $node 2>/dev/null || true
	echo "$result" | awk '{print $3, $5}'
}

{
	echo "HTTP keep-alive and WebSocket echo, $conns connections, one exchange in flight each, ${seconds}s, $thread workers, $agents agents"
	printf '%-44s %10s %10s %8s %9s %9s\n' benchmark ours upstream ratio "p99 ours" upstream
	for row in "http 0" "ws 0" "http 1" "ws 1"; do
		set -- $row
		mode=$1 nodelay=$2
		set -- $(run ours $mode $nodelay)
		ours=$1 ours99=$2
		up= up99=-
		if [ -n "${UPSTREAM:-}" ]; then
			set -- $(run upstream $mode $nodelay)
			up=$1 up99=$2
		fi
		case $mode in
		http) what="HTTP GET, requests/s" ;;
		ws) what="WebSocket echo $size B, msgs/s" ;;
		esac
		[ "$nodelay" = 1 ] && what="$what, TCP_NODELAY"
		if [ -n "$up" ] && [ "$up" != 0 ]; then
			printf '%-44s %10s %10s %7.2fx %7sus %7sus\n' "$what" "$ours" "$up" "$(echo "$ours $up" | awk '{print $1/$2}')" "$ours99" "$up99"
		else
			printf '%-44s %10s %10s %8s %7sus %9s\n' "$what" "$ours" "-" "-" "$ours99" "-"
		fi
	done
} | tee "$out/results.txt"
