"""Sharded evaluation over 4 simulated CPU devices (see ``tests/sharding_checks.py``).

The checks run in a subprocess: the device count must be fixed before JAX initializes, and
the rest of the suite keeps its single device.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).with_name("sharding_checks.py")
ROOT = SCRIPT.parent.parent


def test_sharded_evaluation_equals_unsharded_and_stays_sharded():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    failures = {name: error for name, error in results.items() if error != "ok"}
    assert len(results) > 70
    assert not failures, "\n\n".join(f"{name}:\n{error}" for name, error in failures.items())
