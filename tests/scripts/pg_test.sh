#!/bin/sh
# tests/scripts/pg_test.sh: checks scripts/pg against real PostgreSQL
# clusters; prints TAP and exits non-zero when a check fails.
#
# usage: tests/scripts/pg_test.sh    (from the repository root or anywhere)
#
# Every cluster lives in its own mktemp directory and is stopped and removed
# on exit, whether the checks pass or not.
set -eu

here=$(cd "$(dirname "$0")" && pwd -P)
PG="$here/../../scripts/pg"

n=0
failed=0
dirs=

cleanup() {
	for d in $dirs; do
		"$PG" stop "$d" >/dev/null 2>&1 || true
		rm -rf "$d"
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# check DESC CMD ARGS...: one TAP line for one command's exit status.
check() {
	desc=$1
	shift
	n=$((n + 1))
	if "$@" >/dev/null 2>&1; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		failed=$((failed + 1))
	fi
}

sql() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 "$1" -c "$2"
}

is() {
	[ "$1" = "$2" ]
}

not() {
	! "$@"
}

echo "1..25"

# Made here, not in a function called by $(...), so that the list reaches the
# trap.
a=$(mktemp -d)
dirs="$dirs $a"
b=$(mktemp -d)
dirs="$dirs $b"

ci_a=$("$PG" start "$a") || ci_a=
check "start prints a conninfo" test -n "$ci_a"
port_a=$(echo "$ci_a" | sed -n 's/.* port=\([0-9]*\) .*/\1/p')
check "the conninfo names the socket directory, optreg and postgres" \
	is "$ci_a" "host=$a port=$port_a dbname=optreg user=postgres"
check "the socket file is named by the port" test -S "$a/.s.PGSQL.$port_a"
check "psql runs select 1" is "$(sql "$ci_a" 'select 1')" 1
check "a table can be created and used" sql "$ci_a" \
	'create table t (id int primary key); insert into t values (7)'
check "the table holds its row" is "$(sql "$ci_a" 'select id from t')" 7
check "the server does not listen on TCP" \
	is "$(sql "$ci_a" "select current_setting('listen_addresses')")" ""
check "a second start prints the same conninfo" \
	is "$("$PG" start "$a" 2>/dev/null)" "$ci_a"
check "a second start keeps the data" \
	is "$(sql "$ci_a" 'select count(*) from t')" 1
check "status prints the conninfo" is "$("$PG" status "$a" 2>/dev/null)" "$ci_a"
check "the log is in DIR/log" test -s "$a/log"

ci_b=$("$PG" start "$b") || ci_b=
port_b=$(echo "$ci_b" | sed -n 's/.* port=\([0-9]*\) .*/\1/p')
check "a second cluster starts" is "$(sql "$ci_b" 'select 1')" 1
check "the two clusters use different ports" \
	test -n "$port_b" -a "$port_a" != "$port_b"
check "the two clusters are separate" \
	sql "$ci_b" "create table t (id int); select 'only in b'"

check "halt succeeds" "$PG" halt "$a"
check "status fails after halt" not "$PG" status "$a"
check "halt keeps the directory and the data" test -f "$a/data/PG_VERSION"
check "halt again succeeds (already halted)" "$PG" halt "$a"
check "start after halt prints the same conninfo (same port)" \
	is "$("$PG" start "$a" 2>/dev/null)" "$ci_a"
check "start after halt keeps the data" \
	is "$(sql "$ci_a" 'select count(*) from t')" 1
not_ours=$(mktemp -d)
dirs="$dirs $not_ours"
check "halt refuses a directory not made by scripts/pg" \
	not "$PG" halt "$not_ours"
check "halt fails for a missing directory" not "$PG" halt "$not_ours/none"

check "stop succeeds" "$PG" stop "$a"
check "stop removes the directory" test ! -e "$a"
check "status fails after stop" not "$PG" status "$a"

if [ $failed -ne 0 ]; then
	echo "# $failed of $n checks failed" >&2
	exit 1
fi
