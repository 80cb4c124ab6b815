#!/bin/bash
# Run the libFuzzer targets (tests/fuzz/README.md); called by suite.mk.
#   run.sh fuzz  BUILD NAME...   FUZZ_RUNS executions each (at most
#                                FUZZ_TIME s), corpus kept in BUILD/corpus
#   run.sh check BUILD NAME...   replay every seed and regression input,
#                                then FUZZ_TIME s of each target
# Prints one table row per target: execs, cov and ft (libFuzzer's final
# figures).  Exits non-zero if any target crashed, leaked, hit UBSan or
# broke an invariant; its log is printed and the input kept under
# BUILD/artifacts.
set -u
mode=$1 build=$2
shift 2
src=tests/fuzz
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1
mkdir -p "$build/logs" "$build/artifacts"

# Longest input per target: a few whole option replies for the
# negotiation (NBD_MAX_OPT_REPLY is 4160), else room for a long line.
max_len() {
	case $1 in
	nego) echo 20000 ;;
	optreply|nbdtab) echo 9000 ;;
	*) echo 4096 ;;
	esac
}

# fuzz-nego's inputs are whole conversations: let them grow to max_len at
# once rather than slowly (more coverage in the same time).
extra() {
	case $1 in
	nego) echo -len_control=0 ;;
	esac
}

inputs() {
	local d
	for d in "$src/corpus/$1" "$src/regress/$1"; do
		[ -d "$d" ] && find "$d" -type f ! -name '.*' | sort
	done
}

failed=()
fail() {
	echo "FAILED: $1 ($2); log $3:" >&2
	tail -n 60 "$3" >&2
	failed+=("$1")
}

start=$(date +%s)
if [ "$mode" = check ]; then
	for n in "$@"; do
		log=$build/logs/replay-$n.log
		mapfile -t files < <(inputs "$n")
		if [ ${#files[@]} -eq 0 ]; then
			fail "$n" "no seed corpus in $src/corpus/$n" /dev/null
			continue
		fi
		if "$build/fuzz-$n" -runs=1 "${files[@]}" >"$log" 2>&1; then
			echo "replay $n: ${#files[@]} inputs, all ok"
		else
			fail "$n" "replaying seeds and regression inputs" "$log"
		fi
	done
fi

rows=()
for n in "$@"; do
	corpus=$build/corpus/$n
	[ "$mode" = check ] && corpus=$build/check-corpus/$n && rm -rf "$corpus"
	mkdir -p "$corpus"
	log=$build/logs/$mode-$n.log
	dict=()
	[ -f "$src/dict/$n.dict" ] && dict=(-dict="$src/dict/$n.dict")
	seeds=("$src/corpus/$n")
	[ -d "$src/regress/$n" ] && seeds+=("$src/regress/$n")
	runs=${FUZZ_RUNS:--1}
	[ "$mode" = check ] && runs=-1
	"$build/fuzz-$n" -runs="$runs" -max_total_time="${FUZZ_TIME:-10}" \
		-max_len="$(max_len "$n")" -timeout=20 -print_final_stats=1 \
		-artifact_prefix="$build/artifacts/$n-" "${dict[@]}" $(extra "$n") \
		"$corpus" "${seeds[@]}" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	last=$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
	rows+=("$(printf '%-10s %10s %6s %7s %6s  %s' "$n" "${execs:-?}" \
		"${cov:-?}" "${ft:-?}" "${secs:-?}" \
		"$([ $rc -eq 0 ] && echo ok || echo FAILED)")")
	[ $rc -eq 0 ] || fail "$n" "fuzzing, exit status $rc" "$log"
done

printf '%-10s %10s %6s %7s %6s  %s\n' target execs cov ft secs result
printf '%s\n' "${rows[@]}"
echo "total wall time: $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -ne 0 ]; then
	echo "fuzz: FAILED: ${failed[*]} (inputs kept in $build/artifacts/)" >&2
	exit 1
fi
