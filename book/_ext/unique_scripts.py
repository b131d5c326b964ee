"""Sphinx extension for this book: each page loads each script once.

In this book's build sphinx-thebe's inline configuration (``const THEBE_JS_URL = ...``)
appeared twice in every page, so each page declared the same
constants twice and the browser reported a JavaScript error ("Identifier 'THEBE_JS_URL' has
already been declared"; tests/book/test_book_in_browser.py). The two copies differ only in
how they say "no file" (``None`` once, ``""`` the other time), so Sphinx's own check for
duplicates lets both through. This drops duplicates (same file, or both inline; same
attributes, such as the inline body) from each page's script list.
"""

from __future__ import annotations

from typing import Any


def _unique_scripts(app, pagename: str, templatename: str, context: dict[str, Any], doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    unique = []
    for script in scripts:  # sphinx's _JavaScript: filename, priority, attributes (body...)
        filename = str(getattr(script, "filename", script) or "")  # inline: None or ""
        attributes = getattr(script, "attributes", {}) or {}
        key = (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app) -> dict[str, Any]:
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
