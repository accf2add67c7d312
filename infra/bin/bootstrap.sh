#!/usr/bin/env bash
# Installs what spool needs to run on a fresh Debian machine with Node 20:
# Debian's nats-server and ffmpeg, then pnpm and the workspace's packages
# (bootstrap-node.sh, which the spool CLI runs alone).
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

# 2. pnpm and the workspace's packages.
bash "$here/infra/bin/bootstrap-node.sh"
