"""Lead names as files spell them (``AVR``, ``avr``, ``aVR``; ``v1``/``V1``), and the order
that puts a file's leads into the standard one."""

from __future__ import annotations

from collections.abc import Sequence

from threekg_lite.leads import LEAD_NAMES

FRANK_LEADS: tuple[str, ...] = ("vx", "vy", "vz")  # as PTB Diagnostic names its Frank leads

_CANONICAL = {name.lower(): name for name in LEAD_NAMES}


def canonical_lead_name(name: str) -> str | None:
    """The standard spelling of a lead name, or ``None`` if it is not a standard lead.

    >>> canonical_lead_name("AVR"), canonical_lead_name("v1"), canonical_lead_name("vx")
    ('aVR', 'V1', None)
    """
    return _CANONICAL.get(name.strip().lower())


def lead_order(names: Sequence[str], source: str = "record") -> list[int]:
    """``order`` such that ``signals[order]`` is in :data:`LEAD_NAMES` order, for lead names as
    a file spells them (any case); a missing, unknown or repeated lead is a ``ValueError``
    naming ``source`` (usually the file) and listing what was found and expected."""
    canonical = [canonical_lead_name(n) for n in names]
    unknown = [n for n, c in zip(names, canonical) if c is None]
    if unknown:
        raise ValueError(
            f"{source}: unknown lead name(s) {unknown}; expected the 12 standard leads "
            f"{list(LEAD_NAMES)} (any case)"
        )
    seen: dict[str, int] = {}
    for i, c in enumerate(canonical):
        if c in seen:
            raise ValueError(f"{source}: lead {c} appears twice (positions {seen[c]} and {i})")
        seen[c] = i  # type: ignore[index]
    missing = [n for n in LEAD_NAMES if n not in seen]
    if missing:
        raise ValueError(
            f"{source}: {len(names)} ECG lead(s) {list(names)}; missing {missing}. "
            "threekg_lite needs all 12 standard leads."
        )
    return [seen[n] for n in LEAD_NAMES]
