#!/bin/sh
# tests/crypto/outside_test.sh: what `optreg sign` makes verifies with tools
# we did not write, and what they sign `optreg verify` accepts.
#
#   openssl pkeyutl -verify -rawin    (OpenSSL's own Ed25519 over PAE bytes)
#   python3-nacl                      (libsodium; VerifyKey over the raw key)
#   python3-securesystemslib 0.26     (SSlibKey.verify_signature)
#
# The PAE is built here with printf from the decoded envelope, not by our
# code; JSON and base64 are decoded with Python's standard library. Tampered
# payloads and signatures must fail in every tool. Prints TAP. Needs BIN
# (default bin); run from the repository root.
set -u
BIN=${BIN:-bin}
OPTREG="$BIN/optreg"
PY=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optreg-crypto.XXXXXX")
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
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}
# check DESC EXPECTED_STATUS COMMAND...: output in $tmp/out and $tmp/err.
check() {
	desc=$1 want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc" "exit status $got, want $want; stdout: $(head -c 400 "$tmp/out"); stderr: $(head -c 600 "$tmp/err")"
	fi
}
# fails DESC COMMAND...: passes when COMMAND exits non-zero.
fails() {
	desc=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		not_ok "$desc" "it succeeded: $(head -c 400 "$tmp/out")"
	else
		ok "$desc"
	fi
}
# same DESC A B: the strings are equal.
same() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "got \"$2\", want \"$3\""
	fi
}

# unpack ENVELOPE I PREFIX: writes PREFIX.type (no newline), PREFIX.payload,
# PREFIX.sig and PREFIX.keyid (signature I) from the envelope's JSON.
unpack() {
	"$PY" - "$1" "$2" "$3" <<'EOF'
import base64, json, sys
env = json.load(open(sys.argv[1]))
i, prefix = int(sys.argv[2]), sys.argv[3]
def b64(s):
    # Standard or URL-safe, padded or not, as DSSE allows.
    s = s.replace("-", "+").replace("_", "/")
    return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
open(prefix + ".type", "wb").write(env["payloadType"].encode())
open(prefix + ".payload", "wb").write(b64(env["payload"]))
open(prefix + ".sig", "wb").write(b64(env["signatures"][i]["sig"]))
open(prefix + ".keyid", "w").write(env["signatures"][i].get("keyid", ""))
EOF
}

# pae TYPEFILE PAYLOADFILE OUT: DSSEv1 SP LEN(type) SP type SP LEN(body) SP
# body, lengths in decimal bytes.
pae() {
	tlen=$(wc -c <"$1" | tr -d ' ')
	blen=$(wc -c <"$2" | tr -d ' ')
	{
		printf 'DSSEv1 %s ' "$tlen"
		cat "$1"
		printf ' %s ' "$blen"
		cat "$2"
	} >"$3"
}

# Each verifier prints "Signature Verified Successfully" or "Signature
# Verification Failure" (openssl's words), so that a verifier that breaks
# for another reason (a traceback, a usage error) never counts as refusing.

# nacl_verify PUBPEM PAE SIG: libsodium's verdict.
nacl_verify() {
	"$PY" - "$@" <<'EOF'
import subprocess, sys
import nacl.exceptions, nacl.signing
der = subprocess.run(["openssl", "pkey", "-pubin", "-in", sys.argv[1],
                      "-outform", "DER"], check=True,
                     capture_output=True).stdout
# Ed25519 SPKI (RFC 8410): a fixed 12-byte header, then the raw key.
assert der[:12] == bytes.fromhex("302a300506032b6570032100"), der.hex()
key = nacl.signing.VerifyKey(der[12:])
try:
    key.verify(open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read())
    print("Signature Verified Successfully")
except nacl.exceptions.BadSignatureError:
    print("Signature Verification Failure")
EOF
}

# sslib_verify PUBPEM PAE SIG KEYID: securesystemslib's verdict.
sslib_verify() {
	"$PY" - "$@" <<'EOF'
import subprocess, sys
from securesystemslib import exceptions
from securesystemslib.signer import Signature, SSlibKey
der = subprocess.run(["openssl", "pkey", "-pubin", "-in", sys.argv[1],
                      "-outform", "DER"], check=True,
                     capture_output=True).stdout
keyid = sys.argv[4]
key = SSlibKey(keyid, "ed25519", "ed25519", {"public": der[12:].hex()})
sig = Signature(keyid, open(sys.argv[3], "rb").read().hex())
try:
    key.verify_signature(sig, open(sys.argv[2], "rb").read())
    print("Signature Verified Successfully")
except exceptions.UnverifiedSignatureError:
    print("Signature Verification Failure")
EOF
}

ossl_verify() {
	openssl pkeyutl -verify -pubin -inkey "$1" -rawin -in "$2" \
		-sigfile "$3"
}

have_nacl=0
"$PY" -c 'import nacl.signing' 2>/dev/null && have_nacl=1
have_sslib=0
"$PY" -c 'from securesystemslib.signer import SSlibKey' 2>/dev/null &&
	have_sslib=1

# every_tool DESC WANT PUBPEM PAE SIG KEYID: WANT "accept" or "refuse".
every_tool() {
	desc=$1 want=$2
	shift 2
	for tool in openssl nacl sslib; do
		case $tool in
		nacl) [ $have_nacl = 1 ] || {
			skip "$desc ($tool)" "python3-nacl not installed"
			continue
		} ;;
		sslib) [ $have_sslib = 1 ] || {
			skip "$desc ($tool)" "python3-securesystemslib not installed"
			continue
		} ;;
		esac
		case $tool in
		openssl) ossl_verify "$1" "$2" "$3" >"$tmp/out" 2>&1 ;;
		nacl) nacl_verify "$1" "$2" "$3" >"$tmp/out" 2>&1 ;;
		sslib) sslib_verify "$1" "$2" "$3" "$4" >"$tmp/out" 2>&1 ;;
		esac
		got=$?
		# openssl exits 1 on a bad signature; our Python helpers 0.
		word="Signature Verified Successfully" wantrc=0
		if [ "$want" = refuse ]; then
			word="Signature Verification Failure"
			[ $tool = openssl ] && wantrc=1
		fi
		if [ $got = "$wantrc" ] && grep -qx "$word" "$tmp/out"; then
			ok "$desc ($tool)"
		else
			not_ok "$desc ($tool)" "exit status $got: $(head -c 600 "$tmp/out")"
		fi
	done
}

yaml=examples/configs/bert-base-finetune.yaml
k=$tmp/k

# ---- Keys ------------------------------------------------------------------

check "keygen writes a pair" 0 "$OPTREG" keygen --out "$k"
id=$(cat "$tmp/out")
case $id in
*[!0-9a-f]* | "") not_ok "keygen prints a key id" "got \"$id\"" ;;
*) same "keygen prints a 64-hex key id" "${#id}" 64 ;;
esac
same "the private key is mode 0600" "$(stat -c %a "$k.pem")" 600
same "the public key is mode 0644" "$(stat -c %a "$k.pub.pem")" 644
same "openssl reads the private key as ED25519 PKCS#8" \
	"$(openssl pkey -in "$k.pem" -noout -text 2>&1 | head -n 1)" \
	"ED25519 Private-Key:"
same "openssl derives the same public key" \
	"$(openssl pkey -in "$k.pem" -pubout)" "$(cat "$k.pub.pem")"
ossl_id=$(openssl pkey -pubin -in "$k.pub.pem" -outform DER | sha256sum |
	cut -d ' ' -f 1)
same "the key id is sha256 of the SPKI DER (openssl, sha256sum)" "$id" \
	"$ossl_id"
check "keygen refuses to overwrite" 3 "$OPTREG" keygen --out "$k"
check "keygen for a second key" 0 "$OPTREG" keygen --out "$tmp/k2"
id2=$(cat "$tmp/out")

# ---- Sign with optreg, verify elsewhere -----------------------------------

check "sign writes an envelope" 0 "$OPTREG" sign "$yaml" --key "$k.pem" \
	--out "$tmp/env.json"
unpack "$tmp/env.json" 0 "$tmp/e"
same "payloadType" "$(cat "$tmp/e.type")" \
	"application/vnd.optreg.config.v1+json"
same "the envelope's keyid is openssl's sha256 of the SPKI DER" \
	"$(cat "$tmp/e.keyid")" "$ossl_id"
"$OPTREG" canonicalize "$yaml" >"$tmp/canon"
if cmp -s "$tmp/canon" "$tmp/e.payload"; then
	ok "the payload is the config's canonical JSON"
else
	not_ok "the payload is the config's canonical JSON"
fi
same "the signature is 64 bytes" "$(wc -c <"$tmp/e.sig" | tr -d ' ')" 64
if [ "$(wc -l <"$tmp/env.json" | tr -d ' ')" = 1 ]; then
	ok "the envelope is one line"
else
	not_ok "the envelope is one line"
fi
pae "$tmp/e.type" "$tmp/e.payload" "$tmp/pae.bin"
every_tool "the signature verifies" accept "$k.pub.pem" "$tmp/pae.bin" \
	"$tmp/e.sig" "$ossl_id"
every_tool "another key does not verify it" refuse "$tmp/k2.pub.pem" \
	"$tmp/pae.bin" "$tmp/e.sig" "$id2"

# One byte of the payload changed ("team-nlp" -> "team-nlq"), PAE rebuilt.
"$PY" - "$tmp/e.payload" "$tmp/t.payload" <<'EOF'
import sys
p = open(sys.argv[1], "rb").read()
assert p.count(b'"team-nlp"') == 1
open(sys.argv[2], "wb").write(p.replace(b'"team-nlp"', b'"team-nlq"'))
EOF
pae "$tmp/e.type" "$tmp/t.payload" "$tmp/tpae.bin"
every_tool "a tampered payload fails" refuse "$k.pub.pem" "$tmp/tpae.bin" \
	"$tmp/e.sig" "$ossl_id"
# One bit of the signature flipped.
"$PY" -c 'import sys; s = bytearray(open(sys.argv[1], "rb").read()); s[5] ^= 1; open(sys.argv[2], "wb").write(s)' \
	"$tmp/e.sig" "$tmp/t.sig"
every_tool "a tampered signature fails" refuse "$k.pub.pem" "$tmp/pae.bin" \
	"$tmp/t.sig" "$ossl_id"

# ---- optreg verify --------------------------------------------------------

check "verify accepts the envelope" 0 "$OPTREG" verify "$tmp/env.json" \
	--key "$k.pub.pem"
same "verify prints the key as valid" "$(cat "$tmp/out")" "$id: valid"
check "verify with another key fails" 1 "$OPTREG" verify "$tmp/env.json" \
	--key "$tmp/k2.pub.pem"
same "verify names the key it lacks" "$(cat "$tmp/out")" \
	"$id: no key given for this id"

# The tampered payload in an envelope with the original signature.
"$PY" - "$tmp/env.json" "$tmp/t.payload" "$tmp/tenv.json" <<'EOF'
import base64, json, sys
env = json.load(open(sys.argv[1]))
env["payload"] = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
json.dump(env, open(sys.argv[3], "w"))
EOF
check "verify refuses a tampered payload" 1 "$OPTREG" verify \
	"$tmp/tenv.json" --key "$k.pub.pem"
same "verify says bad signature" "$(cat "$tmp/out")" "$id: bad signature"

# URL-safe, unpadded base64 (as other DSSE tools may write) is accepted.
"$PY" - "$tmp/env.json" "$tmp/uenv.json" <<'EOF'
import base64, json, sys
env = json.load(open(sys.argv[1]))
def url(s):
    return base64.urlsafe_b64encode(base64.b64decode(s)).decode().rstrip("=")
env["payload"] = url(env["payload"])
for s in env["signatures"]:
    s["sig"] = url(s["sig"])
json.dump(env, open(sys.argv[2], "w"), indent=2)
EOF
check "verify accepts URL-safe base64" 0 "$OPTREG" verify "$tmp/uenv.json" \
	--key "$k.pub.pem"

# ---- A second signature (thresholds) --------------------------------------

check "sign adds a second signature to an envelope" 0 "$OPTREG" sign \
	"$tmp/env.json" --key "$tmp/k2.pem" --out "$tmp/env2.json"
unpack "$tmp/env2.json" 1 "$tmp/s"
same "the second signature carries the second key's id" \
	"$(cat "$tmp/s.keyid")" "$id2"
if cmp -s "$tmp/s.payload" "$tmp/e.payload"; then
	ok "the payload is unchanged"
else
	not_ok "the payload is unchanged"
fi
every_tool "the second signature verifies" accept "$tmp/k2.pub.pem" \
	"$tmp/pae.bin" "$tmp/s.sig" "$id2"
unpack "$tmp/env2.json" 0 "$tmp/f"
if cmp -s "$tmp/f.sig" "$tmp/e.sig"; then
	ok "the first signature is kept"
else
	not_ok "the first signature is kept"
fi
check "verify --threshold 2 with both keys" 0 "$OPTREG" verify \
	"$tmp/env2.json" --key "$k.pub.pem" --key "$tmp/k2.pub.pem" \
	--threshold 2
check "verify --threshold 2 with one key fails" 1 "$OPTREG" verify \
	"$tmp/env2.json" --key "$k.pub.pem" --threshold 2
check "verify --threshold 2 of one key twice fails" 1 "$OPTREG" verify \
	"$tmp/env.json" --key "$k.pub.pem" --key "$k.pub.pem" --threshold 2

# ---- Keys and signatures from openssl, used by optreg ---------------------

openssl genpkey -algorithm ED25519 -out "$tmp/o.pem" 2>/dev/null
openssl pkey -in "$tmp/o.pem" -pubout -out "$tmp/o.pub.pem"
oid=$(openssl pkey -pubin -in "$tmp/o.pub.pem" -outform DER | sha256sum |
	cut -d ' ' -f 1)
check "sign with an openssl-made key" 0 "$OPTREG" sign "$yaml" \
	--key "$tmp/o.pem" --out "$tmp/oenv.json"
unpack "$tmp/oenv.json" 0 "$tmp/o"
same "its keyid is openssl's" "$(cat "$tmp/o.keyid")" "$oid"
fails "openssl refuses it under our first key" ossl_verify "$k.pub.pem" \
	"$tmp/pae.bin" "$tmp/o.sig"
check "openssl verifies it" 0 ossl_verify "$tmp/o.pub.pem" "$tmp/pae.bin" \
	"$tmp/o.sig"

# openssl signs the PAE with our key; optreg verify accepts the envelope.
openssl pkeyutl -sign -inkey "$k.pem" -rawin -in "$tmp/pae.bin" \
	-out "$tmp/x.sig"
"$PY" - "$tmp/env.json" "$tmp/x.sig" "$tmp/xenv.json" <<'EOF'
import base64, json, sys
env = json.load(open(sys.argv[1]))
sig = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
env["signatures"] = [{"keyid": env["signatures"][0]["keyid"], "sig": sig}]
json.dump(env, open(sys.argv[3], "w"))
EOF
check "verify accepts a signature openssl made" 0 "$OPTREG" verify \
	"$tmp/xenv.json" --key "$k.pub.pem"

# A payload that is not canonical, signed correctly (by openssl): the
# signature is valid, the envelope is still refused, as the registry would.
"$PY" - "$tmp/e.payload" "$tmp/nc.payload" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
open(sys.argv[2], "w").write(json.dumps(doc, indent=2))
EOF
pae "$tmp/e.type" "$tmp/nc.payload" "$tmp/ncpae.bin"
openssl pkeyutl -sign -inkey "$k.pem" -rawin -in "$tmp/ncpae.bin" \
	-out "$tmp/nc.sig"
"$PY" - "$tmp/env.json" "$tmp/nc.payload" "$tmp/nc.sig" "$tmp/ncenv.json" <<'EOF'
import base64, json, sys
env = json.load(open(sys.argv[1]))
env["payload"] = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
env["signatures"][0]["sig"] = base64.b64encode(
    open(sys.argv[3], "rb").read()).decode()
json.dump(env, open(sys.argv[4], "w"))
EOF
check "verify refuses a validly signed non-canonical payload" 1 \
	"$OPTREG" verify "$tmp/ncenv.json" --key "$k.pub.pem"
same "... whose signature it reports valid" "$(cat "$tmp/out")" "$id: valid"
if grep -q "not in RFC 8785 canonical form" "$tmp/err"; then
	ok "... and says the payload is not canonical"
else
	not_ok "... and says the payload is not canonical" "$(cat "$tmp/err")"
fi
check "sign refuses to add a signature to it" 1 "$OPTREG" sign \
	"$tmp/ncenv.json" --key "$tmp/k2.pem"

# ---- Usage and refusals ---------------------------------------------------

for c in keygen sign verify; do
	check "optreg $c --help exits 0" 0 "$OPTREG" "$c" --help
	if grep -q "^usage: optreg $c" "$tmp/out"; then
		ok "optreg $c --help shows usage"
	else
		not_ok "optreg $c --help shows usage"
	fi
done
check "keygen without --out" 2 "$OPTREG" keygen
check "sign without a key" 2 env -u OPTREG_KEY "$OPTREG" sign "$yaml"
check "sign takes the key from OPTREG_KEY, and - for stdin" 0 \
	env OPTREG_KEY="$k.pem" "$OPTREG" sign - <"$yaml"
if cmp -s "$tmp/out" "$tmp/env.json"; then
	ok "... giving the same envelope (Ed25519 is deterministic)"
else
	not_ok "... giving the same envelope (Ed25519 is deterministic)"
fi
check "sign with a public key" 2 "$OPTREG" sign "$yaml" --key "$k.pub.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$tmp/ec.pem" 2>/dev/null
check "sign with an EC key" 2 "$OPTREG" sign "$yaml" --key "$tmp/ec.pem"
if grep -qF "key must be Ed25519 (got EC)" "$tmp/err"; then
	ok "... names the key type"
else
	not_ok "... names the key type" "$(cat "$tmp/err")"
fi
check "sign with a missing key file" 3 "$OPTREG" sign "$yaml" \
	--key "$tmp/none.pem"
printf 'apiVersion: optreg/v1\nkind: OptimizerConfig\n' >"$tmp/bad.yaml"
check "sign refuses an invalid config" 1 "$OPTREG" sign "$tmp/bad.yaml" \
	--key "$k.pem" --out "$tmp/bad.json"
if [ -e "$tmp/bad.json" ]; then
	not_ok "... and writes nothing"
else
	ok "... and writes nothing"
fi
check "verify with an EC key" 2 "$OPTREG" verify "$tmp/env.json" \
	--key "$tmp/ec.pem"
check "verify without --key" 2 "$OPTREG" verify "$tmp/env.json"
check "verify --threshold 0" 2 "$OPTREG" verify "$tmp/env.json" \
	--key "$k.pub.pem" --threshold 0
check "verify a missing file" 3 "$OPTREG" verify "$tmp/none.json" \
	--key "$k.pub.pem"
printf '{"payloadType":"text/plain","payload":"aGk=","signatures":[]}' \
	>"$tmp/other.json"
check "verify refuses another payloadType" 1 "$OPTREG" verify \
	"$tmp/other.json" --key "$k.pub.pem"
printf '{"payloadType":' >"$tmp/broken.json"
check "verify refuses broken JSON" 1 "$OPTREG" verify "$tmp/broken.json" \
	--key "$k.pub.pem"
cp "$tmp/env.json" "$tmp/again.json"
check "sign --out may be the input; the same key again changes nothing" 0 \
	"$OPTREG" sign "$tmp/again.json" --key "$k.pem" --out "$tmp/again.json"
if cmp -s "$tmp/again.json" "$tmp/env.json"; then
	ok "... the envelope is unchanged"
else
	not_ok "... the envelope is unchanged"
fi

echo "1..$n"
exit $failed
