"""Shared fixtures: a small synthetic campaign and the demo config pointing at it."""

from __future__ import annotations

import order as od
import pytest

#: small campaign used across the tests: events per MC dataset, files per dataset, luminosity
SMALL_CAMPAIGN = {"events": 3000, "files_per_dataset": 2, "seed": 7}
SMALL_LUMI = 40.0  # pb^-1, gives a pseudo-data sample of a few thousand events


@pytest.fixture(scope="session")
def small_campaign_dir(tmp_path_factory) -> str:
    from columnar.demo.generate import ensure_campaign

    directory = tmp_path_factory.mktemp("campaign")
    ensure_campaign(str(directory), lumi=SMALL_LUMI, **SMALL_CAMPAIGN)
    return str(directory)


@pytest.fixture(scope="session")
def demo_config(small_campaign_dir) -> od.Config:
    """The demo config on the small campaign (registers the demo TAFs)."""
    import columnar.demo.analysis  # noqa: F401
    from columnar.demo.config import create_config

    analysis = od.Analysis("ttbar_lite_test", 99)
    return create_config(analysis, campaign_dir=small_campaign_dir, lumi=SMALL_LUMI,
                         campaign=SMALL_CAMPAIGN)


@pytest.fixture(scope="session")
def analysis(small_campaign_dir, tmp_path_factory) -> str:
    """Import path of a test analysis with the demo config on the small campaign, plus a dataset
    ``tt_with_empty`` whose second file has no events."""
    import os

    import columnar.demo.analysis  # noqa: F401 (registers the demo TAFs)
    from columnar.demo.config import create_config
    from tests.taskutil import register_analysis, write_empty_nano

    ana = od.Analysis("ttbar_lite_tasks", 98)
    config = create_config(ana, campaign_dir=small_campaign_dir, lumi=SMALL_LUMI,
                           campaign=SMALL_CAMPAIGN)
    empty = write_empty_nano(os.path.join(small_campaign_dir, "tt", "nano_0.root"),
                             str(tmp_path_factory.mktemp("empty") / "nano_empty.root"))
    config.add_dataset(name="tt_with_empty", id=990, processes=[config.get_process("tt")],
                       keys=[os.path.join(small_campaign_dir, "tt", "nano_1.root"), empty],
                       n_files=2)
    # a dataset variation: for the shift tune_up, tt is read from other files (here: one file)
    from columnar.config import add_shift_source

    add_shift_source(config, "tune", 8)
    config.get_dataset("tt").set_info("tune_up", od.DatasetInfo(
        keys=[os.path.join(small_campaign_dir, "tt", "nano_1.root")], n_files=1))
    return register_analysis(ana)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """An empty store for the tests of one module (COLUMNAR_STORE points to it)."""
    import os

    path = str(tmp_path_factory.mktemp("store"))
    old = os.environ.get("COLUMNAR_STORE")
    os.environ["COLUMNAR_STORE"] = path
    yield path
    if old is None:
        os.environ.pop("COLUMNAR_STORE")
    else:
        os.environ["COLUMNAR_STORE"] = old


BATCH_ANALYSIS_MODULE = "columnar_batch_analysis"

_BATCH_ANALYSIS_SOURCE = '''"""Analysis importable by jobs, dask workers and sandboxes."""

import order as od

import columnar.demo.analysis  # noqa: F401 (registers the demo TAFs)
from columnar.columns import set_ak_column
from columnar.demo.config import create_config
from columnar.producers import producer

analysis_inst = od.Analysis("ttbar_lite_batch", 97)
create_config(analysis_inst, campaign_dir={campaign_dir!r}, lumi={lumi!r}, campaign={campaign!r})


@producer(uses={{"Jet.pt"}}, produces={{"ml_score"}}, sandbox={sandbox!r})
def ml_score(self, events, **kwargs):
    """A producer needing a library that only its sandbox has."""
    import columnar_fake_ml

    return set_ak_column(events, "ml_score", columnar_fake_ml.score(events.Jet.pt))
'''

_FAKE_ML_SOURCE = '''"""Stands for a machine-learning library installed only in a sandbox."""

import os

import awkward as ak

SANDBOX_MARKER = os.environ.get("COLUMNAR_TEST_SANDBOX", "")


def score(jet_pt):
    return ak.sum(jet_pt, axis=1) / 1000.0
'''


@pytest.fixture(scope="session")
def batch_analysis(small_campaign_dir, tmp_path_factory) -> str:
    """Import path of the demo analysis on the small campaign as a module file that other
    processes can import (its directory is put on PYTHONPATH), with a producer ``ml_score``
    that runs in a bash sandbox providing the library ``columnar_fake_ml``."""
    import os
    import sys

    from tests.conftest import SMALL_CAMPAIGN, SMALL_LUMI

    root = tmp_path_factory.mktemp("batch_analysis")
    ml_dir = root / "ml_lib"
    ml_dir.mkdir()
    (ml_dir / "columnar_fake_ml.py").write_text(_FAKE_ML_SOURCE)
    setup = root / "ml_sandbox.sh"
    setup.write_text(f'export PYTHONPATH="{ml_dir}:${{PYTHONPATH}}"\n'
                     'export COLUMNAR_TEST_SANDBOX=ml\n')
    module_dir = root / "modules"
    module_dir.mkdir()
    (module_dir / f"{BATCH_ANALYSIS_MODULE}.py").write_text(_BATCH_ANALYSIS_SOURCE.format(
        campaign_dir=small_campaign_dir, lumi=SMALL_LUMI, campaign=SMALL_CAMPAIGN,
        sandbox=f"bash::{setup}"))
    sys.path.insert(0, str(module_dir))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(module_dir), os.environ.get("PYTHONPATH", "")]))
    return f"{BATCH_ANALYSIS_MODULE}.analysis_inst"
