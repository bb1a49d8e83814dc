"""The renderers: a derivation written for its reader, each format printing the step model's quantities by key.

Text, Markdown and LaTeX (``render``), Mermaid and PNG drawings (``picture``), the page's network as SVG
(``page_svg``), numbers and closed forms as NumPy source (``numpy_source``), the program's
backward pass (``backward_source``), the loss as a Graphviz graph of scalars
(``expression_graph``), the page for the browser (``page``) and the backward pass as a standalone program
(``program``); the formats by name with what each takes (``choices``) and the one dispatch from a name to its
renderer (``writing``).
"""

LAYERS = (
    ("choices", "render", "picture", "page_svg", "numpy_source", "expression_graph"),
    ("backward_source",),
    ("page", "program"),
    ("writing",),
)
"""The modules by layer, lowest first: a module imports only from earlier layers (and earlier folders)."""
