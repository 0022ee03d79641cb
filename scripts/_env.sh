# Shared by scripts/demo and scripts/test: a virtual environment with the project installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

find_python() {
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
      echo "$candidate"; return 0
    fi
  done
  echo "Python 3.11 is required" >&2; return 1
}

ensure_venv() {  # ensure_venv EXTRAS  (e.g. "" or "[test]")
  local extras="$1"
  local stamp=".venv/.installed$extras"
  if [ ! -x .venv/bin/python ]; then
    "$(find_python)" -m venv .venv
  fi
  # A .venv linked in from another checkout (a git worktree) is that checkout's to install: reinstalling
  # here would re-point its editable install at this tree.
  if [ ! -L .venv ] && { [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; }; then
    echo "installing Hanaro and its dependencies into .venv (log: .venv/install.log) ..." >&2
    if ! { .venv/bin/pip install --quiet --upgrade pip &&
           .venv/bin/pip install --quiet -e ".$extras"; } > .venv/install.log 2>&1; then
      cat .venv/install.log >&2
      return 1
    fi
    touch "$stamp"
  fi
  export PATH="$ROOT/.venv/bin:$PATH"
  export FLASK_APP=hanaro
}

compile_translations() {
  pybabel compile --use-fuzzy --statistics -d platform/hanaro/translations >/dev/null 2>&1 ||
    pybabel compile -d platform/hanaro/translations
}
