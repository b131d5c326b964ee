"""Checkpoints: written atomically, read safely, checked against the model they are for.

A checkpoint is one file, a dict of tensors, numbers, strings, lists and dicts only, so that
it loads with ``torch.load(weights_only=True)`` (no pickled code runs):

``format``, ``version``
    ``"threekg-lite-checkpoint"`` and :data:`VERSION`.
``model_config``
    The dict :func:`threekg_lite.models.build_model` rebuilds the model from.
``model``
    The model's ``state_dict``.
``step``
    Optimisation steps done.
anything else
    The trainer's state (optimizer, scheduler, random generators, run configuration).

It is written to a temporary file in the same folder, flushed to disk, then renamed over the
old one, so that a run killed at any moment leaves either the old or the new checkpoint,
never half of one.
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


class CheckpointError(ThreeKGError, ValueError):
    """A checkpoint file is unreadable, of another format, or for another model."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: {problem}")


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` (with ``model_config``, ``model`` and ``step``) to ``path`` atomically.

    Returns the path written.
    """
    path = Path(path)
    missing = [k for k in ("model_config", "model", "step") if k not in state]
    if missing:
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


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device | None = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``.

    Raises
    ------
    CheckpointError
        The file is missing, truncated or corrupt, not a torch file, or not a threekg-lite
        checkpoint of a version this code reads.
    """
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


def check_model_config(
    path: str | os.PathLike[str], found: dict[str, Any], expected: dict[str, Any]
) -> None:
    """Refuse a checkpoint written for another architecture, naming the differences."""
    # Keys added later, with the value that checkpoints written before them meant.
    found = {"layout": "12-channel", "input_norm": "none", **found}
    keys = sorted(set(found) | set(expected))
    diff = [f"{k}: checkpoint {found.get(k)!r}, asked {expected.get(k)!r}" for k in keys]
    diff = [d for d, k in zip(diff, keys) if _norm(found.get(k)) != _norm(expected.get(k))]
    if diff:
        raise CheckpointError(path, "checkpoint is for another model (" + "; ".join(diff) + ")")


def _norm(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
