"""The names of a run folder's files, defined once: the writers, the readers and the guard of
:func:`funcmlp.io.files.atomic_write` (only the run's own writer replaces them) read them here.

Example:
    >>> MODEL_FILE in RUN_FILES and STATE_FILE in RUN_FILES and MANIFEST in RUN_FILES
    True
"""

MODEL_FILE = "model.npz"
STATE_FILE = "training_state.npz"
MANIFEST = "manifest.json"
HISTORY_FILES = ("history.csv", "history.json")
PLOT_FILES = ("curves.png", "confusion.png")
OLD_NAMES = ("params.npz", "checkpoint.npz")
"""The model files of earlier versions (``evaluate`` names them; ``--overwrite`` removes them)."""
LOCK_FILE = ".funcmlp-lock"
RUN_FILES = (MODEL_FILE, STATE_FILE, *HISTORY_FILES, *PLOT_FILES, MANIFEST, *OLD_NAMES)
"""Every file ``funcmlp train --out DIR`` writes (or an earlier version wrote)."""
RUN_MARKERS = (MANIFEST, STATE_FILE, LOCK_FILE)
"""A folder holding any of these is a run's (a user's folder with only a saved model is not)."""
