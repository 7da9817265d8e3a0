# Sourced by the scripts: pick interpreters and build a fresh virtual environment.

usable() { "$1" -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1; }

find_python() {  # the first usable interpreter among the arguments (globs allowed)
  local candidate path
  for candidate in "$@"; do
    for path in $candidate; do
      if usable "$path"; then echo "$path"; return 0; fi
    done
  done
  echo "no Python >= 3.11 found among: $*" >&2
  return 1
}

PYENV_VERSIONS="${PYENV_ROOT:-$HOME/.pyenv}/versions"
# Newest jax needs 3.12+; prefer 3.13, then 3.12, then python3.
newest_python() { find_python python3.13 "$PYENV_VERSIONS"/3.13*/bin/python3.13 python3.12 "$PYENV_VERSIONS"/3.12*/bin/python3.12 python3; }
# Python 3.11, where pip resolves jax 0.10.x.
oldest_python() { find_python python3.11 "$PYENV_VERSIONS"/3.11*/bin/python3.11 python3; }

make_venv() {  # make_venv DIR PYTHON PIP-TARGET
  rm -rf "$1"
  "$2" -m venv "$1"
  "$1/bin/python" -m pip install -q --disable-pip-version-check "$3"
}
