"""The record set on the training device: one tensor, cropped by index, no copy per step."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from threekg_lite.data.preprocess import scale_input


class RecordPool:
    """A record set ``(N, 12, T)`` mV held as one tensor on ``device``, with ``ids`` ``(N,)``
    int64 group ids marking the contrastive positives. ``dtype``: default float16 on a GPU
    (11-bit precision, ample for mV), float32 on a CPU; ``input_norm``: how records are scaled
    as they are stored (:func:`~.preprocess.scale_input`)."""

    def __init__(
        self,
        signals: np.ndarray | torch.Tensor,
        ids: np.ndarray | torch.Tensor,
        device: torch.device | str = "cpu",
        dtype: torch.dtype | None = None,
        input_norm: str = "none",
    ) -> None:
        device = torch.device(device)
        if dtype is None:
            dtype = torch.float16 if device.type == "cuda" else torch.float32
        if not torch.is_tensor(signals):
            signals = np.asarray(signals)
        shape = tuple(signals.shape)
        if len(shape) != 3 or shape[1] != 12:
            raise ValueError(f"signals must be (N, 12, T), got {shape}")
        if (torch.is_tensor(signals) or signals.flags.writeable) and input_norm == "none":
            self.data = torch.as_tensor(signals).to(device=device, dtype=dtype).contiguous()
        else:
            # A read-only (memory-mapped) array, which torch cannot wrap without a warning, or
            # records to scale: done in chunks, never whole into host memory twice.
            self.data = torch.empty(shape, dtype=dtype, device=device)
            for i in range(0, shape[0], 1024):
                chunk = signals[i : i + 1024]
                chunk = chunk if torch.is_tensor(chunk) else torch.from_numpy(np.array(chunk))
                chunk = scale_input(chunk.to(device=device, dtype=torch.float32), input_norm)
                self.data[i : i + 1024] = chunk.to(dtype)
        self.ids = torch.as_tensor(np.asarray(ids), dtype=torch.int64, device=device)
        if self.ids.shape != (self.data.shape[0],):
            raise ValueError(f"ids must be ({self.data.shape[0]},), got {tuple(self.ids.shape)}")

    def __len__(self) -> int:
        return self.data.shape[0]

    @property
    def n_samples(self) -> int:
        return self.data.shape[-1]

    def crops(self, index: torch.Tensor, start: torch.Tensor, length: int) -> torch.Tensor:
        """``(B, 12, length)`` float32: record ``index[b]`` from sample ``start[b]`` on, one
        gather from a strided view of all windows (no copy of the pool, no Python loop)."""
        windows = self.data.unfold(2, length, 1)  # (N, 12, T - length + 1, length), a view
        return windows[index, :, start].float()


def group_ids(records: Any, positives: str) -> np.ndarray:
    """``(N,)`` int64 ids whose equal values mark positives (record or patient)."""
    keys = records.patient_ids if positives == "patient" else records.record_ids
    return np.unique(np.asarray(keys), return_inverse=True)[1].astype(np.int64)
