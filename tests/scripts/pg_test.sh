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

echo "1..41"

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

# Who may connect (cluster b is still running): only its owner and the user
# who started it, through peer authentication; never another local user.
port_b_sock="$b/.s.PGSQL.$port_b"
check "the socket directory is mode 0700" is "$(stat -c %a "$b")" 700
check "the socket is mode 0700" is "$(stat -c %a "$port_b_sock")" 700
check "the only pg_hba rule is local peer with the map" \
	is "$(sql "$ci_b" "select string_agg(type || ' ' || auth_method || ' ' ||
		array_to_string(options, ','), '; ') from pg_hba_file_rules")" \
	"local peer map=optreg"
check "nothing is trusted" \
	is "$(sql "$ci_b" "select count(*) from pg_hba_file_rules
		where auth_method in ('trust', 'password', 'md5')")" 0

# skip DESC REASON: one TAP line for a check that cannot run here.
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

# as_user USER CONNINFO: runs select 1 as another operating-system user.
as_user() {
	(cd / && runuser -u "$1" -- psql -X -q -A -t -v ON_ERROR_STOP=1 \
		"$2" -c 'select 1') 2>"$b.err"
}

if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	check "another local user (nobody) is refused as postgres" \
		not as_user nobody "$ci_b"
	check "... by the socket's permissions" grep -q "Permission denied" "$b.err"
	check "another local user is refused as the service role" \
		not as_user nobody "$(echo "$ci_b" | sed 's/user=postgres/user=optreg_server/')"
	# With the directory and the socket opened to all, peer
	# authentication still refuses them.
	chmod 0755 "$b"
	chmod 0777 "$port_b_sock"
	check "with the socket opened to all, nobody is still refused" \
		not as_user nobody "$ci_b"
	check "... by peer authentication" \
		grep -q 'Peer authentication failed for user "postgres"' "$b.err"
	chmod 0700 "$b" "$port_b_sock"
	check "the cluster's owner (postgres) may connect" as_user postgres "$ci_b"
else
	for d in "nobody is refused as postgres" "... by the socket" \
		"nobody is refused as the service role" \
		"with the socket open, nobody is refused" "... by peer" \
		"the cluster's owner may connect"; do
		skip "$d" "runs only as root (runuser)"
	done
fi
rm -f "$b.err"

sql "$ci_b" "create role optreg_server login; create role eve login" \
	>/dev/null 2>&1 || true
ci_svc=$(echo "$ci_b" | sed 's/user=postgres/user=optreg_server/')
ci_eve=$(echo "$ci_b" | sed 's/user=postgres/user=eve/')
check "the invoking user may log in as the service role optreg_server" \
	is "$(sql "$ci_svc" 'select current_user')" optreg_server
check "... but not as a role the map does not name" not sql "$ci_eve" 'select 1'
check "a PG_USERS with a bad name is refused" \
	not env PG_USERS="eve bad-name" "$PG" start "$b"
"$PG" halt "$b" >/dev/null 2>&1 || true
check "a start with PG_USERS=eve prints the same conninfo" \
	is "$(PG_USERS=eve "$PG" start "$b" 2>/dev/null)" "$ci_b"
check "... and lets the invoking user log in as eve" \
	is "$(sql "$ci_eve" 'select current_user')" eve
check "... and no longer as optreg_server" not sql "$ci_svc" 'select 1'

if [ $failed -ne 0 ]; then
	echo "# $failed of $n checks failed" >&2
	exit 1
fi
