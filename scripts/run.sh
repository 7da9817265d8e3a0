#!/usr/bin/env bash
# The main job: a fresh venv with expfam installed, then `python -m expfam verify`
# (extra arguments are passed on).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python.sh
PYTHON=${PYTHON:-$(newest_python)}
make_venv .venv-run "$PYTHON" "."
.venv-run/bin/python -m expfam verify "$@"
