#!/usr/bin/env bash
# Runs every test program of `make check` and prints one closing line,
# "N passed, N failed".  A test program prints "ok - NAME" / "not ok - NAME"
# lines (diagnostics on "#" lines) and exits non-zero on failure; one that
# exits non-zero without a "not ok" line (a crash) counts as one failure.
#
#   tests/run.sh [layering|unit|asan|fuzz|integration]...   (default: all)
set -u
cd "$(dirname "$0")/.." || exit 2

passed=0
failed=0

run_one() {
	local label=$1
	shift
	local out rc p f
	out=$("$@" 2>&1)
	rc=$?
	p=$(grep -c '^ok ' <<<"$out")
	f=$(grep -c '^not ok ' <<<"$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		out+=$'\n'"not ok - $label exited with status $rc"
	fi
	if [ "$f" -gt 0 ]; then
		# show the failures with their diagnostics, and the tail of the rest
		grep -E '^(not ok|#)' <<<"$out" | head -60
		grep -vE '^(ok|not ok|#)' <<<"$out" | tail -20 | sed 's/^/#   /'
	fi
	printf '%-40s %3d passed, %d failed\n' "$label" "$p" "$f"
	passed=$((passed + p))
	failed=$((failed + f))
}

suite_unit() {
	local dir=$1 tag=$2 t
	for t in "$dir"/test_*; do
		[ -x "$t" ] || continue
		run_one "$tag/$(basename "$t")" "$t"
	done
}

suite_fuzz() {
	local t n
	for t in build/fuzz/fuzz_*; do
		[ -x "$t" ] || continue
		n=$(basename "$t")
		run_one "fuzz-corpus/$n" bash -c '
			if "$1" -runs=0 "$2" >/dev/null 2>"$3"; then echo "ok - $4 seed corpus";
			else cat "$3"; echo "not ok - $4 seed corpus"; fi' _ \
			"$t" "tests/fuzz/corpus/$n" "build/fuzz/$n.log" "$n"
	done
}

suite_layering() {
	run_one "layering" make -s layering
}

suite_integration() {
	local t
	if [ "$(id -u)" -ne 0 ]; then
		echo "not ok - integration tests need root (they start Postfix and NSD)"
		failed=$((failed + 1))
		return
	fi
	for t in tests/integration/t_*.sh; do
		run_one "integration/$(basename "$t" .sh)" bash "$t"
	done
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(layering unit asan fuzz integration)
for s in "${suites[@]}"; do
	case $s in
	layering) suite_layering ;;
	unit) suite_unit build/tests unit ;;
	asan) suite_unit build/asan/tests asan ;;
	fuzz) suite_fuzz ;;
	integration) suite_integration ;;
	*) echo "tests/run.sh: unknown suite $s" >&2; exit 2 ;;
	esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
