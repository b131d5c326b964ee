"""Checkpoints: written atomically, read safely, checked against the model they are for.

One file, a dict of tensors, numbers, strings, lists and dicts only, so that it loads with
``torch.load(weights_only=True)`` (no pickled code runs): ``format``, ``version``,
``model_config`` (what :func:`threekg_lite.models.build_model` takes), ``model`` (the
``state_dict``), ``step``, and the trainer's state. It is written to a temporary file, flushed,
then renamed over the old one: a run killed at any moment leaves the old or the new one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from threekg_lite.runtime.errors import ThreeKGError

FORMAT = "threekg-lite-checkpoint"
VERSION = 1
PathLike = str | os.PathLike[str]


class CheckpointError(ThreeKGError, ValueError):
    """A checkpoint file is unreadable, of another format, or for another model."""

    def __init__(self, path: PathLike, problem: str) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: {problem}")


def save_checkpoint(path: PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` (with ``model_config``, ``model`` and ``step``) to ``path`` atomically;
    returns the path."""
    path = Path(path)
    if missing := [k for k in ("model_config", "model", "step") if k not in state]:
        raise ValueError(f"a checkpoint needs {missing}")
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "version": VERSION, **state}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: PathLike, map_location: str | torch.device | None = "cpu") -> dict:
    """Read a checkpoint with ``torch.load(weights_only=True)``; ``CheckpointError`` if it is
    missing, corrupt, or not a threekg-lite checkpoint of a version this code reads."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such checkpoint file")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises RuntimeError, pickle errors, EOFError, ...
        raise CheckpointError(
            path, f"not a readable checkpoint (corrupt or truncated?): {type(e).__name__}: {e}"
        ) from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(path, f"not a threekg-lite checkpoint (no format tag {FORMAT!r})")
    if state.get("version") != VERSION:
        raise CheckpointError(
            path, f"checkpoint version {state.get('version')!r}; this code reads {VERSION}"
        )
    return state


def check_model_config(path: PathLike, found: dict[str, Any], expected: dict[str, Any]) -> None:
    """Refuse a checkpoint written for another architecture, naming the differences."""
    # Keys added later, with the value that checkpoints written before them meant.
    found = {"layout": "12-channel", "input_norm": "none", **found}
    if diff := config_changes(found, expected, sorted(set(found) | set(expected))):
        listed = "; ".join(f"{k}: checkpoint {a!r}, asked {b!r}" for k, (a, b) in diff.items())
        raise CheckpointError(path, f"checkpoint is for another model ({listed})")


def config_changes(old: dict[str, Any], new: dict[str, Any], keys: Any) -> dict[str, tuple]:
    """``{key: (old value, new value)}`` for the ``keys`` whose values differ (a tuple equals
    the list it becomes in a checkpoint); a missing value is ``None``."""

    def norm(value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    return {k: (old.get(k), new.get(k)) for k in keys if norm(old.get(k)) != norm(new.get(k))}
