"""The worked examples: a spec file read and checked, replayed exactly step by step, its printed numbers compared
and each erratum's slip searched for; the seeds' and the published examples shipped as spec files beside.

A spec file's text (``specfile``) and keys (``spec_keys``) read into a checked example (``spec``); one derivative's
chain-rule factors (``factors``), the typed formulas of a step's quantities in the file's convention (``formulas``),
and the entry-by-entry lines (``textbook``); many steps fast (``iterate``), a step's quantities in the file's layout
(``layout``) with the steps written only where a text prints them (``printed_steps``), every step written out
(``every_step``); the slips' variants (``variants``), those of a step's lines
(``step_slips``) and search (``slips``); the replay (``replay``) and the registry of the examples built from the
rules rather than a spec file (``worked``).
"""

LAYERS = (
    ("specfile", "factors", "formulas"),
    ("spec_keys", "textbook"),
    ("spec",),
    ("printed_steps",),
    ("iterate", "layout"),
    ("every_step",),
    ("variants", "step_slips"),
    ("slips",),
    ("replay",),
    ("worked",),
)
"""The modules by layer, lowest first: a module imports only from earlier layers (and earlier folders)."""
