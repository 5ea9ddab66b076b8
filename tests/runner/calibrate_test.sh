#!/bin/sh
# tests/runner/calibrate_test.sh: the calibration matrix and scripts/calibrate.
#
# 1. The matrix (runner/calibration/matrix.yaml) is well-formed: unique
#    ids, at least 40 cases, every case with expect and reason, every file:
#    there; and each of those checks refuses a matrix that breaks it.
# 2. scripts/calibrate's table, agreement, seeds and kernel-set logic, on a
#    stand-in runner that prints prepared verdicts (cheap, exact).
# 3. The fast subset (4 cases) through the real runner on the reference
#    suite, and its good case and its divergent one (ex-bad-beta2-0.5,
#    whose findings depend on rounding) again with OPENBLAS_CORETYPE=
#    Haswell: every case agrees and the verdict letter is the same under
#    both kernel sets. Six whole-suite runs, about a minute on 2 cores.
#    The reference suite is runner/suites/ref-v2.yaml (ref-v1.yaml while
#    v2 is not there; $CALIBRATE_SUITE overrides).
#
# Prints TAP. Needs BIN (default bin).
set -u
BIN=${BIN:-bin}
CAL=scripts/calibrate
PY=/usr/bin/python3
MATRIX=runner/calibration/matrix.yaml
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optreg-calibrate-test.XXXXXX")
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
# check DESC EXPECTED_STATUS COMMAND...: stdout in $tmp/out, stderr in
# $tmp/err; passes on the expected exit status.
check() {
	desc=$1 want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc" "exit status $got, want $want; stdout: $(head -c 1500 "$tmp/out"); stderr: $(tail -c 1500 "$tmp/err")"
	fi
}
contains() {
	if grep -qF -- "$3" "$2"; then
		ok "$1"
	else
		not_ok "$1" "no \"$3\" in: $(head -c 1500 "$2")"
	fi
}
lacks() {
	if grep -qF -- "$3" "$2"; then
		not_ok "$1" "unexpected \"$3\" in: $(head -c 1500 "$2")"
	else
		ok "$1"
	fi
}

# --- 1. the matrix ----------------------------------------------------------
check "the matrix is well-formed" 0 $PY $CAL --check
cases=$(sed -n 's/.*: \([0-9][0-9]*\) cases (\([0-9][0-9]*\) strict.*/\1 \2/p' "$tmp/out")
set -- $cases
if [ "${1:-0}" -ge 40 ] && [ "${2:-0}" -ge 20 ]; then
	ok "the matrix has >= 40 cases, >= 20 of them strict (${1:-?}, ${2:-?})"
else
	not_ok "the matrix has >= 40 cases, >= 20 of them strict" "$(cat "$tmp/out")"
fi
# Every example config is in the matrix by file reference.
missing=""
for f in examples/configs/*; do
	grep -q "file: $f\$" "$MATRIX" || missing="$missing $f"
done
if [ -z "$missing" ]; then
	ok "every config in examples/configs/ is a case"
else
	not_ok "every config in examples/configs/ is a case" "missing:$missing"
fi
# The matrix's own facts the issue names.
$PY - "$BIN/optreg" "$MATRIX" >"$tmp/facts" 2>&1 <<'EOF'
import json, subprocess, sys
m = json.loads(subprocess.run([sys.argv[1], "canonicalize", sys.argv[2]],
                              capture_output=True, text=True).stdout)
by = {c["id"]: c for c in m["cases"]}
bad = []
for cid, want in [("ex-bert-base-finetune", "pass"),
                  ("ex-resnet50-adam", "pass"), ("maximize", "fail")]:
    if by.get(cid, {}).get("expect") != want:
        bad.append("%s: expect %r, want %r" % (cid, by.get(cid, {}).get("expect"), want))
for c in m["cases"]:
    if c.get("file", "").startswith("examples/configs/bad-") and \
            "fail" not in c["expect"]:
        bad.append("%s: a bad-* example must be allowed to fail" % c["id"])
fast = [c for c in m["cases"] if c.get("fast")]
if not (4 <= len(fast) <= 6) or {c["expect"] for c in fast} != {"pass", "fail"}:
    bad.append("fast subset: want 4-6 strict pass and fail cases, got %r"
               % [(c["id"], c["expect"]) for c in fast])
print("\n".join(bad) or "fine")
EOF
if [ "$(cat "$tmp/facts")" = fine ]; then
	ok "known-good examples pass, bad ones may fail, maximize fails, fast subset is strict"
else
	not_ok "known-good examples pass, bad ones may fail, maximize fails, fast subset is strict" "$(cat "$tmp/facts")"
fi

# Each well-formedness check refuses a matrix that breaks it.
broken() {
	desc=$1 text=$2
	shift 2
	cat >"$tmp/m.yaml"
	check "refuses $desc (exit 2)" 2 $PY $CAL --check --matrix "$tmp/m.yaml"
	contains "and says so: $text" "$tmp/err" "$text"
}
broken "a duplicate id" "id: 'a' is already the id of cases[0]" <<'EOF'
base: {optimizer: adam, lr: 1.0e-3, betas: [0.9, 0.999], eps: 1.0e-8, weight_decay: 0}
cases:
  - {id: a, spec: {}, expect: pass, reason: the defaults are sound}
  - {id: a, spec: {lr: 1.0}, expect: fail, reason: far too high a rate}
EOF
broken "a case without expect" "cases[0] (a): expect: missing" <<'EOF'
base: {optimizer: adam, lr: 1.0e-3, betas: [0.9, 0.999], eps: 1.0e-8, weight_decay: 0}
cases:
  - {id: a, spec: {}, reason: the defaults are sound}
EOF
broken "a case without reason" "cases[0] (a): reason: missing" <<'EOF'
base: {optimizer: adam, lr: 1.0e-3, betas: [0.9, 0.999], eps: 1.0e-8, weight_decay: 0}
cases:
  - {id: a, spec: {}, expect: pass}
EOF
broken "a file that does not exist" "file: examples/configs/nope.yaml does not exist" <<'EOF'
base: {optimizer: adam, lr: 1.0e-3, betas: [0.9, 0.999], eps: 1.0e-8, weight_decay: 0}
cases:
  - {id: a, file: examples/configs/nope.yaml, expect: pass, reason: a file that is not there}
EOF
broken "an unknown verdict letter" "expect: 'ok' is not one of pass, warn, fail" <<'EOF'
base: {optimizer: adam, lr: 1.0e-3, betas: [0.9, 0.999], eps: 1.0e-8, weight_decay: 0}
cases:
  - {id: a, spec: {}, expect: ok, reason: the defaults are sound}
EOF
broken "a same_as naming no case" "cases[0] (a): same_as: no case 'b'" <<'EOF'
base: {optimizer: adam, lr: 1.0e-3, betas: [0.9, 0.999], eps: 1.0e-8, weight_decay: 0}
cases:
  - {id: a, spec: {}, expect: pass, same_as: b, reason: the defaults are sound}
EOF
broken "a finding on a case that cannot fail" "finding: only checked on a fail" <<'EOF'
base: {optimizer: adam, lr: 1.0e-3, betas: [0.9, 0.999], eps: 1.0e-8, weight_decay: 0}
cases:
  - {id: a, spec: {}, expect: pass, finding: loss_explosion, reason: the defaults are sound}
EOF

# --- 2. the table, on a stand-in runner --------------------------------------
# The stand-in prints a v2 verdict chosen by the config's metadata.name and
# OPENBLAS_CORETYPE; `optreg` is the real one (the matrix loader).
mkdir -p "$tmp/bin"
ln -s "$(cd "$BIN" && pwd)/optreg" "$tmp/bin/optreg"
cat >"$tmp/bin/optreg-runner" <<'EOF'
#!/usr/bin/python3
import json, os, sys
name = json.load(open(sys.argv[-1]))["metadata"]["name"]
core = os.environ.get("OPENBLAS_CORETYPE", "")
named = {"": "Prescott", "Nope": "Cooperlake"}.get(core, core)
def f(crit, sev, showed, of=3, wl="mlp"):
    return {"criterion": crit, "severity": sev, "workload": wl, "step": 2,
            "values": {}, "message": crit, "seeds": {"showed": showed, "of": of}}
def runs(dirty):
    return [{"seed": s, "result": "warn" if s in dirty else "pass",
             "findings": ["loss_spikes"] if s in dirty else []} for s in (1, 2, 3)]
v = {"suite": "fake", "runner_version": "0.2.0", "seeds": [1, 2, 3],
     "device": "cpu: OpenBLAS 0.3.21, %s kernels, 1 thread" % named,
     "workloads": [{"name": "mlp", "result": "pass", "runs": runs([3])}]}
if name == "good":
    v["result"], v["findings"] = "pass", []
    if core and os.environ.get("FAKE_FLIP"):
        v["result"], v["findings"] = "warn", [f("loss_spikes", "warn", [1, 2])]
elif name == "bad":
    v["result"] = "fail"
    v["findings"] = [f("loss_explosion", "fail", [1, 3]), f("loss_spikes", "warn", [1, 2, 3])]
    if core:
        v["findings"].append(f("update_ratio", "warn", [1, 2], wl="lm"))
elif name == "wrong":
    v["result"], v["findings"] = "warn", [f("loss_spikes", "warn", [1, 2, 3])]
elif name == "wrongfinding":
    v["result"], v["findings"] = "fail", [f("no_progress", "fail", [1, 2, 3])]
elif name == "same":
    v["result"], v["findings"] = "warn", [f("loss_spikes", "warn", [1, 2, 3])]
elif name == "v1":
    v = {"suite": "ref-v1", "runner_version": "0.1.0", "result": "fail",
         "device": "cpu: OpenBLAS 0.3.21, %s kernels, 1 thread" % named,
         "workloads": [], "findings": [{"criterion": "loss_explosion",
         "severity": "fail", "workload": "fmnist_mlp", "step": 2,
         "values": {}, "message": "x"}]}
print(json.dumps(v, indent=2))
sys.exit(1 if v["result"] == "fail" else 0)
EOF
chmod +x "$tmp/bin/optreg-runner"
cat >"$tmp/m.yaml" <<'EOF'
base: {optimizer: adam, lr: 1.0e-3, betas: [0.9, 0.999], eps: 1.0e-8, weight_decay: 0}
cases:
  - {id: good, spec: {}, expect: pass, fast: true, reason: the defaults are sound}
  - {id: bad, spec: {lr: 1.0e-1}, expect: fail, finding: loss_explosion, fast: true, reason: 100x the default rate}
  - {id: v1, spec: {lr: 1.0}, expect: fail|warn, finding: loss_explosion, reason: a verdict without seeds}
  - {id: wrong, spec: {lr: 1.0e-4}, expect: pass, reason: a sound rate the stand-in warns about}
  - {id: wrongfinding, spec: {maximize: true}, expect: fail, finding: loss_explosion|non_finite, reason: fails for another reason}
  - {id: same, spec: {lr: 2.0e-3}, expect: pass|warn, same_as: good, reason: must get the same letter as good}
EOF
fake() {
	BIN="$tmp/bin" $PY $CAL --matrix "$tmp/m.yaml" --suite "$tmp/m.yaml" "$@"
}
check "a disagreement exits 1" 1 fake -j 2 --markdown "$tmp/table.md"
contains "the summary counts the agreeing cases" "$tmp/out" "3 of 6 agree"
grep '^good ' "$tmp/out" >"$tmp/row"
contains "a pass shows its clean seeds" "$tmp/row" "2/3 clean"
grep '^bad ' "$tmp/out" >"$tmp/row"
contains "a fail shows the deciding finding's seeds" "$tmp/row" "2/3"
contains "and its counted findings" "$tmp/row" "1F 1W: loss_explosion@mlp"
contains "and agrees" "$tmp/row" " yes"
grep '^v1 ' "$tmp/out" >"$tmp/row"
contains "a verdict without seeds shows -" "$tmp/row" "  -  "
contains "and still agrees" "$tmp/row" " yes"
grep '^wrong ' "$tmp/out" >"$tmp/row"
contains "an unexpected letter disagrees" "$tmp/row" "NO (expected pass)"
grep '^wrongfinding ' "$tmp/out" >"$tmp/row"
contains "a fail without the expected finding disagrees" "$tmp/row" \
	"NO (fails without loss_explosion|non_finite)"
contains "the markdown table has a row per case" "$tmp/table.md" "| wrongfinding | fail | fail |"
grep '^same ' "$tmp/out" >"$tmp/row"
contains "a letter other than the same_as case's disagrees" "$tmp/row" \
	"NO (warn, but good got pass)"
contains "the markdown has the summary" "$tmp/table.md" "3 of 6 agree"

check "the fast subset agrees (exit 0)" 0 fake --subset fast --coretype Haswell --json
$PY - "$tmp/out" >"$tmp/facts" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
want = {"agree": 2, "cases": 2, "coretypes": ["Haswell"],
        "letter_differs": [], "findings_differ": ["bad"]}
bad = ["%s: %r, want %r" % (k, r.get(k), w) for k, w in want.items() if r.get(k) != w]
print("\n".join(bad) or "fine")
EOF
if [ "$(cat "$tmp/facts")" = fine ]; then
	ok "--json: fast subset, findings that differ under a kernel set are listed, letters equal"
else
	not_ok "--json: fast subset, findings that differ under a kernel set are listed, letters equal" "$(cat "$tmp/facts")"
fi
check "a verdict letter that changes with the kernel set exits 1" 1 \
	env FAKE_FLIP=1 BIN="$tmp/bin" $PY $CAL --matrix "$tmp/m.yaml" \
	--suite "$tmp/m.yaml" --case good --coretype Haswell
contains "and is shown" "$tmp/out" "LETTER DIFFERS"
contains "and summarised" "$tmp/out" "DIFFERENT for good"
check "an unknown case in --coretype-subset exits 2" 2 fake --coretype Haswell --coretype-subset good,nope
contains "and is named" "$tmp/err" "no case nope"
check "--coretype-subset with ids re-runs only those" 0 fake --case good --case bad --coretype Haswell --coretype-subset bad
contains "one re-run" "$tmp/out" "(1 re-runs)"
check "a kernel set OpenBLAS did not take exits 2" 2 fake --case good --coretype Nope
contains "and is named" "$tmp/out" "OPENBLAS_CORETYPE=Nope was not taken"

# --- 3. the fast subset on the real runner -----------------------------------
SUITE=${CALIBRATE_SUITE:-runner/suites/ref-v2.yaml}
[ -f "$SUITE" ] || SUITE=runner/suites/ref-v1.yaml
echo "# fast subset on $SUITE"
# The runner pins Haswell's kernels on AVX2 CPUs (runner/main.c). On a CPU
# with AVX-512 the first leg runs with SkylakeX kernels instead, so the two
# legs below are two numeric families (the letter must agree, findings may
# differ).
if grep -q avx512f /proc/cpuinfo; then
	OPENBLAS_CORETYPE=SkylakeX
	export OPENBLAS_CORETYPE
fi
if grep -q avx2 /proc/cpuinfo; then
	check "fast subset agrees on $SUITE, also with Haswell kernels" 0 \
		$PY $CAL --subset fast --suite "$SUITE" --coretype Haswell \
		--coretype-subset ex-adam-constant-1e-3,ex-bad-beta2-0.5
	contains "the letter is the same under both kernel sets" "$tmp/out" \
		"the verdict letter is the same for every case"
	contains "the Haswell runs name their kernel set" "$tmp/out" "Haswell kernels"
else
	check "fast subset agrees on $SUITE" 0 $PY $CAL --subset fast --suite "$SUITE"
	ok "# SKIP no AVX2: the Haswell kernel set cannot run here"
	ok "# SKIP no AVX2: the Haswell kernel set cannot run here"
fi
sed 's/^/# /' "$tmp/out"

echo "1..$n"
