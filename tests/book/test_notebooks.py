"""Every chapter runs with papermill (parameters injected) and re-validates with nbval.

papermill executes the notebook with the parameters a user would pass; nbval then re-runs the
executed copy and compares each cell's text output with what papermill recorded (images are
not compared), so a chapter whose results are not reproducible from a seed fails. Both run in
subprocesses, isolated from this suite's warnings-as-errors setting.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from threekg_lite import __version__

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
PINNED = f"threekg-lite @ git+https://github.com/threekg-lite/threekg-lite.git@v{__version__}"


def _papermill(nb: Path, out: Path, **params: object) -> None:
    args = [sys.executable, "-m", "papermill", str(nb), str(out), "--cwd", str(nb.parent)]
    args += ["--no-progress-bar", "--kernel", "python3"]
    for k, v in params.items():
        args += ["-p", k, str(v)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"papermill failed on {nb.name}:\n{proc.stderr[-4000:]}"


def _errors(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [
        f"{o.get('ename')}: {o.get('evalue')}"
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]


def _stderr(path: Path) -> list[str]:
    """The stderr blocks of an executed notebook: warnings and log lines a reader would see
    raw, with the build machine's paths in them."""
    nb = nbformat.read(path, as_version=4)
    return [
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
    ]


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.slow
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_papermill_then_nbval(nb: Path, tmp_path: Path, data_dir: Path):
    out = tmp_path / nb.name
    _papermill(nb, out, data_dir=data_dir, fast=True)
    assert not _errors(out)
    noise = _stderr(out)
    assert not noise, f"{nb.name} prints to stderr (a reader sees it raw): {noise[:3]}"
    ini = tmp_path / "pytest.ini"
    ini.write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ini), "--nbval", "--nbval-current-env",
         "-q", str(out)],
        capture_output=True, text=True, timeout=900, cwd=nb.parent,
    )  # fmt: skip
    assert proc.returncode == 0, f"nbval found differences in {nb.name}:\n{proc.stdout[-6000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_runs_without_any_data(nb: Path, tmp_path: Path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    out = tmp_path / nb.name
    _papermill(nb, out, data_dir=empty, fast=True)
    assert not _errors(out)
    text = out.read_text()
    assert "synthetic" in text


def test_notebooks_have_a_parameters_cell_and_no_outputs():
    for nb_path in NOTEBOOKS:
        nb = nbformat.read(nb_path, as_version=4)
        tags = [c.metadata.get("tags", []) for c in nb.cells]
        assert sum("parameters" in t for t in tags) == 1, f"{nb_path.name}: one parameters cell"
        for c in nb.cells:
            if c.cell_type == "code":
                assert not c.outputs, f"{nb_path.name} is committed with outputs"
                assert c.execution_count is None, f"{nb_path.name} has execution counts"


class _RecordingShell:
    """Stands in for IPython's shell: records the magics a cell would run."""

    def __init__(self) -> None:
        self.magics: list[tuple[str, str]] = []

    def run_line_magic(self, name: str, line: str, _stack_depth: int = 1) -> None:
        self.magics.append((name, line))


def _run_install_cell(nb_path: Path, monkeypatch, installed: bool) -> list[tuple[str, str]]:
    """Run the chapter's first code cell as IPython would (magics transformed), with
    ``threekg_lite`` importable or not; return the magics it ran."""
    import importlib.util

    from IPython.core.inputtransformer2 import TransformerManager

    first = next(c for c in nbformat.read(nb_path, as_version=4).cells if c.cell_type == "code")
    code = TransformerManager().transform_cell(first.source)
    shell = _RecordingShell()
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args, **kwargs):
        if name == "threekg_lite" and not installed:
            return None
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    exec(compile(code, f"{nb_path.name}[install cell]", "exec"), {"get_ipython": lambda: shell})
    return shell.magics


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_install_cell_is_a_no_op_where_the_package_is_installed(nb: Path, monkeypatch):
    """The Colab cell installs the package from the repository only when it is missing, and
    never upgrades what is there (Colab's own torch stays)."""
    assert _run_install_cell(nb, monkeypatch, installed=True) == []
    magics = _run_install_cell(nb, monkeypatch, installed=False)
    assert len(magics) == 1 and magics[0][0] == "pip", magics
    line = magics[0][1]
    # Pinned to the release that built the book: the tag of this version.
    assert f'"{PINNED}"' in line, f"{nb.name}: install the release v{__version__}: {line}"
    for flag in ("-U", "--upgrade", "--force-reinstall", "torch"):
        assert flag not in line.split(), f"{nb.name}: the install cell passes {flag}"


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_the_release_the_chapters_install_is_this_code():
    """The chapters install the tag ``v<__version__>``: it must hold this commit's package and
    ``pyproject.toml`` ``[project]`` table, or a Colab reader runs other code than built the
    book (the chapters of 0.3.0 import ``threekg_lite.viz``, which the 0.2.0 they pinned until
    then lacks). Changed the package after a release? Raise the version, then tag (README)."""
    import tomllib

    tag = f"v{__version__}"
    top = _git("rev-parse", "--show-toplevel") if shutil.which("git") else None
    if top is None or top.returncode != 0 or Path(top.stdout.strip()).resolve() != ROOT:
        pytest.skip("not a git checkout of this project")
    if _git("rev-parse", "-q", "--verify", f"refs/tags/{tag}^{{commit}}").returncode != 0:
        tags = _git("tag", "--list", "v*").stdout.split()
        if tags and os.environ.get("THREEKG_REQUIRE_RELEASE") == "1":  # CI, with tags fetched
            pytest.fail(f"the chapters install {tag}, which is not tagged (tags: {tags})")
        pytest.skip(f"{tag} is not tagged yet: work towards the next release")
    diff = _git("diff", "--name-only", tag, "HEAD", "--", "threekg_lite")
    assert diff.returncode == 0, diff.stderr
    changed = diff.stdout.split()
    assert not changed, (
        f"changed since {tag}, which the chapters install: {changed}; raise the version"
    )
    tagged = tomllib.loads(_git("show", f"{tag}:pyproject.toml").stdout)["project"]
    here = tomllib.loads(_git("show", "HEAD:pyproject.toml").stdout)["project"]
    assert tagged == here, f"pyproject.toml's [project] changed since {tag}; raise the version"


def test_one_version_everywhere():
    """pyproject.toml, the README's install line and threekg_lite.__version__ agree (the
    chapters' pin is checked above)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == __version__
    readme = (ROOT / "README.md").read_text()
    assert f'pip install "{PINNED}"' in readme, "the README installs another release"
