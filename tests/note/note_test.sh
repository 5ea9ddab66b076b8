#!/bin/sh
# tests/note/note_test.sh: the checkpoints common/note.c signs open in
# verifiers we did not write, and notes they sign open in ours.
#
#   Go's golang.org/x/mod/sumdb/note and sumdb/tlog (Debian's golang-go and
#   golang-golang-x-mod-dev), through tests/note/gonote.go, built offline
#   with GO111MODULE=off against /usr/share/gocode
#   python3-nacl (libsodium) with hashlib: the note split, key hash and
#   verifier key string recomputed here from the spec, c2sp.org/signed-note
#
# Our side is tests/note/mknote.c, compiled against common/. Both helpers
# are built into $BUILD/tests/note and rebuilt only when their sources
# change. Tampered notes and wrong keys must fail everywhere. Prints TAP;
# run from the repository root.
set -u
BUILD=${BUILD:-build/release}
PY=/usr/bin/python3
dir="$BUILD/tests/note"
MKNOTE="$dir/mknote"
GONOTE="$dir/gonote"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optreg-note.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$dir"
case $dir in
/*) gocache="$dir/gocache" ;;
*) gocache="$PWD/$dir/gocache" ;;
esac
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
# check DESC COMMAND...: passes when COMMAND succeeds; output in $tmp/out.
check() {
	desc=$1
	shift
	if "$@" >"$tmp/out" 2>"$tmp/err"; then
		ok "$desc"
	else
		not_ok "$desc" "exit status $?: $(head -c 600 "$tmp/err")"
	fi
}
# fails DESC COMMAND...: passes when COMMAND refuses, which all the tools
# here say with exit status 1 (not 126/127 for a missing program, 2 for a
# Go panic or bad usage).
fails() {
	desc=$1
	shift
	"$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" = 1 ]; then
		ok "$desc"
	else
		not_ok "$desc" "exit status $got, want 1: $(head -c 400 "$tmp/out")"
	fi
}
# same DESC FILE_A FILE_B: the files hold the same bytes, and some.
same() {
	if [ -s "$3" ] && cmp -s "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1" "got: $(head -c 400 "$2"); want: $(head -c 400 "$3")"
	fi
}
# stale TARGET SOURCE...: true when TARGET is missing or older than a source.
stale() {
	target=$1
	shift
	[ -x "$target" ] || return 0
	[ -n "$(find "$@" -newer "$target" 2>/dev/null)" ]
}

# --- build the helpers -------------------------------------------------

srcs="tests/note/mknote.c common/note.c common/sign.c common/dsse.c common/base64.c
common/buf.c common/error.c common/hash.c common/jsonutil.c"
hdrs="common/note.h common/sign.h common/dsse.h common/base64.h common/buf.h common/error.h
common/alloc.h common/hash.h common/jsonutil.h common/media.h"
# shellcheck disable=SC2086
if stale "$MKNOTE" $srcs $hdrs; then
	libs=$(pkg-config --cflags --libs jansson libcrypto 2>/dev/null ||
		echo "-ljansson -lcrypto")
	# shellcheck disable=SC2086
	if cc -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		-Wformat=2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I. \
		-O1 -o "$MKNOTE.tmp.$$" $srcs $libs 2>"$tmp/cc.err" &&
		mv -f "$MKNOTE.tmp.$$" "$MKNOTE"; then
		ok "mknote builds"
	else
		not_ok "mknote builds" "$(head -c 2000 "$tmp/cc.err")"
		rm -f "$MKNOTE.tmp.$$"
	fi
else
	ok "mknote builds (cached)"
fi

# Go, offline: GOPATH mode over Debian's /usr/share/gocode, our own cache.
have_go=""
gosrc=/usr/share/gocode/src/golang.org/x/mod/sumdb/note/note.go
if ! command -v go >/dev/null 2>&1 || [ ! -f "$gosrc" ]; then
	why="needs golang-go and golang-golang-x-mod-dev (scripts/bootstrap)"
	skip "gonote builds" "$why"
elif stale "$GONOTE" tests/note/gonote.go "$gosrc"; then
	if env GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOENV=off \
		GOPROXY=off GOTOOLCHAIN=local GOCACHE="$gocache" \
		go build -o "$GONOTE.tmp.$$" tests/note/gonote.go \
		>"$tmp/go.err" 2>&1 && mv -f "$GONOTE.tmp.$$" "$GONOTE"; then
		ok "gonote builds"
		have_go=1
	else
		not_ok "gonote builds" "$(head -c 2000 "$tmp/go.err")"
		rm -f "$GONOTE.tmp.$$"
	fi
else
	ok "gonote builds (cached)"
	have_go=1
fi

# go_check DESC COMMAND... / go_fails DESC COMMAND...: skipped without Go.
go_check() {
	if [ -n "$have_go" ]; then check "$@"; else skip "$1" "no Go"; fi
}
go_fails() {
	if [ -n "$have_go" ]; then fails "$@"; else skip "$1" "no Go"; fi
}
go_same() {
	if [ -n "$have_go" ]; then same "$@"; else skip "$1" "no Go"; fi
}

# pycheck NOTE KEY.pem NAME [VKEY]: verifies NOTE with python3-nacl, as the
# spec says, independently of our code; prints the text. With VKEY, also
# checks that it is the sumdb verifier key of NAME and the key.
# shellcheck disable=SC2317 # called through check and fails
pycheck() {
	"$PY" - "$@" <<'EOF'
import base64, hashlib, subprocess, sys
import nacl.exceptions, nacl.signing

note_file, pem, name = sys.argv[1:4]
vkey = sys.argv[4] if len(sys.argv) > 4 else None
der = subprocess.run(["openssl", "pkey", "-in", pem, "-pubout", "-outform",
                      "DER"], check=True, capture_output=True).stdout
assert der[:12] == bytes.fromhex("302a300506032b6570032100") and len(der) == 44
pub = der[12:]
key_id = hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4]
if vkey is not None:
    want = "%s+%s+%s" % (name, key_id.hex(),
                         base64.b64encode(b"\x01" + pub).decode())
    if vkey != want:
        sys.exit("verifier key %s, want %s" % (vkey, want))

msg = open(note_file, "rb").read()
msg.decode("utf-8")
if any(b < 0x20 and b != 0x0A for b in msg):
    sys.exit("control character")
split = msg.rfind(b"\n\n")
if split < 0:
    sys.exit("no blank line")
text, sigs = msg[:split + 1], msg[split + 2:]
if not sigs.endswith(b"\n"):
    sys.exit("no final newline")
good = 0
for line in sigs[:-1].split(b"\n"):
    dash = "\u2014 ".encode()
    if not line.startswith(dash):
        sys.exit("bad signature line %r" % line)
    sname, _, b64 = line[len(dash):].decode().partition(" ")
    raw = base64.b64decode(b64, validate=True)
    if sname != name or raw[:4] != key_id:
        continue
    try:
        nacl.signing.VerifyKey(pub).verify(text, raw[4:])
    except nacl.exceptions.BadSignatureError:
        sys.exit("bad signature")
    good += 1
if not good:
    sys.exit("no signature by %s+%s" % (name, key_id.hex()))
sys.stdout.buffer.write(text)
EOF
}

# --- our checkpoints, their verifiers ---------------------------------

openssl genpkey -algorithm ed25519 -out "$tmp/k.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$tmp/other.pem" 2>/dev/null
name=optreg.test/log
root=$(openssl rand -hex 32)
size=4711
printf '%s\n%s\n%s\n' "$name" "$size" "$root" >"$tmp/fields"

check "mknote prints the verifier key" "$MKNOTE" vkey "$tmp/k.pem" "$name"
vkey=$(cat "$tmp/out")
"$MKNOTE" vkey "$tmp/other.pem" "$name" >"$tmp/other.vkey" 2>/dev/null
other_vkey=$(cat "$tmp/other.vkey")
check "mknote signs a checkpoint" \
	"$MKNOTE" checkpoint "$tmp/k.pem" "$name" "$name" "$size" "$root"
cp "$tmp/out" "$tmp/cp.note"

go_check "sumdb/note opens our checkpoint" \
	"$GONOTE" checkpoint "$vkey" "$tmp/cp.note"
go_same "sumdb/note reads our origin, size and root" "$tmp/out" "$tmp/fields"
check "python3-nacl checks our checkpoint and verifier key" \
	pycheck "$tmp/cp.note" "$tmp/k.pem" "$name" "$vkey"
head -n 3 "$tmp/cp.note" >"$tmp/cp.text"
same "python3-nacl returns the checkpoint text" "$tmp/out" "$tmp/cp.text"

# The body is byte for byte what Go's checksum database writes.
check "mknote signs a go.sum database tree" \
	"$MKNOTE" checkpoint "$tmp/k.pem" "$name" "go.sum database tree" \
	9223372036854775807 "$root"
cp "$tmp/out" "$tmp/gosum.note"
go_check "sumdb/tlog.ParseTree and FormatTree agree with our body" \
	"$GONOTE" checkpoint "$vkey" "$tmp/gosum.note"
check "mknote signs a checkpoint of size 2^64-1" \
	"$MKNOTE" checkpoint "$tmp/k.pem" "$name" "$name" \
	18446744073709551615 "$root"
cp "$tmp/out" "$tmp/max.note"
go_check "sumdb/note opens the 2^64-1 checkpoint" \
	"$GONOTE" checkpoint "$vkey" "$tmp/max.note"

# Tampering: another size in the text, a changed signature byte, a
# dropped blank line, another key under the same name.
sed '2s/4711/4712/' "$tmp/cp.note" >"$tmp/size.note"
go_fails "sumdb/note refuses a changed tree size" \
	"$GONOTE" open "$vkey" "$tmp/size.note"
fails "python3-nacl refuses a changed tree size" \
	pycheck "$tmp/size.note" "$tmp/k.pem" "$name"
# The 20th base64 character of the signature: in the signature proper.
"$PY" - "$tmp/cp.note" "$tmp/sig.note" <<'EOF'
import sys
msg = open(sys.argv[1], "rb").read()
i = msg.rindex(b" ") + 20
c = b"B" if msg[i:i + 1] == b"A" else b"A"
open(sys.argv[2], "wb").write(msg[:i] + c + msg[i + 1:])
EOF
go_fails "sumdb/note refuses a changed signature" \
	"$GONOTE" open "$vkey" "$tmp/sig.note"
fails "python3-nacl refuses a changed signature" \
	pycheck "$tmp/sig.note" "$tmp/k.pem" "$name"
sed '4d' "$tmp/cp.note" >"$tmp/noblank.note"
go_fails "sumdb/note refuses a note without its blank line" \
	"$GONOTE" open "$vkey" "$tmp/noblank.note"
go_fails "sumdb/note refuses another key under the same name" \
	"$GONOTE" open "$other_vkey" "$tmp/cp.note"
fails "python3-nacl refuses another key under the same name" \
	pycheck "$tmp/cp.note" "$tmp/other.pem" "$name"

# --- their notes, our verifier ----------------------------------------

check "mknote opens its own checkpoint by the verifier key" \
	"$MKNOTE" open "$vkey" "$tmp/cp.note"
same "mknote returns the checkpoint text" "$tmp/out" "$tmp/cp.text"
fails "mknote refuses the changed signature" \
	"$MKNOTE" open "$vkey" "$tmp/sig.note"

if [ -n "$have_go" ]; then
	"$GONOTE" gen go.test/log >"$tmp/gokey" 2>"$tmp/err"
	"$GONOTE" gen go.test/log >"$tmp/gokey2" 2>>"$tmp/err"
fi
go_skey=$(sed -n 1p "$tmp/gokey" 2>/dev/null)
go_vkey=$(sed -n 2p "$tmp/gokey" 2>/dev/null)
go_vkey2=$(sed -n 2p "$tmp/gokey2" 2>/dev/null)
printf 'go.test/log\n12\n%s\nan extension line\n' \
	"$(printf '%s' "$root" | "$PY" -c \
		'import base64,sys; print(base64.b64encode(bytes.fromhex(sys.stdin.read())).decode())')" \
	>"$tmp/go.text"
go_check "sumdb/note signs a checkpoint" \
	"$GONOTE" sign "$go_skey" "$tmp/go.text"
cp "$tmp/out" "$tmp/go.note"
go_check "mknote opens the note Go signed, with Go's verifier key" \
	"$MKNOTE" open "$go_vkey" "$tmp/go.note"
go_same "mknote returns the text Go signed" "$tmp/out" "$tmp/go.text"
sed '2s/12/13/' "$tmp/go.note" >"$tmp/go-size.note"
go_fails "mknote refuses the Go note with a changed size" \
	"$MKNOTE" open "$go_vkey" "$tmp/go-size.note"
go_fails "mknote refuses the Go note under another Go key" \
	"$MKNOTE" open "$go_vkey2" "$tmp/go.note"

echo "1..$n"
exit $failed
