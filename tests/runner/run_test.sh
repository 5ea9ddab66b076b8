#!/bin/sh
# tests/runner/run_test.sh: `optreg-runner selftest` and `optreg-runner run`
# as people and CI use them: verdicts of a known-good and a known-bad config
# from examples/configs/, determinism, and the exit statuses of the ways a
# run can go wrong, and `optreg-runner baseline`. Runs the small test suite
# (runner/suites/ci.yaml, three seeds), not ref-v2, so each run takes a few
# seconds. Prints TAP. Needs BIN (default bin).
set -u
BIN=${BIN:-bin}
RUNNER="$BIN/optreg-runner"
OPTREG="$BIN/optreg"
SUITE=runner/suites/ci.yaml
GOOD=examples/configs/adamw-cosine-1e-3.yaml
BAD=examples/configs/bad-lr-1e-1.yaml
WARN=examples/configs/bad-eps-1e-1.yaml
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optreg-runner.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/# /'
	return 0
}
# check DESC EXPECTED_STATUS COMMAND...: runs COMMAND with stdout in
# $tmp/out and stderr in $tmp/err; passes on the expected exit status.
check() {
	desc=$1 want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc" "exit status $got, want $want; stderr: $(head -c 800 "$tmp/err")"
	fi
}
# contains DESC FILE TEXT: FILE contains TEXT literally.
contains() {
	if grep -qF -- "$3" "$2"; then
		ok "$1"
	else
		not_ok "$1" "no \"$3\" in: $(head -c 800 "$2")"
	fi
}
lacks() {
	if grep -qF -- "$3" "$2"; then
		not_ok "$1" "unexpected \"$3\" in: $(head -c 800 "$2")"
	else
		ok "$1"
	fi
}
# Everything of a --json verdict but its "time" member (the last one).
untimed() {
	sed '/^  "time": {/,/^  }/d' "$1"
}

# same_verdict DESC A B: the untimed verdicts A and B are identical (and
# not empty).
same_verdict() {
	if cmp -s "$2" "$3" && [ -s "$2" ]; then
		ok "$1"
	else
		not_ok "$1" "$(diff "$2" "$3" | head -n 20)"
	fi
}

check "selftest passes" 0 "$RUNNER" selftest
contains "selftest reports no failures" "$tmp/out" " 0 failed"

check "run --help exits 0" 0 "$RUNNER" run --help
contains "run --help shows usage" "$tmp/out" "usage: optreg-runner run"
check "the runner's --help lists run" 0 "$RUNNER" --help
contains "the command list has run" "$tmp/out" "  run "

# A known-good config passes, with the readable verdict.
check "known-good config passes (exit 0)" 0 "$RUNNER" run --suite "$SUITE" "$GOOD"
contains "the verdict says PASS" "$tmp/out" "result: PASS"
contains "the verdict names the suite" "$tmp/out" "suite     ci (sha256:"
contains "the verdict shows the selftest" "$tmp/out" "selftest  16 passed, 0 failed"
contains "the verdict has a row per workload" "$tmp/out" "fmnist_mlp"
lacks "no findings for the known-good config" "$tmp/out" "findings"
contains "progress goes to stderr as plain lines off a terminal" "$tmp/err" \
	"optreg-runner: fmnist_mlp seed 3: 40/40 steps"
contains "the table summarises the seeds per workload" "$tmp/out" "pass 3/3"
contains "the table names the seeds" "$tmp/out" "seeds     1 2 3"

# A known-bad config fails with the finding it is known for.
check "known-bad config fails (exit 1)" 1 "$RUNNER" run --suite "$SUITE" --json "$BAD"
cp "$tmp/out" "$tmp/bad.json"
contains "its verdict is fail" "$tmp/bad.json" '"result": "fail"'
contains "it has a loss_explosion finding" "$tmp/bad.json" '"criterion": "loss_explosion"'
contains "the finding names its workload" "$tmp/bad.json" '"workload": "fmnist_mlp"'
contains "the finding names its step" "$tmp/bad.json" '"step": 2,'
digest=$("$OPTREG" digest "$BAD")
contains "config_digest is the config's digest" "$tmp/bad.json" "\"config_digest\": \"$digest\""
sdigest=$("$OPTREG" digest "$SUITE")
contains "suite_digest is the suite file's digest" "$tmp/bad.json" "\"suite_digest\": \"$sdigest\""
contains "the verdict has a runner version" "$tmp/bad.json" '"runner_version": "'
contains "the verdict names the device" "$tmp/bad.json" '"device": "cpu: OpenBLAS'
contains "the verdict has loss curves" "$tmp/bad.json" '"loss_curve": ['
contains "the verdict is runner 0.2.0" "$tmp/bad.json" '"runner_version": "0.2.0"'
contains "the verdict lists its seeds" "$tmp/bad.json" '"seeds": ['
contains "findings say which seeds showed them" "$tmp/bad.json" '"showed": ['
contains "each workload has its runs per seed" "$tmp/bad.json" '"runs": ['
contains "and its param groups" "$tmp/bad.json" '"param_groups": ['
contains "the MLP's gap to the baseline fails" "$tmp/bad.json" '"criterion": "accuracy_gap"'
check "readable verdict of the known-bad config" 1 "$RUNNER" run --suite "$SUITE" "$BAD"
contains "the readable verdict says FAIL" "$tmp/out" "result: FAIL"
contains "and lists the finding" "$tmp/out" "FAIL  fmnist_mlp     loss_explosion"
contains "with its seed count" "$tmp/out" "3/3 seeds"

# A config the suite only warns about exits 0 and says so. eps 0.1 trains
# slowly, which ci's short runs see as a gap to the baseline and an MLP
# under its accuracy floor (fail); with those criteria off only the
# eps_dominated warning is left.
sed -e 's/^  \(accuracy\|loss\)_gap_\(fail\|warn\): .*$/  \1_gap_\2: null/' \
	-e 's/^      accuracy_floor: 0.6$/      accuracy_floor: null/' "$SUITE" >"$tmp/nogap.yaml"
check "warned config exits 0" 0 "$RUNNER" run --suite "$tmp/nogap.yaml" "$WARN"
contains "the verdict says WARN" "$tmp/out" "result: WARN"
contains "with the eps_dominated finding" "$tmp/out" "eps_dominated"

# Determinism: the same config twice gives the same verdict, bar "time".
check "first --json run" 0 "$RUNNER" run --suite "$SUITE" --json "$GOOD"
untimed "$tmp/out" >"$tmp/a.json"
check "second --json run" 0 "$RUNNER" run --suite "$SUITE" --json "$GOOD"
untimed "$tmp/out" >"$tmp/b.json"
same_verdict "two runs give identical verdicts except for time" "$tmp/a.json" "$tmp/b.json"
contains "the time member is there" "$tmp/out" '"time": {'

# --jobs: seeds trained at once, each on its own thread and backend
# instance, give the verdict of one at a time (the CPU's default), bar
# "time"; the known-bad config too (findings merged over the seeds).
check "--jobs 3 run" 0 "$RUNNER" run --suite "$SUITE" --json --backend cpu --jobs 3 "$GOOD"
untimed "$tmp/out" >"$tmp/j3.json"
same_verdict "--jobs 3 gives the verdict of one seed at a time" "$tmp/a.json" "$tmp/j3.json"
lines=$(grep -c "seed [0-9]*: " "$tmp/err")
if [ "$lines" -ge 3 ]; then
	ok "--jobs 3 still reports each seed's end ($lines lines)"
else
	not_ok "--jobs 3 still reports each seed's end" "$(cat "$tmp/err")"
fi
"$RUNNER" run --suite "$SUITE" --json --backend cpu --jobs 1 "$BAD" >"$tmp/b1.json" 2>/dev/null
"$RUNNER" run --suite "$SUITE" --json --backend cpu --jobs 2 "$BAD" >"$tmp/b2.json" 2>/dev/null
untimed "$tmp/b1.json" >"$tmp/b1u.json"
untimed "$tmp/b2.json" >"$tmp/b2u.json"
contains "the known-bad config fails" "$tmp/b1u.json" '"result": "fail"'
same_verdict "--jobs 2 (seeds 1-2, then 3) fails it the same way" "$tmp/b1u.json" "$tmp/b2u.json"
check "--jobs 0 is a usage error" 2 "$RUNNER" run --suite "$SUITE" --jobs 0 "$GOOD"
contains "which names the option and the range" "$tmp/err" '--jobs: "0" is not a whole number from 1 to 16'
check "--jobs 17 is a usage error" 2 "$RUNNER" run --suite "$SUITE" --jobs 17 "$GOOD"
check "serve --jobs x is a usage error" 2 "$RUNNER" serve --once --jobs x
contains "serve names the option" "$tmp/err" 'optreg-runner serve: --jobs: "x" is not'

# The backend (--backend auto|cpu|cuda). Without a usable CUDA device
# (this runner built without CUDA, no driver or no GPU: how CI runs),
# auto is the CPU with one line on stderr saying why, and cuda is an
# error naming what is missing. On a machine with a GPU, tests/gpu/run
# checks the CUDA side.
contains "the verdict says its backend" "$tmp/a.json" '"backend": '
if "$RUNNER" selftest --backend cuda >/dev/null 2>&1; then
	ok "# SKIP a CUDA device is present (tests/gpu/run covers it)"
else
	contains "auto ran on the cpu" "$tmp/a.json" '"backend": "cpu"'
	lacks "a cpu verdict has no gpu member" "$tmp/a.json" '"gpu":'
	check "--backend cpu runs" 0 "$RUNNER" run --suite "$SUITE" --json --backend cpu "$GOOD"
	lacks "--backend cpu logs no fallback" "$tmp/err" "using the CPU backend"
	untimed "$tmp/out" >"$tmp/c.json"
	if cmp -s "$tmp/a.json" "$tmp/c.json"; then
		ok "auto without a device gives the cpu's verdict"
	else
		not_ok "auto without a device gives the cpu's verdict" \
			"$(diff "$tmp/a.json" "$tmp/c.json" | head -n 20)"
	fi
	check "selftest falls back to the cpu" 0 "$RUNNER" selftest
	contains "with one line saying why" "$tmp/err" "optreg-runner: no CUDA device ("
	contains "and what it uses" "$tmp/err" "); using the CPU backend"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] && ok "the fallback is one line" ||
		not_ok "the fallback is one line" "$(cat "$tmp/err")"
	contains "selftest names the cpu" "$tmp/out" " 0 failed (cpu, "
	check "selftest --backend cpu is quiet on stderr" 0 "$RUNNER" selftest --backend cpu
	lacks "no fallback line" "$tmp/err" "CUDA"
	check "selftest --backend cuda without a device exits 4" 4 "$RUNNER" selftest --backend cuda
	if grep -qE "built without CUDA|CUDA driver is missing|no CUDA device" "$tmp/err"; then
		ok "the error names what is missing"
	else
		not_ok "the error names what is missing" "$(cat "$tmp/err")"
	fi
	contains "and hints at --backend cpu" "$tmp/err" "hint: "
	lacks "no traces ran" "$tmp/out" "passed"
	check "run --backend cuda without a device exits 4" 4 "$RUNNER" run --suite "$SUITE" --backend cuda "$GOOD"
	contains "run names the option" "$tmp/err" "optreg-runner run: --backend: "
	lacks "nothing trained" "$tmp/err" "steps"
	check "serve --backend cuda without a device exits 7" 7 "$RUNNER" serve --once --backend cuda
	contains "serve names the option" "$tmp/err" "optreg-runner serve: --backend: "
fi
check "an unknown backend for selftest is a usage error" 2 "$RUNNER" selftest --backend tpu
contains "naming the choices" "$tmp/err" "use auto, cpu or cuda"
check "an unknown backend for serve is a usage error" 2 "$RUNNER" serve --backend tpu
check "--backend=cpu works too" 0 "$RUNNER" selftest --backend=cpu

# An invalid config is reported like lint and not run.
cat >"$tmp/invalid.yaml" <<'EOF'
apiVersion: optreg/v1
kind: OptimizerConfig
metadata: {namespace: t, name: invalid}
spec:
  optimizer: adam
  lr: 1.0e-3
  betas: [0.9, 1.0]
  eps: 1.0e-8
  weight_decay: 0.0
EOF
check "an invalid config exits 1" 1 "$RUNNER" run --suite "$SUITE" "$tmp/invalid.yaml"
contains "the error names the field, line and column" "$tmp/err" "invalid.yaml:7:"
contains "the error names the path" "$tmp/err" "spec.betas[1]"
lacks "nothing was run" "$tmp/err" "steps"

check "a missing config exits 3" 3 "$RUNNER" run --suite "$SUITE" "$tmp/nope.yaml"
check "no config is a usage error" 2 "$RUNNER" run --suite "$SUITE"
check "an unknown option is a usage error" 2 "$RUNNER" run --frobnicate "$GOOD"
check "an unknown backend is a usage error" 2 "$RUNNER" run --backend tpu "$GOOD"
check "a missing suite file exits 3" 3 "$RUNNER" run --suite "$tmp/nope.yaml" "$GOOD"

# The suite file is checked strictly; errors name the field.
sed 's/^    peak_steps: 30$/    peak_steps: thirty/' "$SUITE" >"$tmp/bad-suite.yaml"
check "a suite with a bad field is an error (exit 4)" 4 "$RUNNER" run --suite "$tmp/bad-suite.yaml" "$GOOD"
contains "the suite error names the field" "$tmp/err" 'workloads[3].peak_steps: must be an integer'
sed 's/^  spike_factor: 2$/  spike_facter: 2/' "$SUITE" >"$tmp/bad-suite.yaml"
check "a suite with a misspelt threshold is an error" 4 "$RUNNER" run --suite "$tmp/bad-suite.yaml" "$GOOD"
contains "the misspelt field is named" "$tmp/err" "thresholds.spike_facter: unknown field"
contains "the missing one too" "$tmp/err" "thresholds.spike_factor: is required"

# The retired format-1 suite is refused, saying what to use.
check "ref-v1 (format 1) is refused (exit 4)" 4 "$RUNNER" run --suite runner/suites/retired/ref-v1.yaml "$GOOD"
contains "the error says it is retired" "$tmp/err" "version: suite format 1 (ref-v1) is retired: its verdicts still verify"
contains "and names ref-v2" "$tmp/err" "runner/suites/ref-v2.yaml"
# A baseline entry missing is an error naming it.
sed '/^        "2": {final_loss: .*test_accuracy/d' "$SUITE" >"$tmp/no-entry.yaml"
check "a baseline without an entry is an error" 4 "$RUNNER" run --suite "$tmp/no-entry.yaml" "$GOOD"
contains "naming the grid lr, workload and seed" "$tmp/err" 'baseline[0].workloads.fmnist_logreg.2: is required'

# baseline: the block for the suite file (tests/runner/baseline_test.py
# checks its numbers against ci.yaml's).
check "baseline --help exits 0" 0 "$RUNNER" baseline --help
contains "baseline --help shows usage" "$tmp/out" "usage: optreg-runner baseline"
check "baseline of an unknown workload is a usage error" 2 "$RUNNER" baseline --suite "$SUITE" --workload nope
contains "naming it" "$tmp/err" 'no workload named "nope"'
# A workload that cannot run is not a usage error: exit 4 (2 is only for
# --workload and --lrs).
sed '/^workloads:/,$d' "$SUITE" >"$tmp/big-batch.yaml"
printf 'workloads:\n  - name: fmnist_logreg\n    peak_steps: 5\n    batch: 65000\n' >>"$tmp/big-batch.yaml"
check "baseline of a workload that cannot run: exit 4" 4 "$RUNNER" baseline --suite "$tmp/big-batch.yaml"
contains "saying why" "$tmp/err" 'batch must not exceed the 60000 training images (got 65000)'
check "baseline of one workload" 0 "$RUNNER" baseline --suite "$SUITE" --workload rosenbrock
contains "prints its entries" "$tmp/out" '  rosenbrock:'
contains "one per seed" "$tmp/out" '    "3": {final_loss: '
lacks "and no other workload" "$tmp/out" 'fmnist_mlp'
sed '/^baseline:/,$d' "$SUITE" >"$tmp/stale.yaml"
printf 'baseline:\n  nope: 1\n' >>"$tmp/stale.yaml"
check "baseline ignores a stale baseline block" 0 "$RUNNER" baseline --suite "$tmp/stale.yaml" --workload rosenbrock

# A runner whose arithmetic cannot be checked refuses to judge.
check "no golden traces: error verdict (exit 4)" 4 \
	env OPTREG_GOLDEN="$tmp/no-traces" "$RUNNER" run --suite "$SUITE" --json "$GOOD"
contains "the verdict is error" "$tmp/out" '"result": "error"'
contains "with a selftest finding" "$tmp/out" '"criterion": "selftest"'
lacks "and no workload was run" "$tmp/out" '"name": "quadratic_deep"'
# seeds_all NAME CRITERION: the verdict in $tmp/out has a CRITERION finding
# that shows on every seed, {showed: [1, 2, 3], of: 3}, like an aggregated one.
seeds_all() {
	if python3 - "$tmp/out" "$2" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
fs = [f for f in v.get("findings", []) if f.get("criterion") == sys.argv[2]]
fs += [f for w in v.get("workloads", []) for f in w.get("findings", [])
       if f.get("criterion") == sys.argv[2]]
sys.exit(0 if fs and all(f.get("seeds") == {"showed": [1, 2, 3], "of": 3}
                         for f in fs) else 1)
PY
	then ok "$1"; else not_ok "$1" "$(head -c 800 "$tmp/out")"; fi
}
seeds_all "the selftest finding has seeds {showed: all, of: 3}" selftest

# An lm workload whose corpus is not the suite's: the baseline refuses it
# (exit 4, the corpus and both digests), and a run reports it as a
# workload_error on every seed.
sed '/^workloads:/,$d' "$SUITE" >"$tmp/lm.yaml"
cat >>"$tmp/lm.yaml" <<'EOF2'
workloads:
  - name: lm_other_text
    problem: lm
    lm: {layers: 1, d_model: 16, heads: 2, context: 8, norm: pre,
         tied: true, corpus_sha256: "0000000000000000000000000000000000000000000000000000000000000000"}
    peak_steps: 5
    batch: 4
    eval: {rows: 0}
EOF2
check "baseline of an lm workload on another text: exit 4" 4 "$RUNNER" baseline --suite "$tmp/lm.yaml"
contains "naming the workload and the corpus" "$tmp/err" 'workload lm_other_text cannot run: the corpus'
contains "and the expected digest" "$tmp/err" 'expects 0000000000000000000000000000000000000000000000000000000000000000'
lacks "and printing no block" "$tmp/out" 'baseline:'
check "run of an lm workload on another text: error verdict (exit 4)" 4 \
	"$RUNNER" run --suite "$tmp/lm.yaml" --json "$GOOD"
contains "with a workload_error" "$tmp/out" '"criterion": "workload_error"'
seeds_all "the workload_error has seeds {showed: all, of: 3}" workload_error

echo "1..$n"
