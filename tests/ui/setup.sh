#!/bin/sh
# tests/ui/setup.sh: makes what the browser test needs ready, or says why not.
#
#   - Debian's chromium at $OPTREG_CHROMIUM (default /usr/bin/chromium):
#     scripts/bootstrap installs it; this script never downloads a browser.
#   - playwright-core, exactly as tests/ui/package-lock.json pins it, in
#     tests/ui/node_modules (ignored by git): `npm ci` when the lock file
#     changed since the last install (a stamp beside it records the lock's
#     SHA-256), else nothing, without touching the network.
#
# Idempotent; a ready machine returns in a fraction of a second. Called by
# tests/ui/browser_test.py; usable by hand from the repository root.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
chromium=${OPTREG_CHROMIUM:-/usr/bin/chromium}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "tests/ui/setup.sh: node and npm are needed (scripts/bootstrap installs them)" >&2
	exit 1
fi
if [ ! -x "$chromium" ]; then
	echo "tests/ui/setup.sh: no chromium at $chromium (run scripts/bootstrap as root)" >&2
	exit 1
fi

want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
stamp="$here/node_modules/.optreg-lock-sha256"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
	[ -f "$here/node_modules/playwright-core/package.json" ]; then
	exit 0
fi

# --ignore-scripts: playwright-core has no install script, and nothing may
# fetch a browser; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD says so again.
echo "tests/ui/setup.sh: npm ci --prefix tests/ui" >&2
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$here" --ignore-scripts \
	--no-audit --no-fund --prefer-offline --loglevel=error >&2
echo "$want" >"$stamp"
