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
