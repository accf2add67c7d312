#!/usr/bin/env bash
# Installs what spool needs to run on a fresh Debian machine with Node 20:
# pnpm, the workspace's packages, and Debian's nats-server and ffmpeg.
# Safe to run again: each step is skipped when its result is already there.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"

log() { printf '[spool bootstrap] %s\n' "$*" >&2; }

# shellcheck source=infra/bin/root.sh
. "$here/infra/bin/root.sh"

# 1. System packages: nats-server and ffmpeg (ffprobe comes with it).
missing=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    log "missing: ${missing[*]}; this machine has no apt-get, install them with your package manager"
    exit 1
  fi
  log "installing ${missing[*]} from Debian's packages"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. pnpm (the lockfile and pnpm-workspace.yaml's settings need pnpm 10 or later).
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

# 3. The workspace's packages. onnxruntime-node's install script (which
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
