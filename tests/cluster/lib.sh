# Helpers of tests/cluster/run.sh: free ports, node configs, nodes started and stopped by PID,
# bounded waits for log lines.
# Needs: $root (repository), $out (output folder), $skynet (executable).

pids=""

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# write_config file start [extra lines...]: a node of our stack, or of the tree $layer
write_config() {
	f=$1; start=$2; shift 2
	t=${layer:-$root}
	{
		echo "thread = 2"
		echo "bootstrap = \"snlua bootstrap\""
		echo "start = \"$start\""
		echo "cpath = \"$t/cservice/?.so\""
		echo "lualoader = \"$t/lualib/loader.lua\""
		echo "lua_path = \"$t/lualib/?.lua;$t/lualib/?/init.lua\""
		echo "lua_cpath = \"$t/luaclib/?.so\""
		echo "luaservice = \"$root/tests/cluster/?.lua;$t/service/?.lua\""
		echo "snax = \"$root/tests/cluster/?.lua\""
		for line in "$@"; do echo "$line"; done
	} > "$f"
}

# start_node name config [executable]: runs it in the background, log in $out/name.log
start_node() {
	exe=${3:-$skynet}
	: > "$out/$1.log"
	timeout 120 "$exe" "$2" > "$out/$1.log" 2>&1 &
	eval "pid_$1=$!"
	pids="$pids $!"
}

stop_node() {
	eval "p=\$pid_$1"
	[ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	eval "pid_$1="
	return 0
}

kill_node() {
	eval "p=\$pid_$1"
	# timeout's child is the node: kill it hard, then timeout itself
	[ -n "$p" ] && pkill -KILL -P "$p" 2>/dev/null
	[ -n "$p" ] && kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	eval "pid_$1="
	return 0
}

stop_all() {
	for p in $pids; do
		pkill -KILL -P "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	pids=""
}

# wait_log name pattern [seconds]: true once the log of node name matches (grep -E)
wait_log() {
	n=0; limit=$(( ${3:-20} * 10 ))
	while [ $n -lt $limit ]; do
		grep -qE "$2" "$out/$1.log" 2>/dev/null && return 0
		n=$((n + 1))
		sleep 0.1
	done
	echo "  (timed out waiting for /$2/ in $1.log)"
	return 1
}

passed=0
failed=0

ok() { echo "PASS $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

# expect name pattern description [seconds]
expect() {
	if wait_log "$1" "$2" "${4:-20}"; then ok "$3"; else bad "$3"; fi
}

# expect_no name pattern description: the log of name has no line matching
expect_no() {
	if grep -qE "$2" "$out/$1.log"; then
		grep -E "$2" "$out/$1.log" | head -3
		bad "$3"
	else
		ok "$3"
	fi
}
