"""The documentation site builds with ``mkdocs build --strict``: a broken reference, a missing
snippet (``bench/results`` tables, examples) or a docstring griffe cannot parse fails it."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

import expfam

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="needs the docs extra")
def test_site_builds_strictly(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    families = (tmp_path / "site" / "api" / "families" / "index.html").read_text()
    assert families.count("natural parameter") >= len(expfam.family_classes())  # every class docstring
