#!/bin/sh
# Database round trips through the drivers (issue 12): benches/db/dbbench.lua on our stack
# and on upstream's, against one redis-server and one mariadbd started here on free loopback
# ports (stopped by PID). Each round runs both stacks, ours first; the figure of each is its
# best round, and the ratio is ours / upstream (above 1: ours is faster).
# Usage: sh benches/db.sh <upstream skynet tree, built>   (env: ROUNDS=3 BENCH_SECONDS=3)
# DB_BENCHES="redis" (or "mysql") runs one of the two.
# DB_CPU=1: instead, each figure alone under `perf stat -e task-clock`: cpu time of the whole
# node (every thread) per request, startup included (so run long enough); steadier than the
# rates when other work loads the machine.
set -u
cd "$(dirname "$0")/.." || exit 1
up=${1:-${UPSTREAM:-}}
[ -n "$up" ] && [ -x "$up/skynet" ] || { echo "usage: sh benches/db.sh <upstream skynet tree, built>"; exit 1; }
up=$(cd "$up" && pwd)
here=$(pwd)
out=${DB_OUT:-benches/out/db}
mkdir -p "$out"
rounds=${ROUNDS:-3}
tmp=$(mktemp -d -t skynet-dbbench.XXXXXX)
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

. tests/db/servers.sh

have_redis= have_mysql=
if command -v redis-server >/dev/null; then
	redis_port=$(free_port)
	redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
		--dir "$tmp" > "$tmp/redis.log" 2>&1 &
	pids="$pids $!"
	wait_until 10 port_open "$redis_port" && have_redis=1
fi
[ -n "$have_redis" ] || echo "redis: no redis-server, skipped"
if command -v mariadbd >/dev/null; then
	m=$tmp/mysql
	mkdir -p "$m"
	mysql_port=$(free_port)
	if mariadb-install-db --no-defaults --datadir="$m/data" --auth-root-authentication-method=normal \
		--skip-test-db > "$m/install.log" 2>&1; then
		mariadbd --no-defaults --datadir="$m/data" --socket="$m/sock" --port="$mysql_port" \
			--bind-address=127.0.0.1 --user="$(id -un)" --pid-file="$m/pid" --log-error="$m/err.log" \
			--innodb-buffer-pool-size=16M --skip-name-resolve > "$m/out.log" 2>&1 &
		pids="$pids $!"
		if wait_until 30 mariadb --no-defaults -S "$m/sock" -uroot -e 'select 1'; then
			rows=$(python3 -c 'print(",".join("(%d, \"player_%d\", %d, %d, \"dragons of the north\", %d)" % (i, i, i % 90, i * 1000, i % 2) for i in range(1, 201)))')
			mariadb --no-defaults -S "$m/sock" -uroot -e "
				create database bench;
				create table bench.players (id int primary key, name varchar(32), level int,
					exp bigint, guild varchar(64), online tinyint);
				insert into bench.players values $rows;
				create user 'skbench'@'127.0.0.1' identified via mysql_native_password using password('b3nch');
				grant all on bench.* to 'skbench'@'127.0.0.1';" && have_mysql=1
		fi
	fi
fi
[ -n "$have_mysql" ] || echo "mysql: no mariadbd (or it did not start), skipped"

# run <which> <binary> <root> <bench> [only]
run() {
	f="$out/$1-$4.config"
	cat > "$f" <<CFG
thread = 2
harbor = 0
start = "dbbench"
bootstrap = "snlua bootstrap"
luaservice = "$3/service/?.lua;$here/benches/db/?.lua"
lualoader = "$3/lualib/loader.lua"
lua_path = "$3/lualib/?.lua;$3/lualib/?/init.lua"
lua_cpath = "$3/luaclib/?.so"
cpath = "$3/cservice/?.so"
bench = "$4"
bench_seconds = ${BENCH_SECONDS:-3}
redis_port = "${redis_port:-0}"
mysql_port = "${mysql_port:-0}"
mysql_user = "skbench"
mysql_pass = "b3nch"
bench_only = "${5:-}"
CFG
	if [ -n "${5:-}" ]; then
		timeout 90 perf stat -x, -e task-clock -o "$out/$1.stat" "$2" "$f" 2>&1 |
			grep -o 'BENCH [a-z0-9_]* [-0-9.e+]*' | sed 's/^BENCH //' > "$out/$1.one"
		awk -F, -v k="${5%_s}" 'NR == FNR { if ($3 ~ /task-clock/) i = $1 * 1000; next }
			$1 == k "_n" { print k "_cpu_us " i / $2 }' "$out/$1.stat" \
			FS=' ' "$out/$1.one" >> "$out/$1.results"
	else
		timeout 90 "$2" "$f" 2>&1 | grep -o 'BENCH [a-z0-9_]* [-0-9.e+]*' | sed 's/^BENCH //' >> "$out/$1.results"
	fi
}

: > "$out/ours.results"
: > "$out/upstream.results"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); rounds: $rounds"
keys=${DB_KEYS:-"redis_get_s redis_hgetall_s redis_get10_s mysql_select_s mysql_rows_s mysql_select10_s"}
if [ -n "${DB_CPU:-}" ]; then
	for key in $keys; do
		case $key in redis*) b=redis h=$have_redis ;; *) b=mysql h=$have_mysql ;; esac
		[ -n "$h" ] || continue
		run ours ./skynet "$here" "$b" "$key"
		run upstream "$up/skynet" "$up" "$b" "$key"
	done
	printf '%-22s %12s %12s %8s\n' benchmark ours upstream ratio
	for key in $keys; do
		k=${key%_s}_cpu_us
		o=$(awk -v k="$k" '$1 == k { print $2 }' "$out/ours.results")
		u=$(awk -v k="$k" '$1 == k { print $2 }' "$out/upstream.results")
		ratio=$(awk -v o="${o:--}" -v u="${u:--}" 'BEGIN { if (o == "-" || u == "-" || o + 0 == 0) print "-"; else printf "%.2f", u / o }')
		printf '%-22s %12.1f %12.1f %8s\n' "$k" "${o:-0}" "${u:-0}" "$ratio"
	done
	echo "(cpu µs of the whole node, all threads, per request; ratio above 1: ours spends less)"
	exit 0
fi
r=1
while [ "$r" -le "$rounds" ]; do
	for b in ${have_redis:+redis} ${have_mysql:+mysql}; do
		case " ${DB_BENCHES:-redis mysql} " in *" $b "*) ;; *) continue ;; esac
		run ours ./skynet "$here" "$b"
		run upstream "$up/skynet" "$up" "$b"
	done
	r=$((r + 1))
done

best() {
	awk -v k="$2" '$1 == k { v = $2 + 0; if (!n || v > b) b = v; n++ } END { if (n) printf "%.6g", b; else printf "-" }' "$out/$1.results"
}
# median <key>: the median over the rounds of ours / upstream in the same round
median() {
	grep "^$1 " "$out/ours.results" | awk '{ print $2 }' > "$out/o.tmp"
	grep "^$1 " "$out/upstream.results" | awk '{ print $2 }' > "$out/u.tmp"
	paste "$out/o.tmp" "$out/u.tmp" | awk '$2 + 0 > 0 { r[++n] = $1 / $2 }
		END { if (!n) { print "-"; exit }
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
			printf "%.2f", n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2 }'
	rm -f "$out/o.tmp" "$out/u.tmp"
}
printf '%-20s %12s %12s %8s %8s\n' benchmark ours upstream ratio median
for key in $keys; do
	o=$(best ours "$key")
	u=$(best upstream "$key")
	ratio=$(awk -v o="$o" -v u="$u" 'BEGIN { if (o == "-" || u == "-" || u + 0 == 0) print "-"; else printf "%.2f", o / u }')
	printf '%-20s %12s %12s %8s %8s\n' "$key" "$o" "$u" "$ratio" "$(median "$key")"
done
echo "(requests per second, one in flight, or ten coroutines with one each (*10_s); best round of"
echo " each and their ratio; median: of the per-round ratios)"
