#!/bin/sh
# tests/cli/cli_test.sh: the optreg CLI as CI and people use it: help,
# canonicalize, digest and lint, their output formats and exit statuses.
# Prints TAP. Needs BIN (default bin).
set -u
BIN=${BIN:-bin}
OPTREG="$BIN/optreg"
DATA=tests/cli/data
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optreg-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	failed=1
	echo "not ok $n - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/# /'
	return 0
}
# check DESC EXPECTED_STATUS COMMAND...: runs COMMAND, output in $tmp/out,
# $tmp/err; passes when the exit status is EXPECTED_STATUS.
check() {
	desc=$1 want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc" "exit status $got, want $want; stderr: $(head -c 600 "$tmp/err")"
	fi
}
# contains DESC FILE TEXT: FILE contains TEXT literally.
contains() {
	if grep -qF -- "$3" "$2"; then
		ok "$1"
	else
		not_ok "$1" "no \"$3\" in: $(head -c 600 "$2")"
	fi
}


yaml=examples/configs/bert-base-finetune.yaml
json=$DATA/bert-base-finetune.json

check "optreg --help exits 0" 0 "$OPTREG" --help
contains "optreg --help lists lint" "$tmp/out" "lint"
for c in canonicalize digest lint; do
	check "optreg $c --help exits 0" 0 "$OPTREG" "$c" --help
	contains "optreg $c --help shows usage" "$tmp/out" "usage: optreg $c"
done
check "no command is a usage error" 2 "$OPTREG"
check "unknown command is a usage error" 2 "$OPTREG" frobnicate
contains "unknown command is named" "$tmp/err" 'unknown command "frobnicate"'

check "canonicalize YAML" 0 "$OPTREG" canonicalize "$yaml"
cp "$tmp/out" "$tmp/yaml.canon"
check "canonicalize JSON twin" 0 "$OPTREG" canonicalize "$json"
if cmp -s "$tmp/out" "$tmp/yaml.canon"; then
	ok "YAML and JSON of one config canonicalize to the same bytes"
else
	not_ok "YAML and JSON of one config canonicalize to the same bytes" \
		"$(cat "$tmp/yaml.canon"; echo; cat "$tmp/out")"
fi
contains "canonical form sorts keys and shortens numbers" "$tmp/out" \
	'{"apiVersion":"optreg/v1","kind":"OptimizerConfig","metadata":{"description":"fine-tune recipe for GLUE","labels":{"model":"bert-base","task":"glue"}'

d_yaml=$("$OPTREG" digest "$yaml")
d_json=$("$OPTREG" digest "$json")
d_ref="sha256:$(sha256sum <"$tmp/yaml.canon" | cut -d' ' -f1)"
if [ "$d_yaml" = "$d_ref" ]; then
	ok "digest is the SHA-256 of the canonical bytes (sha256sum)"
else
	not_ok "digest is the SHA-256 of the canonical bytes (sha256sum)" "$d_yaml vs $d_ref"
fi
if [ "$d_yaml" = "$d_json" ]; then
	ok "YAML and JSON of one config have one digest"
else
	not_ok "YAML and JSON of one config have one digest" "$d_yaml vs $d_json"
fi
check "canonicalize reads standard input" 0 sh -c "\"$OPTREG\" canonicalize - <\"$json\""
if cmp -s "$tmp/out" "$tmp/yaml.canon"; then ok "stdin gives the same bytes"; else not_ok "stdin gives the same bytes"; fi

printf '{"a":1,"a":2}' >"$tmp/dup.json"
check "canonicalize refuses duplicate keys" 1 "$OPTREG" canonicalize "$tmp/dup.json"
contains "duplicate key error names the key" "$tmp/err" '"a"'

check "lint accepts a valid config" 0 "$OPTREG" lint "$yaml" examples/configs/resnet50-adam.json
contains "lint prints ok with the digest" "$tmp/out" "$yaml: ok ($d_yaml)"
check "lint refuses an invalid config" 1 "$OPTREG" lint "$DATA/bad-betas.yaml"
contains "lint error has file:line:col: path: message" "$tmp/err" \
	"$DATA/bad-betas.yaml:7:16: spec.betas[1]: must be less than 1 (got 1)"
check "lint --format json" 1 "$OPTREG" lint --format json "$DATA/bad-betas.yaml"
if /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
e = d["errors"][0]
assert d["valid"] is False and e["path"] == "spec.betas[1]" and e["rule"] == "exclusive_maximum"
assert e["layer"] == "schema" and e["line"] == 7 and e["col"] == 16
' "$tmp/out" 2>"$tmp/py"; then
	ok "lint --format json reports path, rule, layer, line, col"
else
	not_ok "lint --format json reports path, rule, layer, line, col" "$(cat "$tmp/out" "$tmp/py")"
fi
check "lint --format github" 1 "$OPTREG" lint --format=github "$DATA/bad-betas.yaml"
contains "github annotation" "$tmp/out" \
	"::error file=$DATA/bad-betas.yaml,line=7,col=16,title=exclusive_maximum::spec.betas[1]: must be less than 1 (got 1)"
check "lint of a missing file exits 3" 3 "$OPTREG" lint "$tmp/missing.yaml"
check "lint with a bad --format is a usage error" 2 "$OPTREG" lint --format xml "$yaml"
echo "1..$n"
exit $failed
