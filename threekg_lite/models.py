"""The 3KG network: an encoder (:mod:`threekg_lite.encoders`) and a SimCLR projection head.

An ECG ``(B, 12, T)`` becomes a feature vector ``(B, 512)`` (ResNet-18-1D): the representation that
downstream evaluation uses. The projection head (Linear-BN-ReLU-Linear to 128 dimensions) exists
only for the contrastive loss and is thrown away after pretraining. :class:`ContrastiveModel` holds
both; :func:`build_model` makes one from a JSON-serialisable config or a preset name;
:func:`load_model` reads one from a checkpoint.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from threekg_lite.data.preprocess import INPUT_NORMS
from threekg_lite.encoders.resnet1d import LeadwiseEncoder, ResNet1d, init_weights
from threekg_lite.runtime.checkpoint import CheckpointError, load_checkpoint
from threekg_lite.runtime.checks import check_choice, check_int

ARCH = "resnet18_1d"
"""The ``"arch"`` value of every config: a 1-D ResNet of BasicBlocks (depth set by ``layers``)."""

LAYOUTS = ("12-channel", "lead-wise")
"""All leads as the channels of one network, or one single-lead network on every lead."""

DEFAULT_CONFIG: dict[str, Any] = {
    "arch": ARCH,
    "layout": "12-channel",
    "input_norm": "none",
    "in_channels": 12,
    "width": 64,
    "kernel_size": 3,
    "layers": (2, 2, 2, 2),
    "proj_hidden": None,  # None: the encoder's feature dimension
    "proj_dim": 128,
}
"""The config of :func:`build_model` without arguments: ResNet-18-1D, kernel 3, 128-d head."""

PRESETS: dict[str, dict[str, Any]] = {
    "resnet18": {**DEFAULT_CONFIG},
    "resnet18-k7": {**DEFAULT_CONFIG, "kernel_size": 7},
    "resnet18-k15": {**DEFAULT_CONFIG, "kernel_size": 15},
    "tiny": {
        **DEFAULT_CONFIG,
        "width": 16,
        "layers": (1, 1, 1, 1),
        "proj_hidden": 64,
        "proj_dim": 64,
    },
}
PRESETS["tiny-leadwise"] = {**PRESETS["tiny"], "layout": "lead-wise"}
"""Named configs for :func:`build_model`: the full encoder with block kernel 3, 7 or 15
(costs in :mod:`threekg_lite.encoders.cost`); ``"tiny"`` (width 16, one block per stage, a
64-64 head: 124,384 parameters) for CPU teaching runs and tests; ``"tiny-leadwise"``, the
same with the ``"lead-wise"`` layout."""


class ProjectionHead(nn.Module):
    """SimCLR projection MLP ``in_dim -> hidden -> out_dim`` (``hidden=None``: ``in_dim``).
    In training mode it needs a batch of >= 2 (batch norm)."""

    def __init__(self, in_dim: int, hidden: int | None = None, out_dim: int = 128):
        super().__init__()
        hidden = in_dim if hidden is None else hidden
        for name, value in (("in_dim", in_dim), ("hidden", hidden), ("out_dim", out_dim)):
            check_int(name, value)
        self.in_dim, self.hidden, self.out_dim = in_dim, hidden, out_dim
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``(B, in_dim)`` -> ``(B, out_dim)``."""
        return self.net(h)


class ContrastiveModel(nn.Module):
    """Encoder + projection head, as trained by the contrastive loss.

    ``in_channels, width, kernel_size, layers`` go to the encoder (``layout`` ``"12-channel"``:
    :class:`~.encoders.resnet1d.ResNet1d` on all leads; ``"lead-wise"``:
    :class:`~.encoders.resnet1d.LeadwiseEncoder`), ``proj_hidden, proj_dim`` to the
    :class:`ProjectionHead`. ``input_norm``, how the records it is trained on and fed are
    scaled (:func:`~.data.preprocess.scale_input`), travels with the model, so a checkpoint's
    features are extracted as it was trained."""

    def __init__(
        self,
        in_channels: int = 12,
        width: int = 64,
        kernel_size: int = 3,
        layers: tuple[int, ...] = (2, 2, 2, 2),
        proj_hidden: int | None = None,
        proj_dim: int = 128,
        layout: str = "12-channel",
        input_norm: str = "none",
    ):
        super().__init__()
        self.layout = check_choice("layout", layout, LAYOUTS)
        self.input_norm = check_choice("input_norm", input_norm, INPUT_NORMS)
        encoder = ResNet1d if layout == "12-channel" else LeadwiseEncoder
        self.encoder = encoder(in_channels, width, kernel_size, layers)
        self.head = ProjectionHead(self.encoder.out_dim, proj_hidden, proj_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, T)`` -> projections ``(B, proj_dim)`` for the contrastive loss."""
        return self.head(self.encoder(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, T)`` -> encoder features ``(B, encoder.out_dim)``, for evaluation."""
        return self.encoder(x)

    @property
    def config(self) -> dict[str, Any]:
        """A plain, JSON-serialisable dict from which :func:`build_model` rebuilds this model."""
        enc = self.encoder
        return {
            "arch": ARCH,
            "layout": self.layout,
            "input_norm": self.input_norm,
            "in_channels": enc.in_channels,
            "width": enc.width,
            "kernel_size": enc.kernel_size,
            "layers": list(enc.layers),
            "proj_hidden": self.head.hidden,
            "proj_dim": self.head.out_dim,
        }


def build_model(
    config: dict[str, Any] | str | None = None,
    *,
    generator: torch.Generator | None = None,
    **overrides: Any,
) -> ContrastiveModel:
    """A :class:`ContrastiveModel` from a config dict (:attr:`ContrastiveModel.config`;
    missing keys from :data:`DEFAULT_CONFIG`), a :data:`PRESETS` name or ``None``, with
    ``overrides`` replacing keys. With a ``generator`` every parameter and buffer is drawn
    from it alone (the global RNG untouched), so one seed gives one model."""
    if isinstance(config, str):
        if config not in PRESETS:
            raise ValueError(f"unknown preset {config!r}; known: {sorted(PRESETS)}")
        config = PRESETS[config]
    cfg = {**DEFAULT_CONFIG, **(config or {}), **overrides}
    unknown = sorted(set(cfg) - set(DEFAULT_CONFIG))
    if unknown:
        raise ValueError(f"unknown config keys {unknown}; known: {sorted(DEFAULT_CONFIG)}")
    if cfg["arch"] != ARCH:
        raise ValueError(f"unknown arch {cfg['arch']!r}; only {ARCH!r} is available")
    kwargs = {k: v for k, v in cfg.items() if k != "arch"}
    if generator is None:
        return ContrastiveModel(**kwargs)
    # Allocate without drawing (meta device), then fill every tensor from the generator.
    with torch.device("meta"):
        model = ContrastiveModel(**kwargs)
    model = model.to_empty(device=generator.device)
    init_weights(model, generator)
    return model


def load_model(path: str | os.PathLike[str], map_location: str | torch.device | None = "cpu"):
    """The :class:`ContrastiveModel` stored in a checkpoint, in eval mode (its
    ``features(x)`` are what downstream evaluation uses)."""
    state = load_checkpoint(path, map_location)
    try:
        model = build_model(state["model_config"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(path, f"cannot rebuild its model: {e}") from e
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as e:
        raise CheckpointError(path, f"weights do not fit the model it describes: {e}") from e
    return model.eval()
