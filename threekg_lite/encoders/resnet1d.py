"""The encoders: a 1-D ResNet (torchvision's ResNet-18 along time) and the lead-wise layout
of the 3KG base code (one single-lead network shared by every lead)."""

from __future__ import annotations

import math

import torch
from torch import nn

from threekg_lite.runtime.checks import check_batch, check_int


class BasicBlock1d(nn.Module):
    """Two ``k``-tap convolutions (``k`` odd, padding ``k // 2``) with batch norm, plus a
    shortcut, then ReLU. ``stride`` is the first convolution's; with a stride or a change of
    width the shortcut is a 1x1 convolution with that stride and batch norm."""

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

    A stem (7-tap convolution and max-pool, both stride 2), stages of ``layers[i]`` blocks of
    ``width * 2**i`` channels (each later stage halves time), the mean over time. Odd
    ``kernel_size``: 3 in the 3KG base code, 7 and 15 the larger variants. ``min_length``, the
    total stride, is the shortest input accepted (a shorter one would be mostly padding)."""

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
        if not (layers := tuple(layers)):
            raise ValueError("layers must name at least one stage, got ()")
        for i, n in enumerate(layers):
            check_int(f"layers[{i}]", n)

        self.in_channels, self.width = in_channels, width
        self.kernel_size, self.layers = kernel_size, layers

        stem = nn.Conv1d(in_channels, width, 7, stride=2, padding=3, bias=False)
        pool = nn.MaxPool1d(3, stride=2, padding=1)
        self.stem = nn.Sequential(stem, nn.BatchNorm1d(width), nn.ReLU(inplace=True), pool)
        stages, channels = [], width
        for i, n_blocks in enumerate(layers):
            out = width * 2**i
            first = BasicBlock1d(channels, out, kernel_size, 1 if i == 0 else 2)
            rest = (BasicBlock1d(out, out, kernel_size) for _ in range(n_blocks - 1))
            stages.append(nn.Sequential(first, *rest))
            channels = out
        self.stages = nn.Sequential(*stages)
        self.out_dim = channels
        # Every layer maps a length L to ceil(L / stride) (odd kernels, padding k // 2): the
        # stem's convolution and pool halve time, and so does each later stage.
        self.min_length = 2 ** (len(layers) + 1)
        init_weights(self)

    def feature_length(self, length: int) -> int:
        """Time length of the last feature map for an input of ``length`` samples."""
        return -(-length // self.min_length)  # ceil(length / min_length)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, T >= min_length)`` -> ``(B, out_dim)``."""
        check_batch(x, self.min_length, self.in_channels)
        return self.stages(self.stem(x)).mean(dim=-1)


class LeadwiseEncoder(nn.Module):
    """One single-lead :class:`ResNet1d` shared by every lead, ``h = (1 / L) Σ_l f(x_l)``: the
    3KG base code's layout. It never sees two leads together, so it cannot read the spatial
    relation between leads that 3KG's rotations change, and costs ``L`` times the FLOPs."""

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
        check_batch(x, self.min_length, self.in_channels)
        b, leads, t = x.shape
        per_lead = self.net(x.reshape(b * leads, 1, t))  # (B * L, D)
        return per_lead.view(b, leads, -1).mean(dim=1)


@torch.no_grad()
def init_weights(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """Initialise ``module``'s layers in place: convolutions as torchvision's ResNet (Kaiming
    normal, fan out); with a ``generator``, every parameter is redrawn from it alone (batch
    norms reset, linear layers by PyTorch's default law), so that a seed fixes the model."""
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
