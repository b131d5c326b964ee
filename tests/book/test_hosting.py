"""Hosting, validated offline: the GitHub Pages workflow and environment.yml.

The workflow (``.github/workflows/book.yml``) cannot run here, so these tests check what can be
checked without GitHub: the YAML parses, triggers, jobs, permissions and environment are those
Pages needs, every command its ``run:`` steps call exists (``make`` targets in the Makefile,
scripts in the repository, followed into the scripts), the published folder is the book's
output, the Python version is one the package allows, and no data path is hard-coded.
``environment.yml`` must mirror the package's requirements (pyproject.toml) on conda-forge + pip.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "book.yml"
BOOK_OUTPUT = "_build/html"
# conda-forge names that differ from the PyPI names of the same projects
CONDA_TO_PYPI = {"pytorch": "torch", "matplotlib-base": "matplotlib", "pytorch-cpu": "torch"}
SHELL_KEYWORDS = {"if", "then", "elif", "else", "fi", "do", "done", "while", "until", "!", "{", "}"}
SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")", ";;"}


# --- helpers -------------------------------------------------------------------------------


def _workflow() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict), "book.yml is not a YAML mapping"
    if True in data:  # YAML 1.1 reads the key `on` as the boolean true
        data["on"] = data.pop(True)
    return data


def _steps(job: str) -> list[dict]:
    steps = _workflow()["jobs"][job]["steps"]
    assert isinstance(steps, list) and steps, f"job {job} has no steps"
    return steps


def _action_step(job: str, action: str) -> dict:
    found = [s for s in _steps(job) if str(s.get("uses", "")).split("@")[0] == action]
    assert len(found) == 1, f"job {job} should use {action} once, found {len(found)}"
    return found[0]


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _makefile() -> str:
    return (REPO / "Makefile").read_text()


def _makefile_targets(text: str) -> set[str]:
    """Explicit target names (``name:`` at the start of a line; ``:=`` is an assignment)."""
    return set(re.findall(r"^([A-Za-z0-9_.-]+)[ \t]*:(?!=)", text, flags=re.M)) - {".PHONY"}


def _recipe(text: str, target: str) -> str:
    m = re.search(rf"^{re.escape(target)}[ \t]*:(?!=).*\n((?:\t.*\n?)*)", text, flags=re.M)
    assert m, f"no recipe for target {target!r} in the Makefile"
    return m.group(1)


def _simple_commands(script: str) -> list[list[str]]:
    """Split shell text into simple commands (word lists), dropping comments and keywords."""
    commands: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] = []
        for token in lexer:
            if token in SEPARATORS:
                commands.append(current)
                current = []
            elif current or token not in SHELL_KEYWORDS:
                current.append(token)
        commands.append(current)
    words = []
    for cmd in commands:
        while cmd and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", cmd[0]):  # FOO=bar cmd ...
            cmd = cmd[1:]
        if cmd:
            words.append(cmd)
    return words


def _make_targets_of(cmd: list[str]) -> list[str]:
    targets, skip = [], False
    for word in cmd[1:]:
        if skip:
            skip = False
        elif word in {"-C", "-f", "--directory", "--file", "--makefile"}:
            skip = True
        elif not word.startswith("-") and "=" not in word:
            targets.append(word)
    return targets


def _scripts_of(cmd: list[str]) -> list[str]:
    """Repository paths a command runs: ``bash X``/``sh X``/``python X.py``, or ``./X``."""
    head, rest = cmd[0], [w for w in cmd[1:] if not w.startswith("-")]
    if head in {"bash", "sh"} and rest:
        return [rest[0]]
    if head in {"python", "python3"} and rest and rest[0].endswith(".py"):
        return [rest[0]]
    if "/" in head and not head.startswith(("$", "/", "~")):
        return [head]
    return []


def _is_tracked(rel: str) -> bool:
    path = REPO / rel
    if not path.is_file():
        return False
    try:
        out = subprocess.run(
            ["git", "ls-files", "--error-unmatch", "--", rel],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
    except OSError:
        return True  # no git: existence is all that can be checked
    if out.returncode != 0 and "not a git repository" in out.stderr:
        return True
    return out.returncode == 0


def _called(script: str, seen: set[str] | None = None) -> tuple[list[str], list[str]]:
    """Make targets and scripts called by shell text, following the scripts it runs."""
    seen = set() if seen is None else seen
    targets: list[str] = []
    scripts: list[str] = []
    for cmd in _simple_commands(script):
        if cmd[0] == "make":
            targets += _make_targets_of(cmd)
        for rel in _scripts_of(cmd):
            rel = str(Path(rel))  # ./.ci/run -> .ci/run
            scripts.append(rel)
            if rel not in seen and (REPO / rel).is_file():
                seen.add(rel)
                more_targets, more_scripts = _called((REPO / rel).read_text(), seen)
                targets += more_targets
                scripts += more_scripts
    return targets, scripts


def _run_text() -> str:
    runs = [s["run"] for job in _workflow()["jobs"] for s in _steps(job) if "run" in s]
    assert runs, "the workflow has no run: step"
    return "\n".join(runs)


def _environment() -> dict:
    data = yaml.safe_load((REPO / "environment.yml").read_text())
    assert isinstance(data, dict), "environment.yml is not a YAML mapping"
    return data


def _conda_spec(entry: str) -> tuple[str, SpecifierSet]:
    """A conda MatchSpec (``numpy>=1.26``, ``python=3.11``, ``c::x 1.2.*``) as PyPI name + specs."""
    m = re.fullmatch(r"(?:[\w.-]+::)?([A-Za-z0-9_.-]+)\s*(.*)", entry.strip())
    assert m, f"unreadable conda spec {entry!r}"
    name, version = m.group(1).lower(), m.group(2).replace(" ", "")
    if version and version[0].isdigit():  # "numpy 1.26.*": an exact (fuzzy) version
        version = "==" + version
    elif version.startswith("=") and not version.startswith("=="):  # conda's "=3.11" = 3.11.*
        first, _, others = version[1:].partition(",")
        first = first if first.endswith("*") else first + ".*"
        version = "==" + first + ("," + others if others else "")
    return canonicalize_name(CONDA_TO_PYPI.get(name, name)), SpecifierSet(version)


def _environment_requirements() -> tuple[dict[str, SpecifierSet], dict[str, SpecifierSet]]:
    """(conda, pip) requirements of environment.yml by normalised PyPI name."""
    conda: dict[str, SpecifierSet] = {}
    pip: dict[str, SpecifierSet] = {}
    for dep in _environment().get("dependencies") or []:
        if isinstance(dep, dict):
            lines = list(dep.get("pip") or [])
            while lines:
                line = str(lines.pop(0)).split(" #")[0].strip()
                if line.startswith(("-r ", "--requirement ")):  # follow an included file
                    lines += (REPO / line.split(None, 1)[1]).read_text().splitlines()
                elif line and not line.startswith(("-", "#", ".")):
                    req = Requirement(line)
                    pip[canonicalize_name(req.name)] = req.specifier
        else:
            name, spec = _conda_spec(str(dep))
            conda[name] = spec
    return conda, pip


def _stricter(env: SpecifierSet, package: SpecifierSet) -> list[str]:
    """Clauses of ``env`` that exclude versions ``package`` allows above its minimum."""
    minimum = max(
        (Version(s.version) for s in package if s.operator in {">=", ">", "=="}), default=None
    )
    same = {str(s) for s in package}
    bad = []
    for s in env:
        if str(s) in same:
            continue
        if minimum is not None and s.operator == ">=" and Version(s.version) <= minimum:
            continue
        if minimum is not None and s.operator == ">" and Version(s.version) < minimum:
            continue
        bad.append(str(s))
    return bad


def _package_requirements(extras: bool) -> dict[str, SpecifierSet]:
    project = _pyproject()["project"]
    reqs = list(project["dependencies"])
    if extras:
        for group in project.get("optional-dependencies", {}).values():
            reqs += group
    out: dict[str, SpecifierSet] = {}
    for line in reqs:
        req = Requirement(line)
        out.setdefault(canonicalize_name(req.name), req.specifier)
    return out


def _python_versions(spec: SpecifierSet) -> set[str]:
    return {f"3.{minor}" for minor in range(8, 20) if spec.contains(f"3.{minor}")}


# --- the checkers themselves can fail -----------------------------------------------------


@pytest.mark.parametrize(
    ("conda", "package", "ok"),
    [
        ("numpy>=1.26", ">=1.26", True),
        ("numpy>=1.24", ">=1.26", True),
        ("numpy", ">=1.26", True),
        ("jupyter-book>=1.0,<2", ">=1.0,<2", True),
        ("numpy>=2.0", ">=1.26", False),
        ("numpy=2.4", ">=1.26", False),
        ("numpy==2.4.6", ">=1.26", False),
        ("numpy<2", ">=1.26", False),
    ],
)
def test_strictness_checker(conda, package, ok):
    _, spec = _conda_spec(conda)
    assert (not _stricter(spec, SpecifierSet(package))) is ok


def test_command_parser_finds_make_targets_and_scripts():
    targets, scripts = _called("make book test # not: make nothing\nFOO=1 bash .ci/run && ./x.sh")
    assert targets[:2] == ["book", "test"] and "nothing" not in targets
    assert {"install", "lint"} <= set(targets)  # followed into .ci/run
    assert scripts[0] == ".ci/run" and scripts[-1] == "x.sh"
    assert ".ci/versions" in scripts  # followed into .ci/run


# --- the workflow --------------------------------------------------------------------------


def test_workflow_triggers():
    on = _workflow()["on"]
    assert isinstance(on, dict), "on: should be a mapping with push and workflow_dispatch"
    assert "workflow_dispatch" in on
    branches = (on.get("push") or {}).get("branches") or []
    assert "main" in branches, f"push branches {branches} should include main"
    book_branch = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]["branch"]
    assert book_branch in branches, "the book's repository.branch is not the one published"


def test_workflow_jobs_permissions_and_environment():
    wf = _workflow()
    jobs = wf["jobs"]
    assert set(jobs) == {"build", "deploy"}
    build, deploy = jobs["build"], jobs["deploy"]
    assert build["runs-on"] == "ubuntu-latest" and build.get("timeout-minutes") == 60
    assert "needs" not in build
    needs = deploy.get("needs")
    assert needs == "build" or needs == ["build"], f"deploy needs {needs!r}"
    assert deploy.get("permissions") == {"pages": "write", "id-token": "write"}
    env = deploy.get("environment") or {}
    name = env.get("name") if isinstance(env, dict) else env
    assert name == "github-pages"
    assert (wf.get("concurrency") or {}).get("group") == "pages"
    top = wf.get("permissions")
    assert isinstance(top, dict), "set the workflow's permissions explicitly (least privilege)"
    for where, perms in [("workflow", top), ("build", build.get("permissions") or {})]:
        assert perms.get("contents", "read") == "read", f"{where} should not write the repository"
        assert "pages" not in perms, f"{where}: only deploy needs pages: write"


def test_workflow_actions_are_pinned_to_major_versions():
    expected = {
        ("build", "actions/checkout", "v4"),
        ("build", "actions/setup-python", "v5"),
        ("build", "actions/upload-pages-artifact", "v3"),
        ("deploy", "actions/deploy-pages", "v4"),
    }
    used = set()
    for job in _workflow()["jobs"]:
        for step in _steps(job):
            if "uses" in step:
                action, _, ref = str(step["uses"]).partition("@")
                assert re.fullmatch(r"v\d+", ref), f"{step['uses']}: pin a major version (@vN)"
                used.add((job, action, ref))
    assert expected <= used, f"missing or different: {sorted(expected - used)}"


def test_setup_python_version_is_allowed_and_pip_is_cached():
    inputs = _action_step("build", "actions/setup-python").get("with") or {}
    version = inputs.get("python-version")
    assert isinstance(version, str), f"quote python-version ({version!r}: 3.10 reads as 3.1)"
    requires = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert requires.contains(version), f"Python {version} is outside requires-python {requires}"
    env_python = _conda_spec(
        next(d for d in _environment()["dependencies"] if str(d).startswith("python"))
    )[1]
    assert env_python.contains(version), f"environment.yml's python {env_python} != {version}"
    assert inputs.get("cache") == "pip"
    key = inputs.get("cache-dependency-path")
    assert key and _is_tracked(key), f"pip cache key {key!r} is not a tracked file"
    assert f"-r {key}" in _recipe(_makefile(), "$(STAMP)"), "cache key is not what make installs"


def test_run_steps_call_existing_make_targets_and_scripts():
    targets, scripts = _called(_run_text())
    assert targets or scripts, "the run steps call neither make nor a script"
    defined = _makefile_targets(_makefile())
    missing = sorted(set(targets) - defined)
    assert not missing, f"make targets not defined in the Makefile: {missing}"
    # The package's own commands, which `make install` puts in .venv/bin, are there too.
    installed = {f".venv/bin/{name}" for name in _pyproject()["project"].get("scripts", {})}
    absent = sorted(s for s in set(scripts) if not _is_tracked(s) and s not in installed)
    assert not absent, f"scripts not tracked in the repository: {absent}"


def test_workflow_runs_the_readme_commands():
    targets, _ = _called(_run_text())
    readme = (REPO / "README.md").read_text()
    for command in ("book", "test"):
        assert f"make {command}" in readme
        assert command in targets, f"the workflow never runs `make {command}`"


def test_published_folder_is_the_book_output():
    steps = _steps("build")
    upload = _action_step("build", "actions/upload-pages-artifact")
    path = str((upload.get("with") or {}).get("path", "")).rstrip("/")
    assert Path(path) == Path(BOOK_OUTPUT), f"uploads {path!r}, the book is in {BOOK_OUTPUT}"
    runs_book = [i for i, s in enumerate(steps) if "book" in _called(s.get("run", ""))[0]]
    assert runs_book and runs_book[0] < steps.index(upload), "upload before the book is built"
    recipe = _recipe(_makefile(), "book")
    assert re.search(r"jupyter-book build \.(\s|$)", recipe), "make book builds another folder"
    assert "--path-output" not in recipe and "--builder" not in recipe
    assert f"{BOOK_OUTPUT}/index.html" in recipe, "make book reports another output"


def test_data_variables_are_not_hard_coded_to_missing_paths():
    sources = _makefile() + (REPO / ".ci" / "run").read_text()
    names = set(re.findall(r"\b(THREEKG_[A-Z0-9_]+)\b", sources))
    assert "THREEKG_DATA_DIR" in names
    wf = _workflow()
    settings = [wf.get("env") or {}]
    for job in wf["jobs"].values():
        settings.append(job.get("env") or {})
        settings += [s.get("env") or {} for s in job["steps"]]
    values = [(k, str(v)) for env in settings for k, v in env.items() if k in names]
    pattern = r"\b(" + "|".join(sorted(names)) + r")=(\"[^\"]*\"|'[^']*'|\S+)"
    values += [(k, v.strip("\"'")) for k, v in re.findall(pattern, _run_text())]
    downloaded = _teaching_download_targets()
    for name, value in values:
        if name == "THREEKG_DATA_DIR" and _runner_path(value) in downloaded:
            continue  # filled by an earlier step's `threekg download teaching`
        if name == "THREEKG_DATA_DIR":
            path = value.replace("${{ github.workspace }}", str(REPO))
            target = (Path(path) if Path(path).is_absolute() else REPO / path).resolve()
            inside = target.is_relative_to(REPO.resolve())  # a runner has only the checkout
            assert inside and target.is_dir(), f"{name}={value}: no such folder on a runner"
        elif name == "THREEKG_REQUIRE_DATA":
            assert value != "1", "THREEKG_REQUIRE_DATA=1 fails the build: GitHub has no data"


def _runner_path(value: str) -> str:
    """A path as the runner's shell and the workflow's expressions both spell it."""
    value = value.strip("\"'")
    for expression, variable in (("${{ runner.temp }}", "$RUNNER_TEMP"),):
        value = value.replace(expression, variable)
    return value


def _teaching_download_targets() -> list[str]:
    """The data directories the build job's steps download the teaching set into."""
    pattern = r"threekg download teaching --data-dir (\"[^\"]+\"|'[^']+'|\S+)"
    return [_runner_path(m) for s in _steps("build") for m in re.findall(pattern, s.get("run", ""))]


def test_the_published_book_is_built_on_the_teaching_set():
    """GitHub's runners have the internet: the workflow downloads the teaching set after
    .ci/run, then builds the book that it uploads with THREEKG_DATA_DIR pointing there."""
    steps = _steps("build")
    targets = _teaching_download_targets()
    assert len(targets) == 1, "the build job should download the teaching set once"
    download = next(i for i, s in enumerate(steps) if "download teaching" in s.get("run", ""))
    ci = next(i for i, s in enumerate(steps) if ".ci/run" in s.get("run", ""))
    upload = steps.index(_action_step("build", "actions/upload-pages-artifact"))
    books = [i for i, s in enumerate(steps) if "book" in _called(s.get("run", ""))[0]]
    last_book = max(i for i in books if i < upload)
    assert ci < download < last_book < upload, "download after .ci/run, the book after it"
    env = steps[last_book].get("env") or {}
    assert _runner_path(str(env.get("THREEKG_DATA_DIR", ""))) == targets[0], (
        "the uploaded book is not built on the downloaded teaching set"
    )
    assert ".venv/bin/threekg" in steps[download]["run"], "use the package .ci/run installed"


# --- environment.yml -----------------------------------------------------------------------


def test_environment_yml_channels():
    env = _environment()
    assert env.get("name") == "threekg-lite"
    channels = env.get("channels")
    assert channels in (["conda-forge"], ["conda-forge", "nodefaults"]), channels


def test_environment_yml_mirrors_the_runtime_dependencies():
    conda, pip = _environment_requirements()
    for name, package_spec in _package_requirements(extras=False).items():
        assert name in conda or name in pip, f"{name} (pyproject.toml) not in environment.yml"
        env_spec = conda.get(name, pip.get(name))
        bad = _stricter(env_spec, package_spec)
        assert not bad, f"{name}: environment.yml's {bad} is stricter than {package_spec}"


def test_environment_yml_extras_are_not_stricter_and_torch_has_one_source():
    conda, pip = _environment_requirements()
    for name, package_spec in _package_requirements(extras=True).items():
        for env_spec in (conda.get(name), pip.get(name)):
            if env_spec is not None:
                bad = _stricter(env_spec, package_spec)
                assert not bad, f"{name}: environment.yml's {bad} is stricter than {package_spec}"
    assert not ("torch" in conda and "torch" in pip), "torch from both conda-forge and pip"
    assert set(conda) & set(pip) == set(), f"in both sections: {set(conda) & set(pip)}"


def test_environment_yml_python_is_allowed():
    conda, _ = _environment_requirements()
    assert "python" in conda and "pip" in conda
    requires = SpecifierSet(_pyproject()["project"]["requires-python"])
    both = _python_versions(conda["python"]) & _python_versions(requires)
    assert both, f"environment.yml's python {conda['python']} is outside requires-python {requires}"
