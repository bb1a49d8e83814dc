"""A spec's free text as each output format needs it: LaTeX's text mode, Markdown, one line.

Contract: a string in, a string out; nothing of ``derivations`` imported. Every text a user
wrote (a title, a note, an erratum's label and slip) passes through here on its way into a
rendering: never as markup, whatever characters it holds (:mod:`derivations.examples.specfile` has
already refused control characters; these functions turn any left into spaces).

Example:
    >>> print(escape("a_b & 50%"), markdown_text("<b>"), sep=" | ")
    a\\_b \\& 50\\% | \\<b>
"""

from __future__ import annotations

import re

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def escape(text: str) -> str:
    r"""Text for LaTeX's text mode: the ten special characters escaped, control characters (a line
    break would end a ``%`` comment) as spaces.

    Example:
        >>> print(escape(r"50% of $x$ \input{a}"))
        50\% of \$x\$ \textbackslash{}input\{a\}
    """
    return re.sub(r"[\\&%$#_{}~^]", lambda m: _LATEX_SPECIAL[m.group()], one_line(text))


def markdown_text(text: str) -> str:
    r"""Text for Markdown outside math: the characters that start HTML, code, math, a table cell or
    an entity (``\ ` < $ | &``) escaped with a backslash, a link's ``](`` broken, control
    characters as spaces; emphasis characters are left (at worst they style the text).

    Example:
        >>> print(markdown_text("<script>`x` $y$ [a](javascript:b)"))
        \<script>\`x\` \$y\$ [a]\(javascript:b)
    """
    text = re.sub(r"([\\`<$|&])", r"\\\1", one_line(text))
    return text.replace("](", "]\\(")


def one_line(text: str) -> str:
    """Control characters (a line break ends a LaTeX ``%`` comment) as spaces."""
    return re.sub(r"[\x00-\x1f\x7f]", " ", text)
