"""Dower's transform between the heart's 3-D dipole (the VCG: X, Y, Z) and the 12-lead ECG.

Axes follow Frank's convention as used by Dower: **X** points to the patient's left, **Y**
towards the feet (inferior), **Z** towards the back (posterior). So lead I sees mostly +X,
lead II mostly +Y, and V1/V2 see mostly -Z.

``DOWER`` (12 x 3, rows in standard lead order) gives each lead as a weighted sum of X, Y, Z
(Dower, Machado & Osborne, *Clin. Cardiol.* 1980; values as tabulated in
``../shared/reference/3kg-method.md``). Its rows for III, aVR, aVL and aVF are *derived*
here from rows I and II with the exact limb-lead identities, so that every ECG made from a
VCG satisfies III = II - I etc. to floating-point precision (the published rows agree with
the derived ones to within 0.0005).
"""

from __future__ import annotations

import numpy as np

# Rows I, II, V1..V6 (columns X, Y, Z), Dower 1980.
_DOWER_INDEPENDENT = np.array(
    [
        [0.632, -0.235, 0.059],  # I
        [0.235, 1.066, -0.132],  # II
        [-0.515, 0.157, -0.917],  # V1
        [0.044, 0.164, -1.387],  # V2
        [0.882, 0.098, -1.277],  # V3
        [1.213, 0.127, -0.601],  # V4
        [1.125, 0.127, -0.086],  # V5
        [0.831, 0.076, 0.230],  # V6
    ]
)


def _dower_12() -> np.ndarray:
    i, ii = _DOWER_INDEPENDENT[0], _DOWER_INDEPENDENT[1]
    derived = np.stack([ii - i, -(i + ii) / 2, i - ii / 2, ii - i / 2])
    return np.concatenate([_DOWER_INDEPENDENT[:2], derived, _DOWER_INDEPENDENT[2:]])


DOWER_8: np.ndarray = _DOWER_INDEPENDENT.copy()
"""(8, 3): rows I, II, V1..V6; columns X, Y, Z."""
DOWER_8.setflags(write=False)

DOWER: np.ndarray = _dower_12()
"""(12, 3): rows in standard lead order; limb rows III..aVF derived exactly from I and II."""
DOWER.setflags(write=False)
