"""What an encoder costs: trainable parameters and forward FLOPs (shapes only, no arithmetic).

Measured for one ``12 x 2500`` view (10 s at 250 Hz), width 64, layers (2, 2, 2, 2):

============  ==========  ===================
block kernel  parameters  forward GFLOP/view
============  ==========  ===================
3 (default)   3.85 M      0.870
7             8.73 M      1.96
15            18.5 M      4.15
============  ==========  ===================

The projection head (512-512-128) adds 0.33 M parameters and 0.66 MFLOP per view. A
training step costs about 3 x the forward pass, and 3KG's loss needs two views per ECG.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call
from torch.utils.flop_counter import FlopCounterMode


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
