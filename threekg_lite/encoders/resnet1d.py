"""The encoders: a 1-D ResNet of BasicBlocks (torchvision's ResNet-18 along time) and the
lead-wise layout of the 3KG base code (one single-lead network shared by every lead).

:class:`ResNet1d` has a stem (7-tap convolution with stride 2, batch norm, ReLU, max-pool with
stride 2), stages of BasicBlocks with ``width * 2**i`` channels (the first block of stages
2-4 halves the time axis and has a 1x1 convolution + batch norm shortcut), then the mean over
time: ``(B, 12, T) -> (B, 512)`` for ResNet-18.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from threekg_lite.runtime.checks import check_int


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
        check_int("in_channels", in_channels)
        check_int("width", width)
        check_int("kernel_size", kernel_size)
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
            check_int(f"layers[{i}]", n)

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
        self.in_channels = check_int("in_channels", leads)
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
