"""A fit saved by ``python -m expfam fit``, and ``load_fit`` to use it from Python.

The ``.npz`` file holds the family (its ``repr``, e.g. ``Weibull(shape=2.0)``), the head
(``canonical``: ``family.link``; ``source``: ``expfam.source_link(family)``), the feature and
target column names, the features' training mean and standard deviation, the MLP's layers
``layer{i}_w`` / ``layer{i}_b`` and the report's numbers. Files written before the head was
recorded used the canonical link.
"""

from __future__ import annotations

import ast
import dataclasses
import zipfile
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import expfam
from expfam.cli.head import HEADS, make_link
from expfam.cli.mlp import Params, apply_mlp

#: Entries of the file that are not the report.
LAYOUT = ("family", "head", "features", "target", "feature_mean", "feature_std")


@dataclasses.dataclass(frozen=True)
class SavedFit:
    """A saved distributional regression: features -> natural parameters of ``family``.

    Attributes:
        family: the fitted family.
        head: ``"canonical"`` or ``"source"``, the link from the MLP's outputs.
        features: the feature columns, in the order the network reads them.
        target: the target column(s).
        feature_mean, feature_std: the standardisation of the features (training rows).
        params: the MLP's ``(weights, bias)`` layers (``expfam.cli.mlp.apply_mlp``).
        report: the numbers ``fit`` reported (validation NLL, baseline, history, calibration).
    """

    family: expfam.ExponentialFamily
    head: str
    features: tuple[str, ...]
    target: tuple[str, ...]
    feature_mean: np.ndarray
    feature_std: np.ndarray
    params: Params
    report: dict[str, np.ndarray]

    def natural_parameters(self, x: Any) -> jax.Array:
        """Natural parameters, shape ``(rows, M)``, for features ``x`` of shape ``(rows, len(features))``
        in the data's own units (standardised here as in training)."""
        x = np.asarray(x, np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(f"expected features of shape (rows, {len(self.features)}), got shape {x.shape}")
        link = make_link(self.family, self.head)[0]
        return link(apply_mlp(self.params, jnp.asarray((x - self.feature_mean) / self.feature_std, jnp.float32)))


def family_from_name(name: str) -> expfam.ExponentialFamily:
    """The family whose ``repr`` is ``name`` (``Gamma()``, ``Weibull(shape=2.0)``): parsed, never evaluated."""
    classes = {cls.__name__: cls for cls in expfam.family_classes()}
    try:
        call = ast.parse(name, mode="eval").body
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and not call.args):
            raise ValueError
        settings = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg is not None}
        return classes[call.func.id](**settings)  # type: ignore[no-any-return]
    except (SyntaxError, ValueError, TypeError, KeyError):
        raise ValueError(f"{name!r} is not a family of this expfam") from None


def save_arrays(
    fit: SavedFit,
) -> dict[str, Any]:
    """The arrays of the ``.npz`` file for ``fit``."""
    arrays: dict[str, Any] = {
        "family": fit.family.name,
        "head": fit.head,
        "features": np.asarray(fit.features),
        "target": np.asarray(fit.target),
        "feature_mean": fit.feature_mean,
        "feature_std": fit.feature_std,
        **fit.report,
    }
    for i, (w, b) in enumerate(fit.params):
        arrays[f"layer{i}_w"], arrays[f"layer{i}_b"] = np.asarray(w), np.asarray(b)
    return arrays


def load_fit(path: str | Path) -> SavedFit:
    """Load a fit saved by ``python -m expfam fit --out PATH``.

    Example::

        from expfam.cli import load_fit

        saved = load_fit("expfam_fit.npz")
        eta = saved.natural_parameters(x)   # x: (rows, len(saved.features)), the data's units
        saved.family.source_from_natural(eta)

    Raises:
        ValueError: the file cannot be read or is not a saved fit.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        reason = getattr(error, "strerror", None) or "not an .npz file"
        raise ValueError(f"cannot read a saved fit from {path}: {reason}") from None
    missing = [key for key in LAYOUT if key not in arrays and key != "head"]
    count = sum(1 for key in arrays if key.startswith("layer") and key.endswith("_w"))
    if missing or count == 0:
        raise ValueError(f"{path} is not a fit saved by python -m expfam fit (no {', '.join(missing) or 'layers'})")
    head = str(arrays.get("head", "canonical"))
    if head not in HEADS:
        raise ValueError(f"{path}: unknown head {head!r}")
    try:
        family = family_from_name(str(arrays["family"]))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    params = [(jnp.asarray(arrays[f"layer{i}_w"]), jnp.asarray(arrays[f"layer{i}_b"])) for i in range(count)]
    report = {k: v for k, v in arrays.items() if k not in LAYOUT and not k.startswith("layer")}
    return SavedFit(
        family,
        head,
        tuple(str(f) for f in arrays["features"]),
        tuple(str(t) for t in arrays["target"]),
        np.asarray(arrays["feature_mean"], np.float64),
        np.asarray(arrays["feature_std"], np.float64),
        params,
        report,
    )
