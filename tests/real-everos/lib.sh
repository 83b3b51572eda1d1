# Sourced by install/start/stop: where the real EverOS harness keeps its files, and how it
# finds a Python >= 3.12. Everything lives in a cache outside the repository.
EVEROS_VERSION=1.5.1
REAL_EVEROS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$REAL_EVEROS_DIR/../.." && pwd)
EVERDESK_CACHE=${EVERDESK_CACHE:-$HOME/.cache/everdesk}
EVEROS_VENV=${EVEROS_VENV:-$EVERDESK_CACHE/everos-$EVEROS_VERSION-venv}
EVEROS_STAMP=$EVEROS_VENV/.everdesk-installed
EVEROS_INIT_TEMPLATE=$EVEROS_VENV/.everdesk-init-template
TIKTOKEN_CACHE_DIR=${TIKTOKEN_CACHE_DIR:-$EVERDESK_CACHE/tiktoken}
# tiktoken names its cache file after the sha1 of o200k_base's download URL.
O200K_FILE=fb374d419588a4632f3f557e76b4b70aebbca790
O200K_SHA256=446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d
export TIKTOKEN_CACHE_DIR

# Prints the path of a Python >= 3.12 interpreter, or fails saying what to install.
find_python() {
  local cand root
  cands=()
  [ -n "${EVERDESK_PYTHON:-}" ] && cands+=("$EVERDESK_PYTHON")
  if command -v pyenv >/dev/null 2>&1 && root=$(pyenv root 2>/dev/null); then
    for cand in $(ls -d "$root"/versions/3.1[2-9]* 2>/dev/null | sort -V); do
      cands+=("$cand/bin/python3")
    done
  fi
  cands+=(python3.13 python3.12 python3)
  for cand in "${cands[@]}"; do
    if "$cand" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then
      "$cand" -c 'import sys; print(sys.executable)'
      return 0
    fi
  done
  echo "real-everos: no Python >= 3.12 found (tried pyenv versions, python3.13, python3.12, python3)." >&2
  echo "real-everos: install one (e.g. 'pyenv install 3.12', or Debian 13's python3.12 + python3.12-venv)," >&2
  echo "real-everos: or set EVERDESK_PYTHON=/path/to/python3.12." >&2
  return 1
}
