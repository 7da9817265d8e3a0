#!/usr/bin/env bash
# GPU check: `expfam verify` and the benchmarks on the running accelerator, in a few minutes.
#
# Usage (repository root, a Python with jax[cuda] and the `bench` extra installed):
#   bash bench/gpu_check.sh [python]
# Prints the verify table, then one markdown table per benchmark (sizes as in the issue;
# the fused cross-entropy at full size). Everything also goes to bench/gpu_check.md.
set -euo pipefail
PY="${1:-python}"
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
OUT=bench/gpu_check.md
"$PY" - <<'PYEOF'
import jax
backend = jax.default_backend()
print(f"backend: {backend}; devices: {jax.devices()}")
if backend not in ("gpu", "cuda", "rocm"):
    raise SystemExit("no GPU backend: this script is for a GPU machine")
PYEOF
{
  echo "## GPU check ($(date -u +%Y-%m-%dT%H:%MZ), expfam $(git rev-parse --short HEAD 2>/dev/null || echo ?))"
  echo
  echo '```'
  "$PY" -m expfam verify
  echo '```'
  echo
  echo "### Losses"
  "$PY" bench/losses.py --calls 20 | sed -n '/### Summary/,$p'
  echo
  echo "### Inverse maps"
  "$PY" bench/inverse.py --calls 10 --efax-n 0 | sed -n '/^| family/,$p'
  echo
  echo "### Fused linear + cross-entropy"
  "$PY" bench/fused_ce.py --calls 10 | sed -n '/^N = /,$p'
} | tee "$OUT"
