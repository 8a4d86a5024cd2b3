#!/bin/sh
# Process-level behaviour of ./skynet: a node that cannot start exits non-zero and says why
# (each case writes a config, runs the node bounded in time, checks the exit code and the
# reason printed); daemon mode; SIGHUP log reopening.
set -u
cd "$(dirname "$0")/.." || exit 1
dir=tests/out/cli
mkdir -p "$dir"
passed=0
failed=0

# expect_failure <name> <text the output must contain> <config text or -> [args]
expect_failure() {
	name=$1 reason=$2 body=$3
	if [ "$body" = "-" ]; then
		cfg=${4-}
	else
		cfg="$dir/$name.config"
		printf '%s\n' "$body" > "$cfg"
	fi
	if [ -n "$cfg" ]; then
		timeout 20 ./skynet "$cfg" > "$dir/$name.log" 2>&1
	else
		timeout 20 ./skynet > "$dir/$name.log" 2>&1
	fi
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qF -- "$reason" "$dir/$name.log"; then
		echo "ok   $name"; passed=$((passed + 1))
	else
		echo "FAIL $name (exit $rc; wanted \"$reason\")"; cat "$dir/$name.log"; failed=$((failed + 1))
	fi
}

expect_failure no-argument "usage: skynet <config file>" - ""
expect_failure missing-file "can't open config file" - "$dir/does-not-exist.config"
expect_failure syntax-error "syntax-error.config:2:" 'thread = 4
bootstrap = = "x"'
expect_failure unset-variable "SKYNET_TEST_UNSET_VARIABLE" 'root = "$SKYNET_TEST_UNSET_VARIABLE"'
expect_failure bad-thread "thread" 'thread = "many"'
expect_failure bad-value "not a string, number or boolean" 'thread = 2
opts = { 1, 2 }'
expect_failure missing-include "can't open config file" 'include "nowhere.lua"'
expect_failure missing-bootstrap "Bootstrap error : no_such_service" 'thread = 2
harbor = 0
bootstrap = "no_such_service"'
expect_failure missing-logger "Can't launch no_such_logger service" 'thread = 2
logservice = "no_such_logger"'
expect_failure runtime-error "attempt to perform arithmetic" 'thread = 1 + {}'

# A node of the Lua layer whose bootstrap or start service cannot start exits non-zero.
layer='thread = 2
harbor = 0
cpath = "./cservice/?.so"
lualoader = "./lualib/loader.lua"
lua_path = "./lualib/?.lua;./lualib/?/init.lua;tests/lua/?.lua"
lua_cpath = "./luaclib/?.so"
luaservice = "./service/?.lua;tests/lua/?.lua"'
expect_failure bootstrap-file-missing "the bootstrap service failed to start" "$layer
bootstrap = \"snlua lt_no_such_service\""
expect_failure lualoader-missing "the bootstrap service failed to start" "$layer
bootstrap = \"snlua bootstrap\"
lualoader = \"$dir/no_such_loader.lua\""
expect_failure start-missing "the start service failed to start" "$layer
bootstrap = \"snlua bootstrap\"
start = \"lt_no_such_service\""
expect_failure start-raises "the start service failed to start" "$layer
bootstrap = \"snlua bootstrap\"
start = \"lt_badstart\""
expect_failure harbor-without-slave "the bootstrap service aborted the node" "$layer
bootstrap = \"snlua bootstrap\"
harbor = 1
master = \"127.0.0.1:1\"
address = \"127.0.0.1:2\""

# wait_for <seconds> <shell test>: polls a condition the node makes true, bounded in time.
wait_for() {
	timeout "$1" sh -c "until $2; do sleep 0.05; done"
}

check() {
	name=$1
	shift
	if "$@"; then
		echo "ok   $name"; passed=$((passed + 1))
	else
		echo "FAIL $name"; failed=$((failed + 1))
	fi
}

# Daemon mode: the node detaches, writes its pid, and a second copy refuses to start.
daemon_case() {
	pidfile=$dir/daemon.pid
	rm -f "$pidfile"
	printf 'thread = 2\nharbor = 0\ndaemon = "%s"\nlogger = "%s"\nbootstrap = "logger"\n' \
		"$pidfile" "$dir/daemon.log" > "$dir/daemon.config"
	timeout 10 ./skynet "$dir/daemon.config" || return 1
	wait_for 10 "[ -s $pidfile ]" || return 1
	pid=$(cat "$pidfile")
	kill -0 "$pid" || return 1
	timeout 10 ./skynet "$dir/daemon.config" > "$dir/daemon.second" 2>&1
	rc=$?
	kill "$pid"
	[ $rc -ne 0 ] && grep -q "already running" "$dir/daemon.second"
}

# SIGHUP makes the logger reopen its file (log rotation).
hangup_case() {
	log=$dir/hup.log
	rm -f "$log" "$log.1"
	printf 'thread = 2\nharbor = 0\nlogger = "%s"\nbootstrap = "logger"\n' "$log" > "$dir/hup.config"
	./skynet "$dir/hup.config" > /dev/null 2>&1 &
	pid=$!
	ok=1
	wait_for 10 "grep -q LAUNCH $log 2>/dev/null" || ok=0
	mv "$log" "$log.1"
	kill -HUP "$pid"
	wait_for 10 "[ -e $log ]" || ok=0
	kill "$pid"
	wait "$pid" 2>/dev/null
	[ $ok -eq 1 ] && grep -q "LAUNCH" "$log.1"
}

check daemon daemon_case
check sighup-reopens-log hangup_case

echo "cli: $passed passed, $failed failed"
[ $failed -eq 0 ]
