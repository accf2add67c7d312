#!/usr/bin/env bash
# Installs what the Python tooling (the `models` package: training, export, the judge) needs on
# Debian: the system interpreter's torch, onnx, numpy and sentencepiece, and OpenBLAS. The tooling
# runs as `/usr/bin/python3 -m models.…`; a pyenv or venv python3 earlier on PATH is not used.
# Safe to run again: nothing is installed when the imports already work.
set -euo pipefail

PY=/usr/bin/python3
PACKAGES=(python3-torch python3-onnx python3-numpy python3-sentencepiece libopenblas0-pthread)
CHECK='import torch, onnx, numpy, sentencepiece'

log() { printf '[spool bootstrap-python] %s\n' "$*" >&2; }

# shellcheck source=infra/bin/root.sh
. "$(dirname "${BASH_SOURCE[0]}")/root.sh"

imports_work() { [ -x "$PY" ] && "$PY" -c "$CHECK" >/dev/null 2>&1; }

if imports_work; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
  log "$PY cannot run '$CHECK' and this machine has no apt-get;"
  log "install Python 3 with torch, onnx, numpy and sentencepiece as $PY with your package manager"
  exit 1
fi

# Only the packages dpkg does not list as installed (a package can be there with the imports still failing).
missing=()
for p in "${PACKAGES[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian's packages"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! err="$("$PY" -c "$CHECK" 2>&1 >/dev/null)"; then
  log "$PY still cannot run '$CHECK':"
  printf '%s\n' "$err" | tail -n 3 >&2
  log "the packages ${PACKAGES[*]} are installed; check that $PY is Debian's interpreter they install into"
  exit 1
fi
log "$PY imports torch, onnx, numpy and sentencepiece"
