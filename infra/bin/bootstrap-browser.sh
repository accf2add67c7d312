#!/usr/bin/env bash
# Installs Debian's chromium, the headless browser the playground's test
# (infra/test/playground.test.ts) drives with playwright-core, when it is missing.
# Safe to run again: nothing is installed when chromium already runs.
# When it cannot be installed, it says why, writes the reason to
# .spool/browser-unavailable and exits 0: the test is then skipped with that
# reason, never passed. SPOOL_CHROMIUM names another Chromium binary to use.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHROMIUM="${SPOOL_CHROMIUM:-/usr/bin/chromium}"
REASON="$here/.spool/browser-unavailable"

log() { printf '[spool bootstrap-browser] %s\n' "$*" >&2; }

# Says why there is no browser, for the log and for the test that skips.
unavailable() {
  log "$*; the playground test will be skipped"
  mkdir -p "$(dirname "$REASON")"
  printf '%s\n' "$*" > "$REASON"
  exit 0
}

# shellcheck source=infra/bin/root.sh
. "$(dirname "${BASH_SOURCE[0]}")/root.sh"

runs() { [ -x "$CHROMIUM" ] && "$CHROMIUM" --headless --no-sandbox --version >/dev/null 2>&1; }

if runs; then
  rm -f "$REASON"
  exit 0
fi
if [ -n "${SPOOL_CHROMIUM:-}" ]; then
  unavailable "SPOOL_CHROMIUM=$CHROMIUM does not run"
fi
if ! command -v apt-get >/dev/null 2>&1; then
  unavailable "$CHROMIUM is missing and this machine has no apt-get: install chromium with your package manager, or set SPOOL_CHROMIUM to a Chromium binary"
fi
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
  unavailable "$CHROMIUM is missing, and installing it needs root (no sudo here): run 'apt-get install chromium' as root"
fi

log "installing chromium from Debian's packages"
if ! out="$( { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } 2>&1 >/dev/null)"; then
  unavailable "apt-get could not install chromium: $(printf '%s' "$out" | tail -n 1)"
fi
if ! runs; then
  unavailable "chromium is installed but $CHROMIUM does not run"
fi
rm -f "$REASON"
log "$("$CHROMIUM" --version 2>/dev/null)"
