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
