#!/bin/sh
# sproto benchmark: benches/sproto/sproto_bench.lua (encode, decode, pencode, pdecode of a
# typical game message, 200,000 times each) on our stack and on upstream's, in one run; prints
# cpu seconds of each and upstream / ours (above 1: ours is faster).
# Usage: sh benches/sproto.sh <path-to-upstream-skynet built with make linux> [runs]
set -u
cd "$(dirname "$0")/.." || exit 1
. benches/node_config.sh
up=${1:-${UPSTREAM:-}}
runs=${2:-3}
[ -n "$up" ] && [ -x "$up/skynet" ] || { echo "usage: sh benches/sproto.sh <upstream skynet tree, built> [runs]"; exit 1; }
out=benches/out/sproto
mkdir -p "$out"
here=$(pwd)

config() {
	node_config "$out/$1.config" "$2" sproto_bench "$here/benches/sproto" 2
}

ours_cfg=$(config ours "$here")
up_cfg=$(config upstream "$up")
: > "$out/ours.txt"
: > "$out/upstream.txt"
i=0
while [ $i -lt "$runs" ]; do     # alternate the stacks, keep the best run of each
	timeout 120 ./skynet "$ours_cfg" 2>&1 | grep "BENCH sproto" >> "$out/ours.txt"
	timeout 120 "$up/skynet" "$up_cfg" 2>&1 | grep "BENCH sproto" >> "$out/upstream.txt"
	i=$((i + 1))
done
best() {
	awk -v k="$2" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k && (m == "" || kv[2] < m)) m = kv[2] } } END { print m }' "$1"
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
head -n 1 "$out/ours.txt" | sed 's/ encode=.*//; s/BENCH sproto/message:/'
printf "%-8s %10s %10s %8s\n" op ours upstream ratio
for k in encode decode pencode pdecode; do
	o=$(best "$out/ours.txt" $k)
	u=$(best "$out/upstream.txt" $k)
	if [ -z "$o" ] || [ -z "$u" ]; then
		echo "$k: no figure (see $out/*.txt)"; continue
	fi
	awk -v k=$k -v o="$o" -v u="$u" 'BEGIN { printf "%-8s %9.3fs %9.3fs %7.2fx\n", k, o, u, u / o }'
done
