"""What an encoder costs: trainable parameters and forward FLOPs (shapes only, no arithmetic).

For one ``12 x 2500`` view (10 s at 250 Hz), width 64, layers (2, 2, 2, 2), block kernel 3
(default) / 7 / 15: 3.85 / 8.73 / 18.5 M parameters, 0.870 / 1.96 / 4.15 GFLOP forward. The
projection head (512-512-128) adds 0.33 M parameters and 0.66 MFLOP. A training step costs
about 3 x the forward pass, and 3KG's loss needs two views per ECG.
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
    """FLOPs (2 x multiply-accumulates) of one forward pass on ``(batch, in_channels, length)``:
    convolutions and matrix products only, counted by ``FlopCounterMode`` in eval mode on the
    ``"meta"`` device (shapes only, no arithmetic, ``model`` left unchanged)."""
    named = (*model.named_parameters(), *model.named_buffers())
    tensors = {name: torch.empty_like(t, device="meta") for name, t in named}
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
