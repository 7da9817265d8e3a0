#!/usr/bin/env bash
# The main job: a fresh venv with expfam installed, then `expfam fit` (a distributional
# regression on the shipped claims data unless --data is given; extra arguments are passed on).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python.sh
PYTHON=${PYTHON:-$(newest_python)}
make_venv .venv-run "$PYTHON" "."
mkdir -p out
.venv-run/bin/python -m expfam fit --out out/expfam_fit.npz "$@"
