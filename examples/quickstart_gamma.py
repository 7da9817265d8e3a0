"""Gamma regression loss and its exact gradient under jit (the README's first example).

A network head outputs two raw numbers per example; the Gamma link turns them into natural
parameters ``eta = (-rate, shape)`` with softplus rate and shape. The loss is the negative
log-likelihood of the positive targets, and its gradient in eta is ``g'(eta) - T(y)``.
"""

import jax
import jax.numpy as jnp

import expfam

family = expfam.Gamma()
raw = jax.random.normal(jax.random.key(0), (5, 2))  # stand-in for a network's outputs
y = jnp.array([0.3, 1.2, 2.5, 0.9, 4.0])  # positive, skewed targets
chi, log_h = family.target(y)  # prepared once, outside the training step


@jax.jit
def loss(raw: jax.Array) -> jax.Array:
    return jnp.mean(expfam.cross_entropy(family, family.link(raw), (chi, log_h)))


value, grad = jax.value_and_grad(loss)(raw)
eta = family.link(raw)
print("loss", value)
print(
    "d loss / d eta == (g'(eta) - T(y)) / N:",
    jnp.allclose(
        jax.grad(lambda e: jnp.mean(expfam.cross_entropy(family, e, (chi, log_h))))(eta),
        (family.expectation(eta) - chi) / len(y),
    ),
)
print("d loss / d raw", grad)
