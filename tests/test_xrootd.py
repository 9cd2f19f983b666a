"""Input files as root:// URLs served by a local XRootD server: the chain reads them directly
(only the byte ranges of the branches it needs) and gives the histograms of local files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings

import numpy as np
import order as od
import pytest

from tests.conftest import SMALL_CAMPAIGN, SMALL_LUMI
from tests.taskutil import make_task, register_analysis, run_task

SERVICES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "services")
PORT = 1096
VARIABLES = ("ht", "n_jet", "jet1_pt")
CHUNK = 1000


@pytest.fixture(scope="module")
def xrootd_url(small_campaign_dir):
    """``root://localhost:<port>/`` serving the small campaign (tests/services/xrootd.sh)."""
    if shutil.which("xrootd") is None:
        message = ("XROOTD TEST SKIPPED: the xrootd server is not installed (Debian: apt-get "
                   "install xrootd-server); root:// inputs are NOT tested on this machine")
        warnings.warn(message, stacklevel=1)
        print(f"\n{'!' * 80}\n{message}\n{'!' * 80}", file=sys.stderr)
        pytest.skip(message)
    pytest.importorskip("fsspec_xrootd")
    script = os.path.join(SERVICES, "xrootd.sh")
    result = subprocess.run(["bash", script, "start", small_campaign_dir, str(PORT)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"cannot start xrootd:\n{result.stdout}\n{result.stderr}"
    yield f"root://localhost:{PORT}/"
    subprocess.run(["bash", script, "stop", str(PORT)], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def remote_analysis(xrootd_url, small_campaign_dir) -> str:
    """The demo config with tt read through XRootD."""
    import columnar.demo.analysis  # noqa: F401
    from columnar.demo.config import create_config

    files = [f"{xrootd_url}{os.path.join(small_campaign_dir, 'tt', f'nano_{i}.root')}"
             for i in range(SMALL_CAMPAIGN["files_per_dataset"])]
    ana = od.Analysis("ttbar_lite_xrootd", 96)
    create_config(ana, campaign_dir=small_campaign_dir, lumi=SMALL_LUMI, campaign=SMALL_CAMPAIGN,
                  dataset_files={"tt": files})
    return register_analysis(ana, "columnar_xrootd_analysis")


def merged_histograms(analysis: str) -> dict:
    t = make_task("MergeHistograms", analysis, chunk_size=CHUNK, dataset="tt",
                  variables=VARIABLES)
    assert run_task(t)
    return {v: t.output()[v].load(formatter="pickle") for v in VARIABLES}


def test_chain_on_root_urls_equals_local_files(remote_analysis, analysis, store):
    lfns = make_task("GetDatasetLFNs", remote_analysis, dataset="tt")
    remote = merged_histograms(remote_analysis)
    assert all(f.startswith("root://localhost") for f in lfns.output().load(
        formatter="json")["files"])
    local = merged_histograms(analysis)
    for variable in VARIABLES:
        np.testing.assert_allclose(remote[variable].values(flow=True),
                                   local[variable].values(flow=True), rtol=1e-12)
    assert remote["ht"].sum(flow=True).value > 0


def test_only_needed_byte_ranges_are_read(xrootd_url, small_campaign_dir):
    from columnar.columns import Route
    from columnar.io import RootSource

    path = os.path.join(small_campaign_dir, "tt", "nano_0.root")
    source = RootSource(xrootd_url + path)
    events = source.read([Route("Jet.pt"), Route("MET.pt")], 0, source.num_events)
    assert len(events) == source.num_events
    requested = source._file.file.source.num_requested_bytes
    assert 0 < requested < 0.25 * os.path.getsize(path)
    source.close()


def test_unreachable_url_names_the_file(xrootd_url, monkeypatch):
    from columnar import io

    monkeypatch.setattr(io, "REMOTE_RETRY_DELAY", 0.01)
    url = f"{xrootd_url}/does/not/exist.root"
    with pytest.raises(OSError, match="exist.root"):
        io.RootSource(url)
