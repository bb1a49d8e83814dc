"""Tests and doctests run with float64 enabled: correctness is checked in float64 (float32 tests ask for it)."""
import jax

jax.config.update("jax_enable_x64", True)
