# Sourced by the bootstrap scripts: runs a command as root (itself when root, else sudo),
# or says what to run when neither works. Needs a `log` function.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@";
  elif command -v sudo >/dev/null 2>&1; then sudo "$@";
  else
    log "need root to run: $*"
    log "run it yourself (as root) or install sudo, then try again"
    exit 1
  fi
}
