"""funcmlp's files: one array serialiser, the model file, the training state, the run folder.

Contract:
    What: ``arrays`` (named arrays + a JSON header in one ``.npz``, atomic, never pickled, every
        entry's size checked before it is loaded), ``model_file`` (``model.npz``: MLP + params),
        ``training_state`` (``training_state.npz``: all ``--resume`` needs), ``run_folder`` (a run's
        outputs, ``manifest.json`` with their SHA-256, and :func:`~funcmlp.io.run_folder.open_model`
        for a folder or either file), ``files`` (``atomic_write``), ``plots``. (What a run needs
        in memory is estimated by :mod:`funcmlp.memory`, below the core.)
    In: an MLP, params, optimizer states, histories, paths. Out: files, and from files the same
        values, or one ``ValueError`` line naming the file, the field and the fix.
    Imports: the registry, the core, the checks and ``funcmlp.training.history`` (a training
        state holds a History), numpy, jax; never the package's root, ``training.fit`` or ``cli``
        (``tests/test_layering.py``).

Example:
    >>> import jax, os, tempfile, funcmlp
    >>> from funcmlp.io.model_file import save_model
    >>> from funcmlp.io.run_folder import open_model
    >>> mlp = funcmlp.MLP((2, 1), output="sigmoid"); folder = tempfile.mkdtemp()
    >>> save_model(os.path.join(folder, "model.npz"), mlp, mlp.init(jax.random.key(0)))
    >>> open_model(folder).mlp == mlp
    True
"""
