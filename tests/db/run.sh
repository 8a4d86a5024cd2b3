#!/bin/sh
# The db suite: skynet.socketchannel against a small Python server, skynet.db.redis against
# a redis-server, skynet.db.redis.cluster against a three-master Redis Cluster and
# skynet.db.mysql against a mariadbd, each started here on free loopback ports in a temporary
# directory and stopped by PID.
# Each test service (tests/db/test_*.lua) prints "ok <check>" / "not ok <check>: <why>" and
# "done <count>"; every check is one test.
# Usage: sh tests/db/run.sh [socketchannel] [redis] [rediscluster] [mysql]
set -u
cd "$(dirname "$0")/../.." || exit 1
out=tests/out/db
mkdir -p "$out"
tmp=$(mktemp -d -t skynet-db.XXXXXX)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

passed=0
failed=0
note_fail() { echo "not ok $1"; failed=$((failed + 1)); }

. tests/db/servers.sh

# run_node <name> <timeout> <extra config lines>: runs tests/db/test_<name>.lua as the start
# service of a node and counts its checks.
run_node() {
	name=$1 limit=$2 extra=$3
	# written in this run's own directory (another run may be going on), copied to $out after
	cfg="$tmp/$name.config"
	{
		echo "thread = 2"
		echo "harbor = 0"
		echo "bootstrap = \"snlua bootstrap\""
		echo "start = \"test_$name\""
		echo "cpath = \"./cservice/?.so\""
		echo "lualoader = \"./lualib/loader.lua\""
		echo "lua_path = \"./lualib/?.lua;./lualib/?/init.lua;./tests/db/?.lua\""
		echo "lua_cpath = \"./luaclib/?.so\""
		echo "luaservice = \"./tests/db/?.lua;./service/?.lua\""
		printf '%s\n' "$extra"
	} > "$cfg"
	log="$tmp/$name.log"
	timeout "$limit" ./skynet "$cfg" > "$log" 2>&1
	rc=$?
	cp "$cfg" "$log" "$out/" 2>/dev/null
	ok=$(grep -c '] ok ' "$log")
	bad=$(grep -c '] not ok ' "$log")
	grep -E '\] (not )?ok ' "$log" | sed 's/^[^]]*\] //'
	passed=$((passed + ok))
	failed=$((failed + bad))
	count=$(sed -n 's/.*\] done \([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)
	if [ -z "$count" ]; then
		note_fail "$name: the node did not finish (exit $rc); log tail:"
		tail -n 20 "$log" | sed 's/^/    /'
	elif [ "$count" -ne $((ok + bad)) ]; then
		note_fail "$name: $count checks ran, $((ok + bad)) reported"
	fi
}

suite_socketchannel() {
	python3 tests/db/lineserver.py "$tmp/line.port" < /dev/null > "$tmp/line.log" 2>&1 &
	pids="$pids $!"
	if ! wait_until 10 test -s "$tmp/line.port"; then note_fail "socketchannel: lineserver did not start"; return; fi
	run_node socketchannel 60 "sc_port = \"$(cat "$tmp/line.port")\"
dead_port = \"$(free_port)\""
}

# start_redis <name> [redis args...]: a redis-server on a free port; sets $redis_port.
start_redis() {
	rname=$1; shift
	redis_port=$(free_port)
	mkdir -p "$tmp/$rname"
	redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
		--daemonize no --dir "$tmp/$rname" "$@" > "$tmp/$rname/log" 2>&1 &
	pids="$pids $!"
	wait_until 10 port_open "$redis_port"
}

suite_redis() {
	command -v redis-server >/dev/null || { note_fail "redis: no redis-server"; return; }
	start_redis redis1 --requirepass foobared || { note_fail "redis: redis-server did not start"; return; }
	p1=$redis_port
	start_redis redis2 || { note_fail "redis: second redis-server did not start"; return; }
	run_node redis 60 "redis_port = \"$p1\"
redis_port2 = \"$redis_port\"
redis_pass = \"foobared\""
}

suite_mysql() {
	command -v mariadbd >/dev/null || { note_fail "mysql: no mariadbd"; return; }
	m=$tmp/mysql
	mkdir -p "$m"
	if ! mariadb-install-db --no-defaults --datadir="$m/data" --auth-root-authentication-method=normal \
		--skip-test-db > "$m/install.log" 2>&1; then
		note_fail "mysql: mariadb-install-db failed"; tail -n 20 "$m/install.log"; return
	fi
	mysql_port=$(free_port)
	mariadbd --no-defaults --datadir="$m/data" --socket="$m/sock" --port="$mysql_port" \
		--bind-address=127.0.0.1 --user="$(id -un)" --pid-file="$m/pid" --log-error="$m/err.log" \
		--innodb-buffer-pool-size=16M --skip-name-resolve --max-allowed-packet=64M > "$m/out.log" 2>&1 &
	pids="$pids $!"
	if ! wait_until 30 mariadb --no-defaults -S "$m/sock" -uroot -e 'select 1'; then
		note_fail "mysql: mariadbd did not start"; tail -n 20 "$m/err.log"; return
	fi
	mariadb --no-defaults -S "$m/sock" -uroot -e "
		create database skynet;
		create user 'sktest'@'127.0.0.1' identified via mysql_native_password using password('s3cret');
		grant all on *.* to 'sktest'@'127.0.0.1';" || { note_fail "mysql: could not create the user"; return; }
	run_node mysql 90 "mysql_port = \"$mysql_port\"
mysql_user = \"sktest\"
mysql_pass = \"s3cret\""
}

# A port p with p + 10000 (the cluster bus) free too.
cluster_port() {
	python3 -c '
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
while True:
    p = random.randint(20000, 29999)
    if free(p) and free(p + 10000):
        print(p); break'
}

suite_rediscluster() {
	command -v redis-server >/dev/null || { note_fail "rediscluster: no redis-server"; return; }
	nodes= cports=
	for i in 1 2 3; do
		p=$(cluster_port)
		mkdir -p "$tmp/cluster$i"
		redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
			--dir "$tmp/cluster$i" --cluster-enabled yes --cluster-config-file nodes.conf \
			--cluster-node-timeout 5000 > "$tmp/cluster$i/log" 2>&1 &
		pids="$pids $!"
		wait_until 10 port_open "$p" || { note_fail "rediscluster: redis-server did not start"; return; }
		nodes="$nodes 127.0.0.1:$p" cports="$cports $p"
	done
	# shellcheck disable=SC2086
	if ! timeout 30 redis-cli --cluster create $nodes --cluster-yes > "$tmp/cluster.log" 2>&1; then
		note_fail "rediscluster: redis-cli --cluster create failed"; tail -n 5 "$tmp/cluster.log"; return
	fi
	for p in $cports; do
		wait_until 20 sh -c "redis-cli -p $p cluster info | grep -q cluster_state:ok" \
			|| { note_fail "rediscluster: the cluster is not ok"; return; }
	done
	run_node rediscluster 60 "cluster_ports = \"$cports\""
}

sets=${*:-socketchannel redis rediscluster mysql}
for s in $sets; do
	if command -v "suite_$s" >/dev/null 2>&1 || type "suite_$s" >/dev/null 2>&1; then
		"suite_$s"
	else
		note_fail "no such set: $s"
	fi
done
echo "db: $passed passed, $failed failed"
[ $failed -eq 0 ]
