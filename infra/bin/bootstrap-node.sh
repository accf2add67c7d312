#!/usr/bin/env bash
# Installs the Node side of spool on a machine with Node 20: pnpm and the
# workspace's packages. bootstrap.sh runs it after the system packages; the
# spool CLI (cli/bin/spool.js) runs it alone, since it needs no nats-server
# or ffmpeg. Safe to run again: each step is skipped when its result is
# already there. Says what it does on stderr only.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"

log() { printf '[spool bootstrap] %s\n' "$*" >&2; }

# shellcheck source=infra/bin/root.sh
. "$here/infra/bin/root.sh"

# 1. pnpm (the lockfile and pnpm-workspace.yaml's settings need pnpm 10 or later).
pnpm_major="$(pnpm --version 2>/dev/null | cut -d. -f1 || true)"
if [ -n "$pnpm_major" ] && [ "$pnpm_major" -lt 10 ]; then
  log "pnpm $(pnpm --version) is older than this workspace needs; installing pnpm 12"
  pnpm_major=""
fi
if [ -z "$pnpm_major" ]; then
  log "installing pnpm with npm"
  if [ -w "$(npm prefix -g)/lib" ] || [ "$(id -u)" -eq 0 ]; then
    npm install -g --silent pnpm@12.21.0 >/dev/null
  else
    as_root npm install -g --silent pnpm@12.21.0 >/dev/null
  fi
fi

# 2. The workspace's packages. onnxruntime-node's install script (which
# downloads CUDA libraries) is skipped: its CPU provider ships in the package.
stamp=node_modules/.spool-install-stamp
want="$(cat package.json pnpm-workspace.yaml ./*/package.json $(ls pnpm-lock.yaml 2>/dev/null) | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "installing the workspace's packages with pnpm"
  frozen=()
  [ -f pnpm-lock.yaml ] && [ "${CI:-}" = "true" ] && frozen=(--frozen-lockfile)
  ONNXRUNTIME_NODE_INSTALL=skip pnpm install --reporter=append-only "${frozen[@]}" >&2
  echo "$want" > "$stamp"
fi
