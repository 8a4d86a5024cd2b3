#!/bin/sh
# `make test`: every suite, then one closing line "N passed, M failed" over all of them.
# Each suite prints its own last line "<suite>: N passed, M failed".
cd "$(dirname "$0")/.." || exit 1
total_pass=0
total_fail=0
status=0
suite() {
	echo "== $*"
	"$@" > tests/out/suite.log 2>&1
	rc=$?
	cat tests/out/suite.log
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' tests/out/suite.log | tail -n 1)
	p=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p')
	if [ -z "$line" ]; then
		p=0 f=1
		echo "(suite printed no result line: counted as a failure)"
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "(suite exited $rc: counted as a failure)"
		f=1
		total_fail=$((total_fail + 1))
	fi
	[ "$f" -eq 0 ] || status=1
}
mkdir -p tests/out
suite sh tests/run-rust-tests.sh
suite sh tests/run-cli-tests.sh
suite sh tests/run-c-tests.sh
suite env SANITIZE=address sh tests/run-c-tests.sh
[ -f tests/run-lua-tests.sh ] && suite sh tests/run-lua-tests.sh
suite sh tests/run-lua-share-tests.sh
# Suites of the Lua stack above the core: each tests/<suite>/run.sh, in name order.
for runner in tests/*/run.sh; do
	[ -f "$runner" ] && suite sh "$runner"
done
echo
echo "$total_pass passed, $total_fail failed"
exit $status
