#!/bin/sh
# A node that cannot start exits non-zero and says why. Each case writes a config, runs
# ./skynet on it (bounded in time) and checks the exit code and the reason printed.
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

echo "cli: $passed passed, $failed failed"
[ $failed -eq 0 ]
