#!/usr/bin/env bash
# bench.sh runs the benchmarks whose figures the README reports. Each one
# runs a pipe job and its baseline in the same invocation, alternating,
# REPEAT times, and reports medians and the ratio job/baseline: these
# machines are noisy, so only same-run ratios are meaningful.
#
#   scripts/bench.sh [copy] ...      (default: all)
#
# Environment: ROWS (copy input rows, default 10000000), REPEAT (default 3),
# BENCH_DIR (default testdata/bench).
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-10000000}
REPEAT=${REPEAT:-3}
BENCH_DIR=${BENCH_DIR:-testdata/bench}
PIPE=bin/pipe
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# timed CMD...: runs CMD under /usr/bin/time; sets SECONDS_TAKEN and PEAK_KB.
timed() {
	local tf
	tf=$(mktemp)
	local start end
	start=$(date +%s.%N)
	/usr/bin/time -f '%M' -o "$tf" "$@" >/dev/null
	end=$(date +%s.%N)
	SECONDS_TAKEN=$(echo "$end - $start" | bc -l)
	PEAK_KB=$(tail -1 "$tf")
	rm -f "$tf"
}

bench_copy() {
	local input="$BENCH_DIR/copy-input/part-00000.parquet"
	if [[ ! -f "$input" ]] || [[ "$(cat "$BENCH_DIR/copy-input/.rows" 2>/dev/null)" != "$ROWS" ]]; then
		echo "copy: generating $ROWS rows into $input"
		ROWS=$ROWS OUT="$BENCH_DIR/copy-input" $PIPE run -q pipelines/bench/copy-input.yaml
		echo "$ROWS" >"$BENCH_DIR/copy-input/.rows"
	fi
	go build -o bin/pqcopy ./internal/cmd/pqcopy
	local job_s=() loop_s=() job_kb=() loop_kb=()
	for i in $(seq "$REPEAT"); do
		timed env IN="$input" OUT="$BENCH_DIR/copy-output" $PIPE run -q pipelines/bench/copy.yaml
		job_s+=("$SECONDS_TAKEN"); job_kb+=("$PEAK_KB")
		timed bin/pqcopy -in "$input" -out "$BENCH_DIR/pqcopy-output.parquet"
		loop_s+=("$SECONDS_TAKEN"); loop_kb+=("$PEAK_KB")
	done
	local js ls jk lk
	js=$(printf '%s\n' "${job_s[@]}" | median)
	ls=$(printf '%s\n' "${loop_s[@]}" | median)
	jk=$(printf '%s\n' "${job_kb[@]}" | sort -n | tail -1)
	lk=$(printf '%s\n' "${loop_kb[@]}" | sort -n | tail -1)
	printf '\ncopy: Parquet -> Parquet, %d rows (id int64, 32 float32, 16-byte string, snappy), median of %d\n' "$ROWS" "$REPEAT"
	printf '  %-28s %12s %10s %14s\n' "" "rows/s" "seconds" "peak RSS MiB"
	printf '  %-28s %12.0f %10.2f %14.0f\n' "pipe run (copy.yaml)" "$(echo "$ROWS / $js" | bc -l)" "$js" "$(echo "$jk / 1024" | bc -l)"
	printf '  %-28s %12.0f %10.2f %14.0f\n' "pqarrow loop (pqcopy)" "$(echo "$ROWS / $ls" | bc -l)" "$ls" "$(echo "$lk / 1024" | bc -l)"
	printf '  ratio job/loop: %.3f (target >= 0.9); runs: job %s, loop %s\n' "$(echo "$ls / $js" | bc -l)" "${job_s[*]}" "${loop_s[*]}"
}

targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(copy)
[[ -x $PIPE ]] || go build -o $PIPE ./cmd/pipe
for t in "${targets[@]}"; do
	case $t in
	copy) bench_copy ;;
	*) echo "unknown benchmark $t" >&2; exit 2 ;;
	esac
done
