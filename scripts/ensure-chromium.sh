#!/bin/sh
# Makes sure Debian's chromium is installed for the dashboard's browser test (test/node/dashboard.test.ts),
# which drives it with playwright-core. Run before `npm test` (the pretest script). Without a browser the
# test fails; it never passes silently.
set -e
BROWSER="${PARQUEDB_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$BROWSER" ]; then exit 0; fi
echo "ensure-chromium: $BROWSER is missing; installing Debian's chromium package" >&2
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "ensure-chromium: not root and no sudo: run 'apt-get install -y chromium' as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
[ -x "$BROWSER" ] || { echo "ensure-chromium: chromium installed but $BROWSER is not there" >&2; exit 1; }
