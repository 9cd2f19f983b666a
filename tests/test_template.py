"""The cookiecutter analysis template: render it with its defaults, install the project, run
its chain with ``law run`` on a small campaign, run its own tests and lint it."""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

TEMPLATE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "analysis_template")

#: defaults of cookiecutter.json that the checks below rely on
MODULE, SHORT, CONFIG = "my_analysis", "myana", "synthetic"

#: small campaign for the law run, read by the template's config from the environment
CAMPAIGN_ENV = {f"{SHORT.upper()}_EVENTS": "2000", f"{SHORT.upper()}_FILES": "2",
                f"{SHORT.upper()}_LUMI": "30"}

#: what must not be left in a rendered file
LEFTOVERS = re.compile(r"\{\{|\{%|\{#|cookiecutter", re.IGNORECASE)


def run(args: list[str], cwd: str, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a command; on failure, the assertion shows its output."""
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (f"{' '.join(args)} failed ({proc.returncode}):\n"
                                  f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> str:
    """The template rendered with its defaults (``--no-input``)."""
    from cookiecutter.main import cookiecutter

    tmp = tmp_path_factory.mktemp("template")
    # keep cookiecutter's replay files out of the home directory
    settings = {"replay_dir": str(tmp / "replay"), "cookiecutters_dir": str(tmp / "cache")}
    path = cookiecutter(TEMPLATE, no_input=True, output_dir=str(tmp / "out"),
                        default_config=settings)
    assert os.path.basename(path) == MODULE
    return path


def builds_without_isolation() -> bool:
    """Whether setuptools here can build an editable wheel itself (it needs the wheel package
    below setuptools 70.1, and a fresh virtualenv of Python 3.11 has neither)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        setuptools_version = tuple(int(p) for p in version("setuptools").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return False
    return setuptools_version >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="module")
def installed(project: str):
    """The rendered project installed (editable) into this interpreter, removed afterwards."""
    pip = [sys.executable, "-m", "pip"]
    # without build isolation when possible (fast, offline); else pip fetches setuptools
    isolation = ["--no-build-isolation"] if builds_without_isolation() else []
    run([*pip, "install", "--no-deps", *isolation, "--disable-pip-version-check", "-q", "-e",
         project], cwd=project)
    try:
        yield project
    finally:
        subprocess.run([*pip, "uninstall", "-y", "-q", MODULE], capture_output=True)


@pytest.fixture(scope="module")
def env(project: str, tmp_path_factory) -> dict[str, str]:
    """Environment of the commands: a store in a temporary directory, a small campaign, and
    PWD set to the project."""
    store = str(tmp_path_factory.mktemp("store"))
    return {**os.environ, **CAMPAIGN_ENV, "COLUMNAR_STORE": store, "PWD": project}


def project_files(root: str) -> list[str]:
    return sorted(os.path.join(d, f) for d, _, names in os.walk(root) for f in names
                  if "egg-info" not in d and "__pycache__" not in d)


def test_rendered_project_has_no_placeholders(project: str) -> None:
    files = [os.path.relpath(p, project) for p in project_files(project)]
    for name in ("pyproject.toml", "law.cfg", "README.md", f"{MODULE}/config.py",
                 f"{MODULE}/calibration.py", f"{MODULE}/selection.py", f"{MODULE}/production.py",
                 f"{MODULE}/tasks.py", f"{MODULE}/analysis.py", f"{MODULE}/data/muon_sf.json"):
        assert name in files
    assert any(f.startswith("tests/test_") for f in files)
    for path in project_files(project):
        assert not LEFTOVERS.search(path), path
        with open(path, encoding="utf-8") as f:
            text = f.read()
        match = LEFTOVERS.search(text)
        assert match is None, f"{path}: leftover {match.group(0)!r}"
    with open(os.path.join(project, "law.cfg")) as f:
        cfg = f.read()
    assert f"default_analysis: {MODULE}.analysis.analysis_inst" in cfg
    with open(os.path.join(os.path.dirname(TEMPLATE), "law.cfg")) as f:
        columnar_modules = re.findall(r"^columnar\.tasks\.\w+$", f.read(), re.MULTILINE)
    assert columnar_modules
    for module in [*columnar_modules, f"{MODULE}.tasks"]:
        assert re.search(rf"^{re.escape(module)}$", cfg, re.MULTILINE), module


def test_law_run_makes_plots_and_yields(installed: str, env: dict[str, str]) -> None:
    project = installed
    law = [sys.executable, "-m", "law"]
    out = run([*law, "index"], cwd=project, env=env).stdout
    assert os.path.exists(os.path.join(project, ".law", "index")), out
    run([*law, "run", "cf.PlotVariables1D", "--version", "v1", "--categories", "incl",
         "--variables", "n_jet", "--file-types", "png"], cwd=project, env=env)
    run([*law, "run", f"{SHORT}.YieldTable", "--version", "v1", "--categories", "incl",
         "--variables", "n_jet"], cwd=project, env=env)

    store = env["COLUMNAR_STORE"]
    assert os.path.exists(os.path.join(store, "campaigns", SHORT, "campaign.json"))
    plots = glob.glob(os.path.join(store, SHORT, "cf.PlotVariables1D", CONFIG, "**",
                                   "plot__n_jet__cat_incl__*.png"), recursive=True)
    assert len(plots) == 1 and os.path.getsize(plots[0]) > 10_000
    # the store path names the analysis' own TAFs
    assert f"sel__{SHORT}_selection" in plots[0]
    tables = glob.glob(os.path.join(store, SHORT, f"{SHORT}.YieldTable", "**", "*.json"),
                       recursive=True)
    assert len(tables) == 1
    with open(tables[0]) as f:
        yields = json.load(f)["yields"]
    assert yields["data"]["incl"]["value"] > 10
    assert yields["total_mc"]["incl"]["value"] > 10


def test_project_tests_pass(installed: str, env: dict[str, str]) -> None:
    proc = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
               cwd=installed, env=env)
    assert re.search(r"\b\d+ passed\b", proc.stdout) and "failed" not in proc.stdout


def test_project_passes_ruff(project: str) -> None:
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    run([sys.executable, "-m", "ruff", "check", "--no-cache", project], cwd=project)
