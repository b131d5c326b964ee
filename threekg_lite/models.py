"""The 3KG network: a 1-D ResNet-18 encoder and a SimCLR projection head.

The encoder (:class:`ResNet1d`) is torchvision's ResNet-18 transposed to one dimension, as in
the 3KG base code: a stem (7-tap convolution with stride 2, batch norm, ReLU, max-pool with
stride 2), four stages of two BasicBlocks with 64, 128, 256 and 512 channels (the first
block of stages 2-4 halves the time axis and has a 1x1 convolution + batch norm shortcut),
then the mean over time. An ECG ``(B, 12, T)`` becomes a feature vector ``(B, 512)``: the
representation that downstream evaluation uses. The projection head
(:class:`ProjectionHead`, Linear-BN-ReLU-Linear to 128 dimensions) exists only for the
contrastive loss and is thrown away after pretraining. :class:`ContrastiveModel` holds both;
:func:`build_model` makes one from a plain, JSON-serialisable config or a preset name, with
a seeded initialisation when given a ``torch.Generator``.

Size and cost of the encoder (width 64, layers (2, 2, 2, 2)), measured by
:func:`count_parameters` and :func:`forward_flops` (FLOPs = 2 x multiply-accumulates of the
convolutions; batch norm, ReLU and pooling are not counted) for one ``12 x 2500`` view
(10 s at 250 Hz):

============  ==========  ===================
block kernel  parameters  forward GFLOP/view
============  ==========  ===================
3 (default)   3.85 M      0.870
7             8.73 M      1.96
15            18.5 M      4.15
============  ==========  ===================

The projection head (512-512-128) adds 0.33 M parameters and 0.66 MFLOP per view. A
training step costs about 3 x the forward pass (forward + backward, the backward computing
gradients with respect to both activations and weights), e.g. about 2.6 GFLOP per view for
kernel 3, and 3KG's loss needs two views per ECG.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.func import functional_call
from torch.utils.flop_counter import FlopCounterMode

ARCH = "resnet18_1d"
"""The ``"arch"`` value of every config: a 1-D ResNet of BasicBlocks (depth set by ``layers``)."""

LAYOUTS = ("12-channel", "lead-wise")
"""Encoder layouts: all leads as the channels of one network, or one shared single-lead
network applied to every lead with the lead embeddings averaged (the 3KG base code)."""

INPUT_NORMS = ("none", "range")
"""How records are scaled before the encoder sees them (:func:`scale_input`)."""

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
"""Named configs, accepted by :func:`build_model` in place of a dict.

``"resnet18"``, ``"resnet18-k7"`` and ``"resnet18-k15"``: the full encoder with block kernel
3, 7 or 15 (sizes in the module docstring). ``"tiny"``: width 16, one block per stage, a
64-64 head, for CPU teaching runs and tests: 124,384 parameters in all (111,840 in the
encoder), 27.9 MFLOP forward per ``12 x 2500`` view. ``"tiny-leadwise"``: the same network
with the ``"lead-wise"`` layout (one input channel, run on each lead, about 12 x the FLOPs).
"""


def scale_input(x: torch.Tensor, input_norm: str) -> torch.Tensor:
    """Whole records ``(..., 12, T)`` as an encoder with ``input_norm`` takes them.

    ``"none"``: unchanged (mV). ``"range"``: each record divided by its range over all
    leads and samples, ``x / (max x - min x)``, as the 3KG base code prepares its records:
    one factor per record, so the ratios between leads stay. A flat record (range 0) is
    left as it is. Applied to the record before it is cropped and augmented, by whoever
    feeds an encoder (:class:`~threekg_lite.pretrain.RecordPool`,
    :func:`~threekg_lite.evaluate.features.extract_features`, fine-tuning), never inside
    ``forward``: the augmentation's scaling acts on the scaled record, as in the base code.
    """
    if input_norm == "none":
        return x
    if input_norm != "range":
        raise ValueError(f"input_norm must be one of {INPUT_NORMS}, got {input_norm!r}")
    span = x.amax(dim=(-2, -1), keepdim=True) - x.amin(dim=(-2, -1), keepdim=True)
    return x / torch.where(span > 0, span, torch.ones_like(span))


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _out_length(length: int, layer: nn.Conv1d | nn.MaxPool1d) -> int:
    """Output length of a convolution or pooling layer: ``floor((L + 2p - k) / s) + 1``."""
    k, s, p = (
        v[0] if isinstance(v, tuple) else v
        for v in (layer.kernel_size, layer.stride, layer.padding)
    )
    return (length + 2 * p - k) // s + 1


class BasicBlock1d(nn.Module):
    """Two ``k``-tap convolutions with batch norm, plus a shortcut, then ReLU.

    Parameters
    ----------
    in_channels, out_channels
        Channels in and out.
    kernel_size
        Odd kernel length of both convolutions (padding ``k // 2`` keeps the length).
    stride
        Stride of the first convolution; with a stride or a change of width the shortcut is
        a 1x1 convolution with that stride followed by batch norm, else the identity.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1):
        super().__init__()
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(in_channels, out_channels, kernel_size, stride, pad, bias=False)
        self.bn1 = nn.BatchNorm1d(out_channels)
        self.conv2 = nn.Conv1d(out_channels, out_channels, kernel_size, 1, pad, bias=False)
        self.bn2 = nn.BatchNorm1d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv1d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm1d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, L)`` -> ``(B, C_out, ceil(L / stride))``."""
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + shortcut)


class ResNet1d(nn.Module):
    """1-D ResNet of BasicBlocks: torchvision's ResNet-18 layout along time.

    Parameters
    ----------
    in_channels
        Leads of the input (12).
    width
        Channels of the first stage; stage ``i`` has ``width * 2**i``.
    kernel_size
        Odd kernel length of the block convolutions (3 as in the 3KG base code; 7 and 15
        are the larger variants). The stem keeps torchvision's 7 taps.
    layers
        BasicBlocks per stage; ``(2, 2, 2, 2)`` is ResNet-18.

    Attributes
    ----------
    out_dim
        Feature dimension, ``width * 2**(len(layers) - 1)`` (512 for ResNet-18).
    min_length
        Shortest accepted input: the total stride (32 for four stages). A shorter input
        would still give one output sample, computed mostly from zero padding.
    """

    def __init__(
        self,
        in_channels: int = 12,
        width: int = 64,
        kernel_size: int = 3,
        layers: tuple[int, ...] = (2, 2, 2, 2),
    ):
        super().__init__()
        _check_positive_int("in_channels", in_channels)
        _check_positive_int("width", width)
        _check_positive_int("kernel_size", kernel_size)
        if kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be odd (padding k // 2 keeps the length), got {kernel_size}"
            )
        if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
            raise ValueError(f"layers must be a sequence of positive ints, got {layers!r}")
        layers = tuple(layers)
        if not layers:
            raise ValueError("layers must name at least one stage, got ()")
        for i, n in enumerate(layers):
            _check_positive_int(f"layers[{i}]", n)

        self.in_channels = in_channels
        self.width = width
        self.kernel_size = kernel_size
        self.layers = layers

        self.stem = nn.Sequential(
            nn.Conv1d(in_channels, width, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm1d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(3, stride=2, padding=1),
        )
        stages = []
        channels = width
        for i, n_blocks in enumerate(layers):
            out_channels = width * 2**i
            blocks = [BasicBlock1d(channels, out_channels, kernel_size, 1 if i == 0 else 2)]
            blocks += [
                BasicBlock1d(out_channels, out_channels, kernel_size) for _ in range(n_blocks - 1)
            ]
            stages.append(nn.Sequential(*blocks))
            channels = out_channels
        self.stages = nn.Sequential(*stages)
        self.out_dim = channels
        self.min_length = math.prod(
            layer.stride[0] if isinstance(layer.stride, tuple) else layer.stride
            for layer in self._length_path()
        )
        init_weights(self)

    def _length_path(self) -> list[nn.Conv1d | nn.MaxPool1d]:
        """The layers along the main path that set the time length, in order."""
        path: list[nn.Conv1d | nn.MaxPool1d] = [self.stem[0], self.stem[3]]
        for stage in self.stages:
            for block in stage:
                path += [block.conv1, block.conv2]
        return path

    def feature_length(self, length: int) -> int:
        """Time length of the last stage's feature map for an input of ``length`` samples."""
        for layer in self._length_path():
            length = _out_length(length, layer)
        return length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode ECGs.

        Parameters
        ----------
        x
            ``(B, in_channels, T)``, ``T >= min_length``.

        Returns
        -------
        ``(B, out_dim)``: the stage-4 feature map averaged over time.
        """
        expected = f"(B, {self.in_channels}, T)"
        if x.ndim != 3:
            raise ValueError(f"expected {expected} input, got {x.ndim}-D shape {tuple(x.shape)}")
        _, channels, length = x.shape
        if channels != self.in_channels:
            raise ValueError(
                f"expected {expected} input, got shape {tuple(x.shape)} ({channels} channels)"
            )
        if length < self.min_length:
            raise ValueError(
                f"input of {length} samples is too short: the encoder downsamples time by "
                f"{self.min_length}, so it needs T >= {self.min_length}"
            )
        return self.stages(self.stem(x)).mean(dim=-1)


class LeadwiseEncoder(nn.Module):
    """One single-lead :class:`ResNet1d` shared by every lead, lead embeddings averaged.

    The layout of the 3KG base code's SimCLR/3KG systems: an ECG ``(B, L, T)`` is encoded as
    ``B * L`` single-channel signals ``(B * L, 1, T)`` by the same network, and the ``L``
    embeddings of each ECG are averaged, ``h = (1 / L) Σ_l f(x_l)``. The network never sees
    two leads together, so it cannot read the spatial relation between leads that 3KG's
    rotations and scalings change; it costs about ``L`` times the FLOPs of a 12-channel
    encoder of the same width.

    Parameters
    ----------
    leads
        Leads of the input (12).
    width, kernel_size, layers
        Passed to :class:`ResNet1d` (with one input channel).
    """

    def __init__(
        self,
        leads: int = 12,
        width: int = 64,
        kernel_size: int = 3,
        layers: tuple[int, ...] = (2, 2, 2, 2),
    ):
        super().__init__()
        self.in_channels = _check_positive_int("in_channels", leads)
        self.net = ResNet1d(1, width, kernel_size, layers)
        self.width, self.kernel_size, self.layers = width, kernel_size, self.net.layers
        self.out_dim, self.min_length = self.net.out_dim, self.net.min_length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, leads, T)`` -> ``(B, out_dim)``: the mean over leads of each lead's features."""
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"expected (B, {self.in_channels}, T) input, got shape {tuple(x.shape)}"
            )
        b, leads, t = x.shape
        per_lead = self.net(x.reshape(b * leads, 1, t))  # (B * L, D)
        return per_lead.view(b, leads, -1).mean(dim=1)


class ProjectionHead(nn.Module):
    """SimCLR projection MLP: Linear -> BatchNorm1d -> ReLU -> Linear.

    Parameters
    ----------
    in_dim
        Input features (the encoder's ``out_dim``).
    hidden
        Hidden units; ``None`` means ``in_dim``.
    out_dim
        Projection dimension (128).

    In training mode the batch norm needs a batch of at least 2.
    """

    def __init__(self, in_dim: int, hidden: int | None = None, out_dim: int = 128):
        super().__init__()
        hidden = in_dim if hidden is None else hidden
        for name, value in (("in_dim", in_dim), ("hidden", hidden), ("out_dim", out_dim)):
            _check_positive_int(name, value)
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

    Parameters
    ----------
    in_channels, width, kernel_size, layers
        Passed to :class:`ResNet1d` (or :class:`LeadwiseEncoder`).
    proj_hidden, proj_dim
        Hidden and output size of the :class:`ProjectionHead` (``None``: the encoder's
        ``out_dim``).
    layout
        One of :data:`LAYOUTS`: ``"12-channel"`` (:class:`ResNet1d` on all leads) or
        ``"lead-wise"`` (:class:`LeadwiseEncoder`).
    input_norm
        One of :data:`INPUT_NORMS`: the scaling of the records this model is trained on and
        fed (:func:`scale_input`), kept with the model so that a checkpoint's features are
        extracted as it was trained.
    """

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
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        if input_norm not in INPUT_NORMS:
            raise ValueError(f"input_norm must be one of {INPUT_NORMS}, got {input_norm!r}")
        self.layout = layout
        self.input_norm = input_norm
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


@torch.no_grad()
def init_weights(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """Initialise the convolutions, batch norms and linear layers of ``module`` in place.

    Convolutions get ``kaiming_normal_(mode="fan_out", nonlinearity="relu")`` (as torchvision's
    ResNet). Without a generator that is all (the rest keeps PyTorch's default, drawn from
    the global RNG). With one, every parameter is redrawn from it alone: batch norm weight 1,
    bias 0 and fresh running statistics, linear layers with PyTorch's default law
    (``kaiming_uniform_(a=sqrt(5))``, bias ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``).

    Raises
    ------
    TypeError
        With a generator, if ``module`` holds parameters of another layer type.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv1d):
            nn.init.kaiming_normal_(
                m.weight, mode="fan_out", nonlinearity="relu", generator=generator
            )
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif generator is None:
            continue
        elif isinstance(m, nn.BatchNorm1d):
            m.reset_parameters()  # weight 1, bias 0, running mean 0, var 1, count 0
        elif isinstance(m, nn.Linear):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                bound = 1.0 / math.sqrt(m.in_features)
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)
        elif any(True for _ in m.parameters(recurse=False)):
            raise TypeError(f"init_weights does not know how to initialise {type(m).__name__}")


def build_model(
    config: dict[str, Any] | str | None = None,
    *,
    generator: torch.Generator | None = None,
    **overrides: Any,
) -> ContrastiveModel:
    """Build a :class:`ContrastiveModel` from a config.

    Parameters
    ----------
    config
        A dict as returned by :attr:`ContrastiveModel.config` (missing keys take the values
        of :data:`DEFAULT_CONFIG`), a :data:`PRESETS` name, or ``None`` for the default.
    generator
        If given, every parameter and buffer is initialised from it alone (see
        :func:`init_weights`): the same seed gives the same model whatever the global RNG
        state, which is left untouched. Otherwise the global RNG is used.
    **overrides
        Config keys that replace those of ``config``.

    Raises
    ------
    ValueError
        Unknown preset, unknown keys, an ``arch`` other than ``"resnet18_1d"``, or invalid
        sizes (e.g. an even kernel).
    """
    if config is None:
        config = {}
    elif isinstance(config, str):
        if config not in PRESETS:
            raise ValueError(f"unknown preset {config!r}; known: {sorted(PRESETS)}")
        config = PRESETS[config]
    cfg = {**DEFAULT_CONFIG, **config, **overrides}
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


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (``requires_grad``) of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def forward_flops(model: nn.Module, length: int, in_channels: int = 12, batch: int = 1) -> int:
    """FLOPs (2 x multiply-accumulates) of one forward pass on ``(batch, in_channels, length)``.

    Counted by :class:`torch.utils.flop_counter.FlopCounterMode`, which counts convolutions
    and matrix products (not batch norm, activations or pooling). The pass runs on the
    ``"meta"`` device (shapes only, no arithmetic, ``model`` left unchanged), in eval mode.

    Parameters
    ----------
    model
        Any module, e.g. a :class:`ResNet1d` or a :class:`ContrastiveModel`.
    length, in_channels, batch
        Input shape.
    """
    tensors = {
        name: torch.empty_like(t, device="meta")
        for name, t in (*model.named_parameters(), *model.named_buffers())
    }
    x = torch.empty(batch, in_channels, length, device="meta")
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter:
            functional_call(model, tensors, (x,))
    finally:
        for m, training in modes:
            m.training = training
    return counter.get_total_flops()
