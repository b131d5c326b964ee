"""Numbers for the book's prose, computed by the chapter that states them: a Markdown cell says
``{glue:text}`name``` when the book is built with myst-nb; elsewhere (Colab, a plain Jupyter)
the chapter's printed output carries them."""

from typing import Any


def glue(name: str, value: Any, display: bool = False) -> None:
    """``myst_nb.glue(name, value, display=display)`` where myst-nb is installed; else nothing."""
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=display)
