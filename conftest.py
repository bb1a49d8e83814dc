"""Tests and doctests run with float64 enabled: correctness is checked in float64 (float32 tests ask for it)."""
import os

import jax

jax.config.update("jax_enable_x64", True)

try:  # CI draws the same examples every run; a developer's runs explore new ones
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True)
    if os.environ.get("CI") == "true":
        settings.load_profile("ci")
except ModuleNotFoundError:
    pass
