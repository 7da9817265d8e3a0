#!/usr/bin/env bash
# The test command: a fresh venv (Python 3.13 where it exists, else python3) with the dev
# extra, then ruff, mypy and the test suite on 2 workers (each family's tests on one worker).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python.sh
PYTHON=${PYTHON:-$(newest_python)}
echo "testing on $("$PYTHON" --version)"
make_venv .venv-test "$PYTHON" ".[dev]"
.venv-test/bin/ruff check .
.venv-test/bin/ruff format --check .
.venv-test/bin/mypy
.venv-test/bin/pytest -n 2 --dist loadgroup "$@"
