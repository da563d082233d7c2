"""JAX / Flax / Optax: models built from graphs, training sessions, probes."""
