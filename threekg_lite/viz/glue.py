"""Numbers for the book's prose, computed by the chapter that states them.

:func:`glue` hands a value to myst-nb's ``glue`` (so that a Markdown cell can say
``{glue:text}`name```) when myst-nb is installed, as when the book is built; elsewhere
(Colab, a plain Jupyter) it does nothing, and the chapter's printed output carries the
numbers.
"""

from __future__ import annotations

from typing import Any


def glue(name: str, value: Any, display: bool = False) -> None:
    """``myst_nb.glue(name, value, display=display)`` where myst-nb is installed."""
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=display)
