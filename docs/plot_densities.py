"""Draw each family's density (or mass function) for a few parameters: docs/img/*.png.

    python docs/plot_densities.py

The curves are ``exp(expfam.log_prob(family, eta, x))`` with ``eta = natural_from_source(...)``;
the figures are committed, so building the site needs neither this script nor matplotlib.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

import expfam

OUT = Path(__file__).resolve().parent / "img"

#: family, x range (discrete: the largest count), source parameters to draw.
CONTINUOUS = [
    (expfam.Normal(), (-5, 5), [{"loc": 0.0, "scale": 1.0}, {"loc": 1.0, "scale": 0.5}, {"loc": -1.0, "scale": 2.0}]),
    (expfam.Laplace(), (-5, 5), [{"scale": 0.5}, {"scale": 1.0}, {"scale": 2.0}]),
    (expfam.Gamma(), (0, 6), [{"shape": 1.0, "rate": 1.0}, {"shape": 2.0, "rate": 2.0}, {"shape": 9.0, "rate": 3.0}]),
    (expfam.LogNormal(), (0, 6), [{"loc": 0.0, "scale": 1.0}, {"loc": 0.5, "scale": 0.5}, {"loc": 1.0, "scale": 0.25}]),
    (
        expfam.InverseGamma(),
        (0, 4),
        [{"shape": 1.0, "scale": 1.0}, {"shape": 3.0, "scale": 2.0}, {"shape": 8.0, "scale": 8.0}],
    ),
    (
        expfam.InverseGaussian(),
        (0, 4),
        [{"mean": 1.0, "shape": 0.5}, {"mean": 1.0, "shape": 3.0}, {"mean": 2.0, "shape": 10.0}],
    ),
    (expfam.Exponential(), (0, 5), [{"rate": 0.5}, {"rate": 1.0}, {"rate": 2.0}]),
    (expfam.Weibull(1.5), (0, 4), [{"scale": 0.5}, {"scale": 1.0}, {"scale": 2.0}]),
    (expfam.Rayleigh(), (0, 5), [{"scale": 0.5}, {"scale": 1.0}, {"scale": 2.0}]),
    (expfam.ChiSquare(), (0, 10), [{"df": 1.0}, {"df": 3.0}, {"df": 6.0}]),
    (expfam.Pareto(1.0), (1, 5), [{"alpha": 1.0}, {"alpha": 2.0}, {"alpha": 4.0}]),
    (
        expfam.BetaPrime(),
        (0, 5),
        [{"alpha": 2.0, "beta": 3.0}, {"alpha": 5.0, "beta": 2.0}, {"alpha": 1.0, "beta": 1.0}],
    ),
    (expfam.Beta(), (0, 1), [{"alpha": 0.5, "beta": 0.5}, {"alpha": 2.0, "beta": 5.0}, {"alpha": 5.0, "beta": 2.0}]),
    (expfam.ContinuousBernoulli(), (0, 1), [{"lam": 0.2}, {"lam": 0.5}, {"lam": 0.9}]),
    (
        expfam.VonMises(),
        (-3.14159, 3.14159),
        [{"loc": 0.0, "concentration": 0.5}, {"loc": 0.0, "concentration": 2.0}, {"loc": 1.5, "concentration": 8.0}],
    ),
]
DISCRETE = [
    (expfam.Bernoulli(), 1, [{"probability": 0.2}, {"probability": 0.5}, {"probability": 0.9}]),
    (expfam.Binomial(10), 10, [{"probability": 0.2}, {"probability": 0.5}, {"probability": 0.8}]),
    (expfam.Poisson(), 15, [{"rate": 1.0}, {"rate": 4.0}, {"rate": 9.0}]),
    (expfam.NegativeBinomial(3.0), 15, [{"probability": 0.3}, {"probability": 0.5}, {"probability": 0.7}]),
    (expfam.Geometric(), 15, [{"probability": 0.3}, {"probability": 0.6}, {"probability": 0.8}]),
    (expfam.Logarithmic(), 15, [{"probability": 0.3}, {"probability": 0.7}, {"probability": 0.9}]),
    (
        expfam.Categorical(5),
        4,
        [{"probabilities": [0.1, 0.2, 0.4, 0.2, 0.1]}, {"probabilities": [0.6, 0.1, 0.1, 0.1, 0.1]}],
    ),
]


def label(source: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in source.items())


def density(family: expfam.ExponentialFamily, source: dict, x: jax.Array) -> jax.Array:
    eta = family.natural_from_source(**{k: jnp.asarray(v) for k, v in source.items()})
    return jnp.exp(expfam.log_prob(family, eta, x))


def grid(rows: list, discrete: bool, path: Path) -> None:
    columns = 3
    figure, axes = plt.subplots(-(-len(rows) // columns), columns, figsize=(12, 3.0 * -(-len(rows) // columns)))
    for axis in axes.flat[len(rows) :]:
        axis.set_visible(False)
    for axis, (family, span, sources) in zip(axes.flat, rows, strict=False):
        for i, source in enumerate(sources):
            if discrete:
                x = jnp.arange(0 if family.name != "Logarithmic" else 1, span + 1)
                x = x.astype(jnp.int32) if isinstance(family, expfam.Categorical) else x.astype(jnp.float32)
                offset = (i - (len(sources) - 1) / 2) * 0.25
                axis.bar(x + offset, density(family, source, x), width=0.25, label=label(source))
            else:
                lo, hi = span
                x = jnp.linspace(lo + 1e-3 * (hi - lo), hi - 1e-3 * (hi - lo), 400)
                axis.plot(x, density(family, source, x), label=label(source))
        if discrete:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_title(family.name)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def simplex_points(n: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Barycentric points inside the triangle (x, y, z > 0, sum 1) and their plane coordinates."""
    a, b = jnp.meshgrid(jnp.linspace(0.0, 1.0, n), jnp.linspace(0.0, 1.0, n))
    inside = (a > 0) & (b > 0) & (a + b < 1)
    p = jnp.stack([a[inside], b[inside], 1.0 - a[inside] - b[inside]], axis=-1)
    return p, p[:, 1] + p[:, 2] / 2, p[:, 2] * 3**0.5 / 2


def vector_families(path: Path) -> None:
    """Two-dimensional pictures of the vector families: contours of the multivariate normals,
    the Dirichlet and Multinomial on the triangle of 3-part compositions, the von Mises-Fisher
    density on the sphere against the angle to its mean direction, and a Wishart's density along
    the line of matrices ``s I``."""
    figure, axes = plt.subplots(2, 3, figsize=(12, 7.5))
    u, v = jnp.meshgrid(jnp.linspace(-3, 3, 121), jnp.linspace(-3, 3, 121))
    plane = jnp.stack([u.ravel(), v.ravel()], axis=-1)
    mvn = expfam.MultivariateNormal(2)
    for covariance, style in (([[1.0, 0.8], [0.8, 1.0]], "Blues"), ([[1.5, -0.5], [-0.5, 0.5]], "Reds")):
        values = density(mvn, {"loc": [0.0, 0.0], "covariance": covariance}, plane).reshape(u.shape)
        axes[0, 0].contour(u, v, values, levels=6, cmap=style)
    axes[0, 0].set_title("MultivariateNormal(2)\ncorrelation 0.8 (blue), -0.58 (red)")
    diagonal = density(expfam.MultivariateNormalDiag(2), {"loc": [0.5, -0.5], "scale": [1.5, 0.5]}, plane)
    axes[0, 1].contour(u, v, diagonal.reshape(u.shape), levels=6, cmap="Greens")
    axes[0, 1].set_title("MultivariateNormalDiag(2)\nscales 1.5, 0.5")
    p, x, y = simplex_points(160)
    dirichlet = density(expfam.Dirichlet(3), {"concentration": [2.0, 5.0, 3.0]}, p)
    axes[0, 2].tricontourf(x, y, dirichlet, levels=12, cmap="viridis")
    axes[0, 2].set_title("Dirichlet(3)\nconcentration (2, 5, 3)")
    counts = jnp.array([(i, j, 10 - i - j) for i in range(11) for j in range(11 - i)], jnp.float32)
    mass = density(expfam.Multinomial(10, 3), {"probabilities": [0.2, 0.3, 0.5]}, counts)
    axes[1, 0].scatter(counts[:, 1] / 10 + counts[:, 2] / 20, counts[:, 2] / 10 * 3**0.5 / 2, s=2000 * mass)
    axes[1, 0].set_title("Multinomial(10, 3)\np = (0.2, 0.3, 0.5), area ~ mass")
    for axis in (axes[0, 2], axes[1, 0]):
        axis.plot([0, 1, 0.5, 0], [0, 0, 3**0.5 / 2, 0], color="black", linewidth=0.8)
        axis.set_aspect("equal")
        axis.axis("off")
    angle = jnp.linspace(0.0, jnp.pi, 300)
    on_sphere = jnp.stack([jnp.cos(angle), jnp.sin(angle), jnp.zeros_like(angle)], axis=-1)
    for kappa in (1.0, 5.0, 20.0):
        source = {"mean_direction": [1.0, 0.0, 0.0], "concentration": kappa}
        axes[1, 1].plot(angle, density(expfam.VonMisesFisher(3), source, on_sphere), label=f"concentration={kappa}")
    axes[1, 1].set_title("VonMisesFisher(3)\ndensity vs angle to the mean")
    axes[1, 1].legend(fontsize=7)
    scales = jnp.linspace(0.05, 6.0, 300)
    matrices = scales[:, None, None] * jnp.eye(2)
    for df in (3.0, 5.0, 10.0):
        wishart = expfam.Wishart(2, df)
        axes[1, 2].plot(scales, density(wishart, {"scale": [[0.5, 0.0], [0.0, 0.5]]}, matrices), label=f"df={df}")
    axes[1, 2].set_title("Wishart(2)\ndensity at s I, scale I / 2")
    axes[1, 2].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    grid(CONTINUOUS, False, OUT / "densities_continuous.png")
    grid(DISCRETE, True, OUT / "densities_discrete.png")
    vector_families(OUT / "densities_vector.png")


if __name__ == "__main__":
    main()
