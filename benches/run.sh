#!/bin/sh
# Core benchmark: two C services, (1) round trips with one message in flight, (2) 1,000,000
# messages pipelined. Runs on our core and, given an upstream skynet tree built with
# `make linux`, on upstream's C core in the same run, and prints the ratios.
# Usage: sh benches/run.sh [path-to-upstream-skynet] (or UPSTREAM=path make bench)
set -u
cd "$(dirname "$0")/.." || exit 1
upstream=${1:-${UPSTREAM:-}}
out=benches/out
mkdir -p "$out/ours" "$out/upstream"
threads=${BENCH_THREADS:-8}
rtt=${BENCH_RTT:-2000000}
pipeline=${BENCH_PIPELINE:-1000000}
rounds=${BENCH_ROUNDS:-3}
profile=${BENCH_PROFILE:-true}

cc -O2 -fPIC -shared -Iinclude -o "$out/ours/pingpong.so" benches/pingpong.c || exit 1
if [ -n "$upstream" ]; then
	[ -x "$upstream/skynet" ] || { echo "no $upstream/skynet: build upstream with make linux first"; exit 1; }
	cc -O2 -fPIC -shared -I"$upstream/skynet-src" -o "$out/upstream/pingpong.so" benches/pingpong.c || exit 1
fi

# run <which> <binary> <mode> <count>: prints the BENCH line's rate and peak RSS
run() {
	which=$1 bin=$2 mode=$3 count=$4
	cfg="$out/$which/$mode.config"
	printf 'thread = %s\nharbor = 0\nprofile = %s\ncpath = "%s/?.so"\nbootstrap = "pingpong %s %s"\nlogservice = "logger"\n' \
		"$threads" "$profile" "$out/$which" "$mode" "$count" > "$cfg"
	# upstream's logger module lives in its own tree
	[ "$which" = upstream ] && sed -i "s|cpath = \"\\(.*\\)\"|cpath = \"\\1;$upstream/cservice/?.so\"|" "$cfg"
	[ "$which" = ours ] && sed -i "s|cpath = \"\\(.*\\)\"|cpath = \"\\1;./cservice/?.so\"|" "$cfg"
	timeout 300 "$bin" "$cfg" 2>&1 | grep BENCH | sed 's/.*BENCH //'
}

field() { echo "$1" | awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($(i + 1) == k) print $i }'; }

echo "machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "workers: $threads; profile: $profile; round trips: $rtt; pipelined: $pipeline; best of $rounds"
for mode in rtt pipeline; do
	count=$rtt
	[ $mode = pipeline ] && count=$pipeline
	for which in ours upstream; do
		[ $which = upstream ] && [ -z "$upstream" ] && continue
		bin=./skynet
		[ $which = upstream ] && bin="$upstream/skynet"
		best=0 rss=0
		for i in $(seq "$rounds"); do
			line=$(run $which "$bin" $mode "$count")
			echo "  $which $mode #$i: $line"
			if [ $mode = rtt ]; then rate=$(field "$line" rt/s); else rate=$(field "$line" msg/s); fi
			r=$(echo "$line" | awk '{ print $NF }')
			[ "${rate:-0}" -gt "$best" ] && best=$rate
			[ "${r:-0}" -gt "$rss" ] && rss=$r
		done
		eval "${which}_${mode}=$best ${which}_${mode}_rss=$rss"
	done
done
echo
printf '%-10s %14s %14s %8s %12s %12s\n' mode ours upstream ratio "ours RSS kB" "upstream kB"
for mode in rtt pipeline; do
	o=$(eval echo \$ours_$mode) orss=$(eval echo \$ours_${mode}_rss)
	if [ -n "$upstream" ]; then
		u=$(eval echo \$upstream_$mode) urss=$(eval echo \$upstream_${mode}_rss)
		ratio=$(awk -v a="$o" -v b="$u" 'BEGIN { printf "%.2f", a / b }')
	else
		u=- urss=- ratio=-
	fi
	printf '%-10s %14s %14s %8s %12s %12s\n' "$mode/s" "$o" "$u" "$ratio" "$orss" "$urss"
done
