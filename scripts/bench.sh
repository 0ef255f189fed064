#!/usr/bin/env bash
# bench.sh runs the benchmarks whose figures the README reports. Each one
# runs a pipe job and its baseline in the same invocation, alternating,
# REPEAT times, and reports medians and the ratio job/baseline: these
# machines are noisy, so only same-run ratios are meaningful.
#
#   scripts/bench.sh [copy|mlp|batching|adaptive|text|image|serve|incremental|s3] ...  (default: all but serve, incremental and s3)
#
# Environment: ROWS (copy input rows, default 10000000), MLP_ROWS (default
# 2000000), JSONL_ROWS (default 100000), IMAGE_COUNT (default 2000), REPEAT
# (default 3), BENCH_DIR (default testdata/bench), BEFORE (a pipe binary
# the copy and mlp benchmarks also run, alternating, for same-run ratios of
# CPU-seconds and peak memory). ONNX Runtime is installed if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-10000000}
REPEAT=${REPEAT:-3}
BENCH_DIR=${BENCH_DIR:-testdata/bench}
PIPE=bin/pipe
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# timed CMD...: runs CMD under /usr/bin/time; sets SECONDS_TAKEN, PEAK_KB
# and CPU_TAKEN (user + system seconds).
timed() {
	local tf user sys
	tf=$(mktemp)
	local start end
	start=$(date +%s.%N)
	/usr/bin/time -f '%M %U %S' -o "$tf" "$@" >/dev/null
	end=$(date +%s.%N)
	SECONDS_TAKEN=$(echo "$end - $start" | bc -l)
	read -r PEAK_KB user sys < <(tail -1 "$tf")
	CPU_TAKEN=$(echo "$user + $sys" | bc -l)
	rm -f "$tf"
}

# BEFORE: a pipe binary (say, built from an earlier commit) that the copy
# and mlp benchmarks also run, alternating with bin/pipe, for same-run
# ratios of CPU-seconds and peak memory.
BEFORE=${BEFORE:-}

# single_part DIR: the Parquet part file of an output folder of one file.
single_part() { find "$1" -maxdepth 1 -name 'part-*.parquet' 2>/dev/null | sort | head -1; }

# per_mrow CPU ROWS: CPU-seconds per million rows.
per_mrow() { echo "$1 * 1000000 / $2" | bc -l; }

bench_copy() {
	local input
	input=$(single_part "$BENCH_DIR/copy-input")
	if [[ ! -f "$input" ]] || [[ "$(cat "$BENCH_DIR/copy-input/.rows" 2>/dev/null)" != "$ROWS" ]]; then
		echo "copy: generating $ROWS rows into $BENCH_DIR/copy-input"
		rm -rf "$BENCH_DIR/copy-input"
		ROWS=$ROWS OUT="$BENCH_DIR/copy-input" $PIPE run -q pipelines/bench/copy-input.yaml
		echo "$ROWS" >"$BENCH_DIR/copy-input/.rows"
		input=$(single_part "$BENCH_DIR/copy-input")
	fi
	go build -o bin/pqcopy ./internal/cmd/pqcopy
	local job_s=() loop_s=() job_kb=() loop_kb=() job_cpu=() loop_cpu=() before_cpu=() before_kb=()
	for i in $(seq "$REPEAT"); do
		rm -rf "$BENCH_DIR/copy-output" # complete output would make the rerun a no-op
		timed env IN="$input" OUT="$BENCH_DIR/copy-output" $PIPE run -q pipelines/bench/copy.yaml
		job_s+=("$SECONDS_TAKEN"); job_kb+=("$PEAK_KB"); job_cpu+=("$CPU_TAKEN")
		if [[ -n "$BEFORE" ]]; then
			rm -rf "$BENCH_DIR/copy-output"
			timed env IN="$input" OUT="$BENCH_DIR/copy-output" "$BEFORE" run -q pipelines/bench/copy.yaml
			before_cpu+=("$CPU_TAKEN"); before_kb+=("$PEAK_KB")
		fi
		timed bin/pqcopy -in "$input" -out "$BENCH_DIR/pqcopy-output.parquet"
		loop_s+=("$SECONDS_TAKEN"); loop_kb+=("$PEAK_KB"); loop_cpu+=("$CPU_TAKEN")
	done
	local js ls jk lk jc lc
	js=$(printf '%s\n' "${job_s[@]}" | median)
	ls=$(printf '%s\n' "${loop_s[@]}" | median)
	jk=$(printf '%s\n' "${job_kb[@]}" | sort -n | tail -1)
	lk=$(printf '%s\n' "${loop_kb[@]}" | sort -n | tail -1)
	jc=$(printf '%s\n' "${job_cpu[@]}" | median)
	lc=$(printf '%s\n' "${loop_cpu[@]}" | median)
	printf '\ncopy: Parquet -> Parquet, %d rows (id int64, 32 float32, 16-byte string, snappy), median of %d\n' "$ROWS" "$REPEAT"
	printf '  %-28s %12s %10s %14s %14s\n' "" "rows/s" "seconds" "peak RSS MiB" "CPU-s/M rows"
	printf '  %-28s %12.0f %10.2f %14.0f %14.3f\n' "pipe run (copy.yaml)" "$(echo "$ROWS / $js" | bc -l)" "$js" "$(echo "$jk / 1024" | bc -l)" "$(per_mrow "$jc" "$ROWS")"
	printf '  %-28s %12.0f %10.2f %14.0f %14.3f\n' "pqarrow loop (pqcopy)" "$(echo "$ROWS / $ls" | bc -l)" "$ls" "$(echo "$lk / 1024" | bc -l)" "$(per_mrow "$lc" "$ROWS")"
	printf '  ratio job/loop: %.3f (target >= 0.9); runs: job %s, loop %s\n' "$(echo "$ls / $js" | bc -l)" "${job_s[*]}" "${loop_s[*]}"
	if [[ -n "$BEFORE" ]]; then
		local bc bk
		bc=$(printf '%s\n' "${before_cpu[@]}" | median)
		bk=$(printf '%s\n' "${before_kb[@]}" | sort -n | tail -1)
		printf '  BEFORE (%s): %.3f CPU-s/M rows, peak RSS %.0f MiB; pipe run/BEFORE: CPU %.2f (target <= 0.7), peak RSS %.2f\n' \
			"$BEFORE" "$(per_mrow "$bc" "$ROWS")" "$(echo "$bk / 1024" | bc -l)" "$(echo "$jc / $bc" | bc -l)" "$(echo "$jk / $bk" | bc -l)"
	fi
}

MLP_ROWS=${MLP_ROWS:-2000000}
PIPE_ARGS=()
JSONL_ROWS=${JSONL_ROWS:-100000}

# job_rate JOB VAR=VALUE...: runs a pipe job and prints its rows/s (rows
# written by its last stage over the run's wall time, from metrics.json).
job_rate() {
	local job=$1 out
	shift
	out=$(mktemp -d)
	# /usr/bin/time appends "user sys minor-faults peak-KiB wall" to STATS
	# when it is set.
	if [[ -n "${STATS:-}" ]]; then
		/usr/bin/time -a -o "$STATS" -f '%U %S %R %M %e' env "$@" OUT="$out" $PIPE run -q "$job" "${PIPE_ARGS[@]}" >/dev/null
	else
		env "$@" OUT="$out" $PIPE run -q "$job" "${PIPE_ARGS[@]}" >/dev/null
	fi
	python3 - "$out/metrics.json" <<'PY' 2>/dev/null || jq -r '(.stages[-1].rows_in / .duration_seconds)' "$out/metrics.json"
import json, sys
m = json.load(open(sys.argv[1]))
print(m["stages"][-1]["rows_in"] / m["duration_seconds"])
PY
	rm -rf "$out"
}

# mlp_input: the model benchmark's input, MLP_ROWS rows of an id and 32
# float32 features in row groups of 1Mi rows, as pyarrow and Spark write
# them; sets MLP_INPUT.
mlp_input() {
	local dir="$BENCH_DIR/mlp-input-rg1m"
	MLP_INPUT=$(single_part "$dir")
	if [[ ! -f "$MLP_INPUT" ]] || [[ "$(cat "$dir/.rows" 2>/dev/null)" != "$MLP_ROWS" ]]; then
		echo "mlp: generating $MLP_ROWS rows into $dir"
		rm -rf "$dir"
		ROWS=$MLP_ROWS OUT="$dir" $PIPE run -q pipelines/bench/mlp-input.yaml \
			--set write.row_group_rows=1048576 --set write.row_group_bytes=4GiB
		echo "$MLP_ROWS" >"$dir/.rows"
		MLP_INPUT=$(single_part "$dir")
	fi
}

# mlp_row LABEL RATES STATS LOOP_RATE LOOP_CPU LOOP_PROC_RATE: one row of
# the mlp table from a job's rates (rows/s of the run, from metrics.json)
# and its STATS file (user sys faults peak-KiB wall per run), against the
# loop's rate, CPU-seconds (timed part) and whole-process rate.
mlp_row() {
	local r cpu kb wall
	# The rates are space-separated: split on purpose.
	# shellcheck disable=SC2086
	r=$(printf '%s\n' $2 | median)
	cpu=$(awk '!/^Command/ {print $1 + $2}' "$3" | median)
	kb=$(awk '!/^Command/ {print $4}' "$3" | sort -n | tail -1)
	wall=$(awk '!/^Command/ {print $5}' "$3" | median)
	printf '  %-30s %10.0f %10.0f %7.3f %7.3f %9.3f %9.3f %8.0f\n' "$1" "$r" "$(echo "$MLP_ROWS / $wall" | bc -l)" \
		"$(echo "$r / $4" | bc -l)" "$(echo "$MLP_ROWS / $wall / $6" | bc -l)" "$(per_mrow "$cpu" "$MLP_ROWS")" \
		"$(per_mrow "$(echo "$cpu - $5" | bc -l)" "$MLP_ROWS")" "$(echo "$kb / 1024" | bc -l)"
}

bench_mlp() {
	mlp_input
	go build -o bin/ortloop ./internal/cmd/ortloop
	local threads=${THREADS:-1} loop=() lwall=() lstats key b j line tf
	local bins=("$PIPE")
	[[ -n "$BEFORE" ]] && bins+=("$BEFORE")
	declare -A rate stats
	lstats=$(mktemp)
	for i in $(seq "$REPEAT"); do
		for b in "${!bins[@]}"; do
			for j in mlp mlp-vectorize; do
				key="$j/$b"
				[[ -n "${stats[$key]:-}" ]] || stats[$key]=$(mktemp)
				rate[$key]+="$(PIPE=${bins[$b]} STATS=${stats[$key]} job_rate "pipelines/bench/$j.yaml" IN="$MLP_INPUT" THREADS="$threads") "
			done
		done
		tf=$(mktemp)
		line=$(/usr/bin/time -f '%e' -o "$tf" bin/ortloop -rows "$MLP_ROWS" -batch 512 -threads "$threads")
		lwall+=("$(tail -1 "$tf")")
		rm -f "$tf"
		loop+=("$(echo "$line" | sed -n 's/.*rows_per_second=\([0-9.]*\).*/\1/p')")
		echo "$line" | sed -n 's/.*cpu_seconds=\([0-9.]*\) minor_faults=\([0-9]*\).*/\1 \2/p' >>"$lstats"
	done
	local l lc lp
	l=$(printf '%s\n' "${loop[@]}" | median)
	lp=$(echo "$MLP_ROWS / $(printf '%s\n' "${lwall[@]}" | median)" | bc -l)
	lc=$(awk '{print $1}' "$lstats" | median)
	printf '\nmlp: Parquet -> MLP 32-256-256-8 -> Parquet, %d rows in 1Mi-row row groups, default batch_rows, batch 512, %d intra-op thread(s), median of %d\n' \
		"$MLP_ROWS" "$threads" "$REPEAT"
	printf '  %-30s %10s %10s %7s %7s %9s %9s %8s\n' "" "rows/s" "(process)" "ratio" "(proc)" "CPU-s/M" "non-ORT/M" "RSS MiB"
	for b in "${!bins[@]}"; do
		for j in mlp mlp-vectorize; do
			key="$j/$b"
			mlp_row "$j.yaml$([[ $b == 1 ]] && echo ' (BEFORE)')" "${rate[$key]}" "${stats[$key]}" "$l" "$lc" "$lp"
			rm -f "${stats[$key]}"
		done
	done
	printf '  %-30s %10.0f %10.0f %7s %7s %9.3f (CPU: its timed part, rows already in memory)\n' "ORT loop (ortloop)" "$l" "$lp" "" "" "$(per_mrow "$lc" "$MLP_ROWS")"
	printf '  rows/s: of the run (metrics.json) and of the whole process (start-up included); ratio, (proc): job/loop (target >= 0.92);\n'
	printf '  non-ORT/M: the job'"'"'s CPU-seconds minus the loop'"'"'s, per million rows; loop runs: %s\n' "${loop[*]}"
	rm -f "$lstats"
}

jsonl_input() {
	JSONL="$BENCH_DIR/rows.jsonl"
	if [[ ! -f "$JSONL" ]] || [[ "$(cat "$BENCH_DIR/rows.jsonl.rows" 2>/dev/null)" != "$JSONL_ROWS" ]]; then
		go run ./internal/cmd/jsonlgen -out "$JSONL" -rows "$JSONL_ROWS"
		echo "$JSONL_ROWS" >"$BENCH_DIR/rows.jsonl.rows"
	fi
	JSONL_VEC="$BENCH_DIR/rows-vec.jsonl"
	if [[ ! -f "$JSONL_VEC" ]] || [[ "$(cat "$BENCH_DIR/rows-vec.jsonl.rows" 2>/dev/null)" != "$JSONL_ROWS" ]]; then
		go run ./internal/cmd/jsonlgen -vector -out "$JSONL_VEC" -rows "$JSONL_ROWS"
		echo "$JSONL_ROWS" >"$BENCH_DIR/rows-vec.jsonl.rows"
	fi
}

# batching_gain JOB FILE LABEL: max_rows 1 against 256 on JOB, alternating.
batching_gain() {
	local job=$1 file=$2 label=$3 one=() many=()
	for i in $(seq "$REPEAT"); do
		one+=("$(job_rate "$job" IN="$file" MAX_ROWS=1)")
		many+=("$(job_rate "$job" IN="$file" MAX_ROWS=256)")
	done
	local a b
	a=$(printf '%s\n' "${one[@]}" | median)
	b=$(printf '%s\n' "${many[@]}" | median)
	printf '\nbatching (%s): JSON lines read one row per batch -> MLP, %d rows, median of %d\n' "$label" "$JSONL_ROWS" "$REPEAT"
	printf '  max_rows: 1      %12.0f rows/s   runs: %s\n' "$a" "${one[*]}"
	printf '  max_rows: 256    %12.0f rows/s   runs: %s\n' "$b" "${many[*]}"
	printf '  gain: %.2fx (target >= 4x)\n' "$(echo "$b / $a" | bc -l)"
}

# Two layouts of the same rows: the 32 features as one JSON array (read
# straight into the model's vector column), and as 32 scalar fields packed
# by a vectorize stage, where building a 33-column Arrow batch per row costs
# about as much as a one-row model call.
bench_batching() {
	jsonl_input
	batching_gain pipelines/bench/jsonl-vec-mlp.yaml "$JSONL_VEC" '"x": [32 numbers]'
	batching_gain pipelines/bench/jsonl-mlp.yaml "$JSONL" "32 scalar fields + vectorize"
}

# adaptive_ratio JOB FILE LABEL: the best fixed max_rows of a sweep against
# the adaptive batch, on JOB.
adaptive_ratio() {
	local job=$1 file=$2 label=$3
	# The sweep finds the best fixed max_rows (one run each); then the best
	# fixed size and the adaptive batch run REPEAT times, alternating, and
	# their medians are compared: the maximum of 12 noisy single runs is
	# not a fair baseline for a median.
	local best=0 best_n=0 line=""
	for n in 1 2 4 8 16 32 64 128 256 512 1024 2048; do
		local r
		r=$(job_rate "$job" IN="$file" MAX_ROWS=$n)
		line+=" $n:$(printf '%.0f' "$r")"
		if (($(echo "$r > $best" | bc -l))); then best=$r best_n=$n; fi
	done
	local ad=() fx=()
	for i in $(seq "$REPEAT"); do
		fx+=("$(job_rate "$job" IN="$file" MAX_ROWS=$best_n)")
		PIPE_ARGS=(--set score.batch.adaptive.target_latency=50ms --set score.batch.adaptive.min_rows=1)
		ad+=("$(job_rate "$job" IN="$file" MAX_ROWS=2048)")
		PIPE_ARGS=()
	done
	local a f
	a=$(printf '%s\n' "${ad[@]}" | median)
	f=$(printf '%s\n' "${fx[@]}" | median)
	printf '\nadaptive (%s): fixed max_rows swept 1..2048 vs adaptive (target_latency 50ms, 1..2048)\n' "$label"
	printf '  sweep rows/s (one run each):%s\n' "$line"
	printf '  best fixed: max_rows %d; median of %d: %.0f rows/s (runs: %s)\n' "$best_n" "$REPEAT" "$f" "${fx[*]}"
	printf '  adaptive: median of %d: %.0f rows/s (runs: %s)\n' "$REPEAT" "$a" "${ad[*]}"
	printf '  ratio adaptive/best fixed: %.3f (target >= 0.9)\n' "$(echo "$a / $f" | bc -l)"
}

bench_adaptive() {
	jsonl_input
	adaptive_ratio pipelines/bench/jsonl-vec-mlp.yaml "$JSONL_VEC" '"x": [32 numbers]'
	adaptive_ratio pipelines/bench/jsonl-mlp.yaml "$JSONL" "32 scalar fields + vectorize"
}

# text_input writes the text corpus (tokenizer/testdata/corpus.jsonl.gz:
# titles, sentences, code, URLs and texts of thousands of characters, in
# dozens of languages) TEXT_COPIES times as {"id", "text"} lines.
text_input() {
	TEXT="$BENCH_DIR/text.jsonl"
	local copies=${TEXT_COPIES:-2}
	if [[ "$(cat "$BENCH_DIR/.text-copies" 2>/dev/null)" != "$copies" ]]; then
		for _ in $(seq "$copies"); do zcat tokenizer/testdata/corpus.jsonl.gz; done |
			awk '{printf "{\"id\":%d,\"text\":%s}\n", NR-1, $0}' >"$TEXT"
		echo "$copies" >"$BENCH_DIR/.text-copies"
	fi
	TEXT_ROWS=$(wc -l <"$TEXT")
}

# median_seconds N OUT CMD...: the median wall time of N runs of CMD,
# each into an emptied OUT (complete output would make a rerun a no-op).
median_seconds() {
	local n=$1 out=$2 runs=()
	shift 2
	for _ in $(seq "$n"); do
		rm -rf "$out"
		timed env OUT="$out" "$@"
		runs+=("$SECONDS_TAKEN")
	done
	printf '%s\n' "${runs[@]}" | median
}

bench_text() {
	text_input
	PIPE_TOKENIZERS_DIR=$(scripts/install-tokenizers.sh)
	export PIPE_TOKENIZERS_DIR
	local tok copy
	printf '\ntext: %d rows of the tokenizer corpus, median of %d\n' "$TEXT_ROWS" "$REPEAT"
	copy=$(median_seconds "$REPEAT" "$BENCH_DIR/text-copy-output" IN="$TEXT" $PIPE run -q pipelines/bench/text-copy.yaml)
	for t in bert/vocab.txt llama3/tokenizer.json; do
		tok=$(median_seconds "$REPEAT" "$BENCH_DIR/tokenize-output" IN="$TEXT" TOKENIZER="$t" $PIPE run -q pipelines/bench/tokenize.yaml)
		printf '  tokenize %-22s %8.2fs (read+write alone %.2fs): %.1f us per row for tokenizing\n' "$t" "$tok" "$copy" \
			"$(echo "($tok - $copy) * 1000000 / $TEXT_ROWS" | bc -l)"
	done
	local plain bucket
	plain=$(median_seconds "$REPEAT" "$BENCH_DIR/text-output" IN="$TEXT" $PIPE run -q pipelines/bench/embed-text.yaml)
	bucket=$(median_seconds "$REPEAT" "$BENCH_DIR/text-output-bucket" IN="$TEXT" BUCKET=true MAX_ROWS=1024 MAX_TOKENS=8192 $PIPE run -q pipelines/bench/embed-text.yaml)
	printf '  embed, batches of 64 in arrival order  %8.0f rows/s\n' "$(echo "$TEXT_ROWS / $plain" | bc -l)"
	printf '  embed, bucket (1024-row windows, 8192 tokens) %8.0f rows/s\n' "$(echo "$TEXT_ROWS / $bucket" | bc -l)"
	printf '  ratio bucket/arrival order: %.2f (target >= 1.5)\n' "$(echo "$plain / $bucket" | bc -l)"
}

IMAGE_COUNT=${IMAGE_COUNT:-2000}

# image_timed CMD...: like timed, and also sets CPU_TAKEN (user+system
# seconds of CMD and its children). PEAK_KB is the largest single process's
# peak RSS (getrusage of children), not a sum over Pillow's processes.
image_timed() {
	local tf start end
	tf=$(mktemp)
	start=$(date +%s.%N)
	/usr/bin/time -f '%M %U %S' -o "$tf" "$@" >/dev/null
	end=$(date +%s.%N)
	SECONDS_TAKEN=$(echo "$end - $start" | bc -l)
	read -r PEAK_KB user sys < <(tail -1 "$tf")
	CPU_TAKEN=$(echo "$user + $sys" | bc -l)
	rm -f "$tf"
}

# image_input N: a folder of the first N generated JPEGs, as hard links
# into $BENCH_DIR/images, where scripts/image-bench/gen.py writes each
# image once (image i depends on i only), so that the N and 2N folders
# share their first N files.
image_input() {
	local n=$1 dir="$BENCH_DIR/images-$1"
	/usr/bin/python3 scripts/image-bench/gen.py "$BENCH_DIR/images" "$n"
	if [[ "$(find "$dir" -name '*.jpg' 2>/dev/null | wc -l)" != "$n" ]]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		for i in $(seq 0 $((n - 1))); do printf 'img%05d.jpg\n' "$i"; done |
			(cd "$BENCH_DIR/images" && xargs ln -t "$dir")
	fi
	echo "$dir"
}

bench_image() {
	local n=$IMAGE_COUNT in in2 out="$BENCH_DIR/images-output"
	in=$(image_input "$n")
	in2=$(image_input $((n * 2)))
	if [[ ! -d scripts/image-bench/node_modules/sharp ]]; then
		(cd scripts/image-bench && npm ci --no-audit --no-fund >/dev/null)
	fi
	# pipe decodes JPEGs with libvips (decoder: vips, shrink-on-load) and,
	# for comparison, in pure Go (decoder: go).
	local vips_lib
	vips_lib=$(scripts/install-vips.sh)
	local names=(pipe pipe-go sharp pillow pillow-draft)
	declare -A cmd=(
		[pipe]="env IN=$in OUT=$out DECODER=vips PIPE_VIPS_LIB=$vips_lib $PIPE run -q pipelines/bench/images.yaml"
		[pipe-go]="env IN=$in OUT=$out DECODER=go $PIPE run -q pipelines/bench/images.yaml"
		[sharp]="node scripts/image-bench/sharp.mjs $in 4"
		[pillow]="/usr/bin/python3 scripts/image-bench/pillow.py $in --procs 2"
		[pillow-draft]="/usr/bin/python3 scripts/image-bench/pillow.py $in --procs 2 --draft"
	)
	declare -A wall cpu kb
	for _ in $(seq "$REPEAT"); do
		for b in "${names[@]}"; do
			rm -rf "$out" # complete output would make the rerun a no-op
			# shellcheck disable=SC2086 # the command lines are split on purpose
			image_timed ${cmd[$b]}
			wall[$b]+="$SECONDS_TAKEN " cpu[$b]+="$CPU_TAKEN " kb[$b]+="$PEAK_KB "
		done
	done
	declare -A mw mc mk
	printf '\nimage: %d JPEGs (640x480..1920x1080, 1/4 progressive, 1/10 EXIF-oriented) -> shorter side 256, crop 224; median of %d, %d CPUs\n' \
		"$n" "$REPEAT" "$(nproc)"
	printf '  %-36s %10s %10s %12s %14s\n' "" "images/s" "seconds" "CPU-seconds" "peak RSS MiB"
	local -A img_label=(
		[pipe]="pipe run, libvips (float32 NCHW)"
		[pipe-go]="pipe run, pure Go decoder"
		[sharp]="sharp, 4 in flight (raw RGB)"
		[pillow]="Pillow, 2 processes (float32)"
		[pillow-draft]="Pillow draft mode, 2 processes"
	)
	for b in "${names[@]}"; do
		# The lists are space-separated: split on purpose.
		# shellcheck disable=SC2086
		mw[$b]=$(printf '%s\n' ${wall[$b]} | median)
		# shellcheck disable=SC2086
		mc[$b]=$(printf '%s\n' ${cpu[$b]} | median)
		# shellcheck disable=SC2086
		mk[$b]=$(printf '%s\n' ${kb[$b]} | sort -n | tail -1)
		printf '  %-36s %10.1f %10.2f %12.2f %14.0f\n' "${img_label[$b]}" "$(echo "$n / ${mw[$b]}" | bc -l)" "${mw[$b]}" "${mc[$b]}" \
			"$(echo "${mk[$b]} / 1024" | bc -l)"
	done
	for b in pipe-go sharp pillow pillow-draft; do
		printf '  ratio pipe/%s: throughput %.2f, CPU-seconds %.2f, peak RSS %.2f\n' "$b" \
			"$(echo "${mw[$b]} / ${mw[pipe]}" | bc -l)" "$(echo "${mc[pipe]} / ${mc[$b]}" | bc -l)" "$(echo "${mk[pipe]} / ${mk[$b]}" | bc -l)"
	done
	printf '  runs (s): pipe %s; pipe-go %s; sharp %s; Pillow %s; draft %s\n' "${wall[pipe]}" "${wall[pipe-go]}" "${wall[sharp]}" "${wall[pillow]}" "${wall[pillow-draft]}"
	# Memory must not grow with the number of files: same job, twice the input.
	rm -rf "$out"
	image_timed env IN="$in2" OUT="$out" DECODER=vips PIPE_VIPS_LIB="$vips_lib" $PIPE run -q pipelines/bench/images.yaml
	printf '  pipe peak RSS: %.0f MiB at %d images (max of %d runs), %.0f MiB at %d (one run, %.1f images/s)\n' \
		"$(echo "${mk[pipe]} / 1024" | bc -l)" "$n" "$REPEAT" "$(echo "$PEAK_KB / 1024" | bc -l)" $((n * 2)) "$(echo "$n * 2 / $SECONDS_TAKEN" | bc -l)"
	rm -rf "$out"
}

# The serving benchmark's settings: SERVE_SECONDS of load per setting, the
# dynamic batching settings tried (max_rows:max_delay, the delay in ms), and
# the model's intra-op threads (THREADS, the same for ONNX Runtime alone
# and for pipe serve).
SERVE_SECONDS=${SERVE_SECONDS:-10}
SERVE_SETTINGS=${SERVE_SETTINGS:-64:5ms 32:2ms 128:10ms}
SERVE_PID=""

# serve_start MAX_ROWS MAX_DELAY FLAGS...: starts pipe serve on the deep
# MLP with that batching on a free loopback port; sets SERVE_PID and
# SERVE_URL once it listens (the load generator waits for readiness).
serve_start() {
	local rows=$1 delay=$2 log="$BENCH_DIR/serve.log"
	shift 2
	MODEL="$BENCH_DIR/deep_mlp.onnx" MAX_ROWS=$rows MAX_DELAY=$delay THREADS=$SERVE_THREADS \
		$PIPE serve pipelines/bench/serve-deep.yaml --models=false --http 127.0.0.1:0 --grpc off \
		--drain-timeout 5s "$@" >"$log" 2>&1 &
	SERVE_PID=$!
	for _ in $(seq 600); do
		SERVE_URL=$(sed -n 's#.*REST  \(http://[^/]*\)/.*#\1#p' "$log")
		[[ -n "$SERVE_URL" ]] && return 0
		if ! kill -0 "$SERVE_PID" 2>/dev/null; then break; fi
		sleep 0.1
	done
	echo "serve: pipe serve did not start:" >&2
	cat "$log" >&2
	serve_stop
	return 1
}

# serve_stop stops the server started last: SIGTERM, SIGKILL after 10s.
serve_stop() {
	[[ -z "$SERVE_PID" ]] && return 0
	kill -TERM "$SERVE_PID" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$SERVE_PID" 2>/dev/null || true
	wait "$SERVE_PID" 2>/dev/null || true
	SERVE_PID=""
}

# kv KEY: the value of KEY=... in the line on stdin.
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

# serve_cpu: the server's CPU seconds so far (user + system).
serve_cpu() { awk -v t="$(getconf CLK_TCK)" '{print ($14 + $15) / t}' "/proc/$SERVE_PID/stat"; }

# serve_load ARGS...: one serveload run against the server started last,
# after a second of the same load whose results are dropped. Sets
# SERVE_LINE (serveload's summary) and SERVE_CPU_US (the server's CPU
# microseconds per request of the measured run).
serve_load() {
	bin/serveload -url "$SERVE_URL" -model bench-serve-deep -warmup 0s -duration 1s "$@" >/dev/null
	local before
	before=$(serve_cpu)
	SERVE_LINE=$(bin/serveload -url "$SERVE_URL" -model bench-serve-deep -warmup 0s -duration "${SERVE_SECONDS}s" "$@")
	SERVE_CPU_US=$(echo "($(serve_cpu) - $before) * 1000000 / $(echo "$SERVE_LINE" | kv requests)" | bc -l)
}

# ort_call N: the ONNX Runtime call of a batch of N rows, medians of 3
# runs of ortloop: sets ORT_MS (wall time per call) and ORT_CPU_US (CPU
# time per call).
ort_call() {
	local calls=$((500 / $1 + 20)) walls=() cpus=() line
	for _ in 1 2 3; do
		line=$(bin/ortloop -model "$BENCH_DIR/deep_mlp.onnx" -rows $(($1 * calls)) -batch "$1" -threads "$SERVE_THREADS")
		walls+=("$(echo "$line" | kv seconds)") cpus+=("$(echo "$line" | kv cpu_seconds)")
	done
	ORT_MS=$(echo "$(printf '%s\n' "${walls[@]}" | median) * 1000 / $calls" | bc -l)
	ORT_CPU_US=$(echo "$(printf '%s\n' "${cpus[@]}" | median) * 1000000 / $calls" | bc -l)
}

# serve_row LABEL BOUND: one row of the serve table, from SERVE_LINE and
# SERVE_CPU_US.
serve_row() {
	local bound=${2:+$(printf '%.2f' "$2")}
	printf '  %-22s %8.0f %9s %9s %9s %9s %11.0f' "$1" "$(echo "$SERVE_LINE" | kv ok_per_second)" \
		"$(echo "$SERVE_LINE" | kv p50_ms)" "$(echo "$SERVE_LINE" | kv p90_ms)" "$(echo "$SERVE_LINE" | kv p99_ms)" \
		"${bound:--}" "$SERVE_CPU_US"
	[[ "$(echo "$SERVE_LINE" | kv codes)" =~ ^200:[0-9]+$ ]] ||
		printf '  codes %s, errors %s' "$(echo "$SERVE_LINE" | kv codes)" "$(echo "$SERVE_LINE" | kv errors)"
	printf '\n'
}

bench_serve() {
	go build -o bin/serveload ./internal/cmd/serveload
	go build -o bin/ortloop ./internal/cmd/ortloop
	go run ./internal/cmd/deepmlp -out "$BENCH_DIR/deep_mlp.onnx" >/dev/null
	SERVE_THREADS=${THREADS:-1}
	trap serve_stop EXIT
	trap 'serve_stop; exit 130' INT TERM
	local -A call
	local s rows one_cpu_ort
	for rows in 1 $(for s in $SERVE_SETTINGS; do echo "${s%%:*}"; done | sort -un); do
		ort_call "$rows"
		call[$rows]=$ORT_MS
		[[ $rows == 1 ]] && one_cpu_ort=$ORT_CPU_US
	done
	printf '\nserve: one-row KServe v2 JSON requests over loopback to pipe serve, deep MLP 32-2048-2048-2048-8 (34 MB),\n'
	printf '  %d intra-op thread(s), 64 closed-loop clients for %ss per setting (vegeta attacker, bin/serveload), %d CPUs\n' \
		"$SERVE_THREADS" "$SERVE_SECONDS" "$(nproc)"
	printf '  ORT alone (ortloop, median of 3): one-row call %.3f ms (%.0f us CPU)' "${call[1]}" "$one_cpu_ort"
	for rows in $(printf '%s\n' "${!call[@]}" | sort -n); do
		[[ $rows == 1 ]] || printf ', batch of %d %.2f ms' "$rows" "${call[$rows]}"
	done
	printf '\n  %-22s %8s %9s %9s %9s %9s %11s\n' "setting" "req/s" "p50 ms" "p90 ms" "p99 ms" "bound ms" "CPU us/req"
	serve_start 1 5ms
	serve_load -clients 1
	local one_client=$SERVE_LINE one_cpu=$SERVE_CPU_US
	serve_load -clients 64
	serve_stop
	serve_row "max_rows: 1" ""
	local base=$SERVE_LINE best_rps=0 best_set="" best_line=""
	for s in $SERVE_SETTINGS; do
		serve_start "${s%%:*}" "${s#*:}"
		serve_load -clients 64
		serve_stop
		# The issue's bound: max_delay plus twice the batch's compute time.
		serve_row "max_rows: ${s%%:*}, ${s#*:}" "$(echo "$(echo "${s#*:}" | tr -d ms) + 2 * ${call[${s%%:*}]}" | bc -l)"
		if (($(echo "$(echo "$SERVE_LINE" | kv ok_per_second) > $best_rps" | bc -l))); then
			best_rps=$(echo "$SERVE_LINE" | kv ok_per_second) best_set=$s best_line=$SERVE_LINE
		fi
	done
	printf '  bound: max_delay + 2 x the batch'"'"'s ORT call; CPU us/req: the server'"'"'s CPU time over requests\n'
	printf '  gain: best dynamic (%s) / max_rows 1: %.2fx (target >= 4x)\n' "$best_set" \
		"$(echo "$best_rps / $(echo "$base" | kv ok_per_second)" | bc -l)"
	printf '  server overhead per request, 1 client, max_rows 1: latency p50 %s ms - ORT one-row call %.3f ms = %.3f ms;\n' \
		"$(echo "$one_client" | kv p50_ms)" "${call[1]}" "$(echo "$(echo "$one_client" | kv p50_ms) - ${call[1]}" | bc -l)"
	printf '    CPU: server %.0f us/req - ORT one-row call %.0f us = %.0f us (%s req/s)\n' "$one_cpu" "$one_cpu_ort" \
		"$(echo "$one_cpu - $one_cpu_ort" | bc -l)" "$(echo "$one_client" | kv ok_per_second)"
	serve_overload "$best_set" "$best_line"
	trap - EXIT INT TERM
}

# serve_overload SETTING LINE: open loop at twice the rate SETTING
# sustained (LINE, its closed-loop run), with --max-queue 64 (or max_rows
# when larger, so that a full batch can be admitted).
serve_overload() {
	local rate queue=$((${1%%:*} > 64 ? ${1%%:*} : 64)) l
	rate=$(printf '%.0f' "$(echo "2 * $(echo "$2" | kv ok_per_second)" | bc -l)")
	serve_start "${1%%:*}" "${1#*:}" --max-queue "$queue"
	serve_load -rate "$rate"
	serve_stop
	l=$SERVE_LINE
	printf '  overload: open loop at %d req/s (2x; %s sent/s), %s, --max-queue %d: accepted %.0f req/s, p50 %s ms, p99 %s ms (closed loop p99 %s ms)\n' \
		"$rate" "$(echo "$l" | kv sent_per_second)" "$1" "$queue" "$(echo "$l" | kv ok_per_second)" "$(echo "$l" | kv p50_ms)" \
		"$(echo "$l" | kv p99_ms)" "$(echo "$2" | kv p99_ms)"
	printf '    429: %s of %s requests, latency p50 %s ms, p99 %s ms; codes %s, transport errors %s\n' \
		"$(echo "$l" | kv rejected)" "$(echo "$l" | kv requests)" "$(echo "$l" | kv rejected_p50_ms)" \
		"$(echo "$l" | kv rejected_p99_ms)" "$(echo "$l" | kv codes)" "$(echo "$l" | kv errors)"
	if (($(echo "$(echo "$l" | kv sent_per_second) < 0.9 * $rate" | bc -l))); then
		printf '    the load generator sent below 90%% of the rate: this machine'"'"'s CPUs were saturated\n'
	fi
}

# bench_incremental: DAYS partitions of DAY_ROWS rows (hard links to one
# file) scored in full, then one more day arriving: the incremental run
# scores only it. Reports both wall times and their ratio (target < 5%).
bench_incremental() {
	local days=${DAYS:-100} rows=${DAY_ROWS:-100000} seed="$BENCH_DIR/daily-seed" in="$BENCH_DIR/daily-input" out="$BENCH_DIR/daily-output"
	if [[ "$(cat "$seed/.rows" 2>/dev/null)" != "$rows" ]]; then
		rm -rf "$seed"
		ROWS=$rows OUT="$seed" $PIPE run -q pipelines/bench/mlp-input.yaml
		echo "$rows" >"$seed/.rows"
	fi
	local file
	file=$(ls "$seed"/part-*.parquet | head -1)
	rm -rf "$in" "$out"
	local d
	for d in $(seq 1 "$days"); do
		mkdir -p "$in/dt=day-$(printf %04d "$d")"
		ln "$file" "$in/dt=day-$(printf %04d "$d")/part-0.parquet"
	done
	local new="$in/dt=day-$(printf %04d $((days + 1)))"
	timed env IN="$in" OUT="$out" $PIPE run -q pipelines/bench/mlp-daily.yaml
	local full=$SECONDS_TAKEN full_kb=$PEAK_KB incr=() incr_kb=() i
	for i in $(seq "$REPEAT"); do
		rm -rf "$new"
		env IN="$in" OUT="$out" $PIPE run -q pipelines/bench/mlp-daily.yaml # drops the extra day again
		mkdir -p "$new"
		ln "$file" "$new/part-0.parquet"
		timed env IN="$in" OUT="$out" $PIPE run -q pipelines/bench/mlp-daily.yaml
		incr+=("$SECONDS_TAKEN"); incr_kb+=("$PEAK_KB")
	done
	local m
	m=$(printf '%s\n' "${incr[@]}" | median)
	printf '\nincremental: MLP job over %d daily partitions of %d rows, then one more day; median of %d incremental runs\n' "$days" "$rows" "$REPEAT"
	printf '  full run: %.2f s (peak %d MiB); incremental run: %.3f s (peak %d MiB); ratio %.4f (target < 0.05); runs: %s\n' \
		"$full" $((full_kb / 1024)) "$m" $(($(printf '%s\n' "${incr_kb[@]}" | sort -n | tail -1) / 1024)) "$(echo "$m / $full" | bc -l)" "${incr[*]}"
}

# s3_row LABEL LOCAL_S LOCAL_KB LOCAL_CPU S3_S S3_KB S3_CPU: one row of the
# s3 table from the per-run figures (space-separated) of both runs.
s3_row() {
	local ls lk lc ss sk sc
	# The figures are space-separated: split on purpose.
	# shellcheck disable=SC2086
	{
		ls=$(printf '%s\n' $2 | median); lk=$(printf '%s\n' $3 | sort -n | tail -1); lc=$(printf '%s\n' $4 | median)
		ss=$(printf '%s\n' $5 | median); sk=$(printf '%s\n' $6 | sort -n | tail -1); sc=$(printf '%s\n' $7 | median)
	}
	printf '  %-6s %9.2f %9.2f %8.3f %10.0f %10.0f %9.2f %9.2f   (s3 runs: %s)\n' "$1" "$ls" "$ss" "$(echo "$ls / $ss" | bc -l)" \
		"$(echo "$lk / 1024" | bc -l)" "$(echo "$sk / 1024" | bc -l)" "$lc" "$sc" "$5"
}

# bench_s3: the copy job (ROWS rows) and the model job (MLP_ROWS rows)
# with input and output on a loopback S3 server (versitygw, started by
# internal/cmd/s3serve over $BENCH_DIR/s3-store) against the same jobs on
# local files, alternating, REPEAT times. Reports median wall times, the
# ratio local/s3 (speed on the store relative to local files; target
# >= 0.8), peak RSS (target < 1 GiB) and CPU-seconds.
bench_s3() {
	local input store="$BENCH_DIR/s3-store" srv log i
	input=$(single_part "$BENCH_DIR/copy-input" || true)
	if [[ ! -f "$input" ]] || [[ "$(cat "$BENCH_DIR/copy-input/.rows" 2>/dev/null)" != "$ROWS" ]]; then
		rm -rf "$BENCH_DIR/copy-input"
		ROWS=$ROWS OUT="$BENCH_DIR/copy-input" $PIPE run -q pipelines/bench/copy-input.yaml
		echo "$ROWS" >"$BENCH_DIR/copy-input/.rows"
		input=$(single_part "$BENCH_DIR/copy-input")
	fi
	mkdir -p "$BENCH_DIR/mlp-input-rg1m" # so that mlp_input's find succeeds
	mlp_input
	go build -o bin/s3serve ./internal/cmd/s3serve
	rm -rf "$store" && mkdir -p "$store"
	log=$(mktemp)
	bin/s3serve -root "$store" -port "${S3_PORT:-7071}" -bucket bench \
		-put copy/in.parquet="$input" -put mlp/in.parquet="$MLP_INPUT" >"$log" &
	srv=$!
	until grep -q '^ready ' "$log"; do
		kill -0 "$srv" 2>/dev/null || { echo "s3serve failed" >&2; return 1; }
		sleep 0.2
	done
	local -a s3env=(AWS_ENDPOINT_URL="$(awk '/^ready/ {print $2}' "$log")" PIPE_S3_PATH_STYLE=1 AWS_REGION=us-east-1
		AWS_ACCESS_KEY_ID=pipe-test-access AWS_SECRET_ACCESS_KEY=pipe-test-secret-not-a-real-key AWS_EC2_METADATA_DISABLED=true)
	local c_ls="" c_lk="" c_lc="" c_ss="" c_sk="" c_sc="" m_ls="" m_lk="" m_lc="" m_ss="" m_sk="" m_sc=""
	for i in $(seq "$REPEAT"); do
		rm -rf "$BENCH_DIR/s3-local-out"
		timed env IN="$input" OUT="$BENCH_DIR/s3-local-out" $PIPE run -q pipelines/bench/copy.yaml
		c_ls+="$SECONDS_TAKEN "; c_lk+="$PEAK_KB "; c_lc+="$CPU_TAKEN "
		timed env "${s3env[@]}" IN=s3://bench/copy/in.parquet OUT="s3://bench/copy-out-$i" $PIPE run -q pipelines/bench/copy.yaml
		c_ss+="$SECONDS_TAKEN "; c_sk+="$PEAK_KB "; c_sc+="$CPU_TAKEN "
		rm -rf "$store/bench/copy-out-$i" "$BENCH_DIR/s3-local-out" # keep the disk's page cache for the input
		timed env IN="$MLP_INPUT" OUT="$BENCH_DIR/s3-local-out" THREADS=1 $PIPE run -q pipelines/bench/mlp.yaml
		m_ls+="$SECONDS_TAKEN "; m_lk+="$PEAK_KB "; m_lc+="$CPU_TAKEN "
		timed env "${s3env[@]}" IN=s3://bench/mlp/in.parquet OUT="s3://bench/mlp-out-$i" THREADS=1 $PIPE run -q pipelines/bench/mlp.yaml
		m_ss+="$SECONDS_TAKEN "; m_sk+="$PEAK_KB "; m_sc+="$CPU_TAKEN "
	done
	kill "$srv"
	wait "$srv" || true
	rm -rf "$store" "$BENCH_DIR/s3-local-out" "$log"
	printf '\ns3: input and output on a loopback S3 server (versitygw) vs local files; copy %d rows, mlp %d rows; median of %d\n' "$ROWS" "$MLP_ROWS" "$REPEAT"
	printf '  %-6s %9s %9s %8s %10s %10s %9s %9s\n' job "local s" "s3 s" "ratio" "local MiB" "s3 MiB" "local CPU" "s3 CPU"
	s3_row copy "$c_ls" "$c_lk" "$c_lc" "$c_ss" "$c_sk" "$c_sc"
	s3_row mlp "$m_ls" "$m_lk" "$m_lc" "$m_ss" "$m_sk" "$m_sc"
	printf '  ratio: local wall time / s3 wall time (target >= 0.8); MiB: peak RSS (target < 1024)\n'
}

targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(copy mlp batching adaptive text image)
go build -o $PIPE ./cmd/pipe
PIPE_ORT_LIB=$(scripts/install-ort.sh)
export PIPE_ORT_LIB
for t in "${targets[@]}"; do
	case $t in
	copy) bench_copy ;;
	mlp) bench_mlp ;;
	batching) bench_batching ;;
	adaptive) bench_adaptive ;;
	text) bench_text ;;
	image) bench_image ;;
	serve) bench_serve ;;
	incremental) bench_incremental ;;
	s3) bench_s3 ;;
	*) echo "unknown benchmark $t" >&2; exit 2 ;;
	esac
done
