"""CinC files as they circulate: the first 2020 release's CPSC abbreviations on the ``#Dx:``
line, and 2020-era copies whose header gains disagree with the 2021 release's. Every case is
a variant of a real record of the shared sample, written to a temporary folder."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from threekg_lite.data.cinc import (
    CPSC_ABBREVIATIONS,
    WRONG_2020_GAINS,
    dx_codes,
    load_cinc,
    wrong_2020_gain,
)
from threekg_lite.data.preprocess import amplitude_span
from threekg_lite.runtime.errors import ECGFormatError


def variant(
    data_dir: Path, tmp: Path, name: str, *, dx: str | None = None, gain: float | None = None
):
    """Copy record ``name`` of the shared sample into ``tmp/cinc2021`` and rewrite its
    ``#Dx:`` line and/or every signal line's gain (samples untouched)."""
    src = data_dir / "cinc2021-sample"
    dst = tmp / "cinc2021"
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / f"{name}.mat", dst / f"{name}.mat")
    lines = (src / f"{name}.hea").read_text().splitlines()
    out = []
    for i, line in enumerate(lines):
        if dx is not None and line.startswith("#Dx:"):
            line = f"#Dx: {dx}"
        elif gain is not None and 0 < i <= 12:
            fields = line.split()
            unit = fields[2].split("/", 1)[1]
            fields[2] = f"{gain:g}/{unit}"
            line = " ".join(fields)
        out.append(line)
    (dst / f"{name}.hea").write_text("\n".join(out) + "\n")
    return tmp


def test_cpsc_abbreviations_map_to_the_codes_of_later_releases(data_dir, tmp_path):
    original = load_cinc(data_dir, records=["A0689"], progress=False)  # #Dx: 164889003 (AF)
    root = variant(data_dir, tmp_path, "A0689", dx="AF,RBBB")
    got = load_cinc(root, progress=False)
    names = got.labels["scored"].names
    assert [names[j] for j in np.flatnonzero(got.y("scored")[0])] == ["AF", "CRBBB"]
    assert got.meta["dx"][0] == "164889003,59118001"
    np.testing.assert_array_equal(got.signals, original.signals)
    assert dx_codes("Normal") == ["426783006"] and dx_codes("I-AVB, PAC") == [
        "270492004",
        "284470004",
    ]
    assert set(CPSC_ABBREVIATIONS) == {
        "Normal", "AF", "I-AVB", "LBBB", "RBBB", "PAC", "PVC", "STD", "STE"
    }  # fmt: skip


def test_a_label_that_is_not_snomed_is_refused_naming_the_file(data_dir, tmp_path):
    root = variant(data_dir, tmp_path, "A0689", dx="AF,LQTS")
    with pytest.raises(ECGFormatError, match=r"A0689\.hea.*'LQTS' is neither a SNOMED-CT code"):
        load_cinc(root, progress=False)


@pytest.mark.parametrize("name", ["HR06001", "E07500"])
def test_a_2020_era_gain_is_read_at_the_release_gain_with_a_warning(data_dir, tmp_path, name):
    """The same samples with the 2020 copy's header gain: read faithfully they would be off by
    the ratio of the gains; the loader reads them at 1000 per mV and names the record."""
    wrong = WRONG_2020_GAINS[name[:2] if name.startswith("HR") else name[0]]
    original = load_cinc(data_dir, records=[name], progress=False)
    root = variant(data_dir, tmp_path, name, gain=wrong)
    with pytest.warns(UserWarning, match=rf"2020-era.*{name} \({wrong:g}\)"):
        got = load_cinc(root, progress=False)
    np.testing.assert_allclose(got.signals, original.signals, rtol=1e-6, atol=1e-6)
    assert wrong_2020_gain(name, [wrong] * 12) == wrong
    assert wrong_2020_gain(name, [1000.0] * 12) is None
    assert wrong_2020_gain("A0689", [200.0] * 12) is None  # CPSC: no known 2020 gain issue


@pytest.mark.parametrize("gain", [2_000_000.0, 1.0])
def test_an_implausible_amplitude_is_reported_naming_the_record(data_dir, tmp_path, gain):
    root = variant(data_dir, tmp_path, "A1041", gain=gain)
    with pytest.warns(UserWarning, match=r"implausible amplitude.*A1041"):
        load_cinc(root, progress=False)


def test_the_shared_sample_loads_without_a_warning(data_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        records = load_cinc(data_dir, progress=False)
    span = amplitude_span(records.signals, records.fs)
    assert 0.3 < span.min() and span.max() < 4.0
