"""How many programs JAX compiles while a test's code runs, read from JAX's own log of compilations."""

import logging

import jax


def compilations(run) -> int:
    """The number of programs JAX compiles (or loads from its persistent cache) while ``run()`` runs."""
    messages = []

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    handler, logger = Collect(), logging.getLogger("jax")
    logger.addHandler(handler)
    try:
        with jax.log_compiles():
            run()
    finally:
        logger.removeHandler(handler)
    return sum(message.startswith("Compiling ") for message in messages)
