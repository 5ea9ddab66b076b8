// tests/note/gonote.go: Go's golang.org/x/mod/sumdb/note (Debian's
// golang-golang-x-mod-dev) on the command line, so tests/note/note_test.sh
// can check optreg's signed notes with a verifier we did not write, and
// give optreg notes that Go signed.
//
//	gonote open VKEY NOTE        note.Open; prints the text
//	gonote checkpoint VKEY NOTE  note.Open, then the checkpoint lines:
//	                             prints origin, size and hex root, one a
//	                             line; an origin of "go.sum database tree"
//	                             also goes through sumdb/tlog.ParseTree
//	gonote gen NAME              note.GenerateKey; prints skey and vkey
//	gonote sign SKEY TEXT        note.Sign; prints the signed note
//
// Built by note_test.sh with GO111MODULE=off against /usr/share/gocode.
package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gonote: "+format+"\n", args...)
	os.Exit(1)
}

func open(vkey, file string) *note.Note {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		die("verifier key %q: %v", vkey, err)
	}
	msg, err := os.ReadFile(file)
	if err != nil {
		die("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		die("open: %v", err)
	}
	return n
}

// checkpoint parses c2sp.org/tlog-checkpoint text by the spec, here.
func checkpoint(text string) {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		die("checkpoint: want at least 3 lines ending in a newline")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if lines[0] == "" || err != nil || lines[1] != strconv.FormatUint(size, 10) {
		die("checkpoint: bad origin or size")
	}
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != 32 {
		die("checkpoint: bad root hash")
	}
	for _, ext := range lines[3 : len(lines)-1] {
		if ext == "" {
			die("checkpoint: empty extension line")
		}
	}
	if lines[0] == "go.sum database tree" {
		tree, err := tlog.ParseTree([]byte(text))
		if err != nil {
			die("tlog.ParseTree: %v", err)
		}
		if uint64(tree.N) != size || string(tree.Hash[:]) != string(root) {
			die("tlog.ParseTree disagrees")
		}
		if string(tlog.FormatTree(tree)) != text {
			die("tlog.FormatTree gives another text")
		}
	}
	fmt.Printf("%s\n%d\n%s\n", lines[0], size, hex.EncodeToString(root))
}

func main() {
	args := os.Args[1:]
	switch {
	case len(args) == 3 && args[0] == "open":
		os.Stdout.WriteString(open(args[1], args[2]).Text)
	case len(args) == 3 && args[0] == "checkpoint":
		checkpoint(open(args[1], args[2]).Text)
	case len(args) == 2 && args[0] == "gen":
		skey, vkey, err := note.GenerateKey(rand.Reader, args[1])
		if err != nil {
			die("%v", err)
		}
		fmt.Printf("%s\n%s\n", skey, vkey)
	case len(args) == 3 && args[0] == "sign":
		s, err := note.NewSigner(args[1])
		if err != nil {
			die("signer key: %v", err)
		}
		text, err := os.ReadFile(args[2])
		if err != nil {
			die("%v", err)
		}
		msg, err := note.Sign(&note.Note{Text: string(text)}, s)
		if err != nil {
			die("sign: %v", err)
		}
		os.Stdout.Write(msg)
	default:
		die("usage: gonote open|checkpoint VKEY NOTE | gen NAME | sign SKEY TEXT")
	}
}
