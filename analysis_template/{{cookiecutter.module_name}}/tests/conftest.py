"""Fixtures: the analysis on a small synthetic campaign in a temporary store, and its chain run
once per test session (in this process, as ``law run`` would run it)."""

from __future__ import annotations

import sys
import types

import luigi
import order as od
import pytest

#: a small campaign: events per simulated dataset, files per dataset, pseudo-data luminosity
SMALL_CAMPAIGN = {"events": 3000, "files_per_dataset": 2, "seed": 7, "lumi": 40.0}

#: import path under which the test analysis is registered (what --analysis takes)
TEST_MODULE = "{{ cookiecutter.module_name }}_test_analysis"
TEST_ANALYSIS = f"{TEST_MODULE}.analysis_inst"

VARIABLES = ("n_jet", "ht")
CATEGORIES = ("incl", "1b", "2b")


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory):
    """An empty store; COLUMNAR_STORE points to it during the session."""
    path = tmp_path_factory.mktemp("store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLUMNAR_STORE", str(path))
        yield str(path)


@pytest.fixture(scope="session")
def analysis(store: str) -> str:
    """Import path of the analysis with its config on the small campaign."""
    import {{ cookiecutter.module_name }}.analysis  # noqa: F401 (registers the TAFs)
    from {{ cookiecutter.module_name }}.config import SyntheticCampaign, create_config

    analysis_inst = od.Analysis("{{ cookiecutter.short_name }}_test", 99)
    create_config(analysis_inst, campaign=SyntheticCampaign(**SMALL_CAMPAIGN))
    module = types.ModuleType(TEST_MODULE)
    module.analysis_inst = analysis_inst
    sys.modules[TEST_MODULE] = module
    return TEST_ANALYSIS


@pytest.fixture(scope="session")
def config(analysis: str) -> od.Config:
    return sys.modules[TEST_MODULE].analysis_inst.configs.get_first()


@pytest.fixture(scope="session")
def chain(analysis: str) -> dict:
    """The plot and yield tasks after running them and everything they need."""
    from columnar.tasks.plotting import PlotVariables1D

    from {{ cookiecutter.module_name }}.tasks import YieldTable

    common = {"analysis": analysis, "version": "v1", "categories": CATEGORIES}
    tasks = {
        "plots": PlotVariables1D(variables=VARIABLES, file_types=("png",), **common),
        "yields": YieldTable(variables=VARIABLES[:1], **common),
    }
    assert luigi.build(list(tasks.values()), local_scheduler=True, log_level="WARNING")
    return tasks
