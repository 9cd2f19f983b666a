"""End-to-end tests of GetDatasetLFNs -> Calibrate -> Select -> Reduce -> Merge on the small
generated campaign, run in-process with luigi's local scheduler."""

from __future__ import annotations

import glob
import json
import os

import awkward as ak
import numpy as np
import pyarrow.parquet as pq
import pytest
import uproot

from columnar.array_function import SelectionResult
from columnar.columns import set_ak_column
from columnar.selectors import selector
from tests.conftest import SMALL_CAMPAIGN
from tests.taskutil import make_task, run_task, store_files

CHUNK = 700  # several chunks per file


# -- test selectors ---------------------------------------------------------------------------

@selector(uses={"Jet.pt"})
def reject_all(self, events, **kwargs):
    """Rejects every event."""
    return events, SelectionResult(
        event=ak.Array(np.zeros(len(events), dtype=bool)),
        steps={"none": ak.Array(np.zeros(len(events), dtype=bool))},
        objects={"Jet": ak.local_index(events.Jet.pt)},
    )


FLAKY = {"fail_on": None}


@selector(uses={"Jet.pt", "event"}, produces={"n_jet_all"})
def flaky(self, events, **kwargs):
    """Keeps events with a jet; raises mid-file for the file named in FLAKY["fail_on"]."""
    if FLAKY["fail_on"] is not None and self.current_file.endswith(FLAKY["fail_on"]) and \
            ak.any(events.event % 2 == 0):
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("flaky selector failed mid-file")
    events = set_ak_column(events, "n_jet_all", ak.num(events.Jet.pt, axis=1))
    return events, SelectionResult(event=events.n_jet_all > 0)


@flaky.setup
def flaky_setup(self, task, inputs):
    self.calls = 0
    self.current_file = task.input()["lfns"].load(formatter="json")["files"][task.branch]


# -- fixtures -------------------------------------------------------------------------------------

def task(cls_name: str, analysis: str, **kwargs):
    return make_task(cls_name, analysis, chunk_size=CHUNK, **kwargs)


@pytest.fixture(scope="module")
def merged_tt(analysis, store):
    """The merged reduced events of tt, produced once for the module."""
    t = task("MergeReducedEvents", analysis, dataset="tt")
    assert not t.complete()
    assert run_task(t)
    assert t.complete()
    return t


def read_merged(t) -> ak.Array:
    files = [inp.path for inp in t.output()["collection"].targets.values()]
    return ak.concatenate([ak.from_parquet(p) for p in files])


# -- tests ----------------------------------------------------------------------------------------

def test_chain_runs_once_and_layout(merged_tt, store, analysis):
    before = store_files(store)
    expected_dirs = [
        "ttbar_lite_tasks/cf.GetDatasetLFNs/demo/tt/nominal/v1/lfns.json",
        "ttbar_lite_tasks/cf.CalibrateEvents/demo/tt/nominal/calib__jec/v1/calib_0.parquet",
        "ttbar_lite_tasks/cf.SelectEvents/demo/tt/nominal/calib__jec/sel__default/v1/"
        "results_1.parquet",
        "ttbar_lite_tasks/cf.ReduceEvents/demo/tt/nominal/calib__jec/sel__default/red__default/"
        "v1/events_0.parquet",
        "ttbar_lite_tasks/cf.MergeReducedEvents/demo/tt/nominal/calib__jec/sel__default/"
        "red__default/v1/events_0.parquet",
    ]
    for rel in expected_dirs:
        assert os.path.join(store, rel) in before, rel
    # no temporary files are left behind
    assert not [p for p in before if os.path.basename(p).startswith(".")]
    # a second run does nothing
    assert run_task(task("MergeReducedEvents", analysis, dataset="tt"))
    assert store_files(store) == before


def independent_selection(path: str) -> ak.Array:
    """The ttbar-lite selection of ANALYSIS.md with plain uproot + awkward."""
    with uproot.open(path) as f:
        a = f["Events"].arrays(["event", "Jet_pt", "Jet_eta", "Jet_jetId", "Jet_btagDeepFlavB",
                                "Jet_mass", "Muon_pt", "Muon_eta", "Muon_tightId",
                                "Muon_pfRelIso04_all", "Muon_sip3d", "Electron_pt",
                                "Electron_eta", "Electron_cutBased", "Electron_sip3d",
                                "MET_pt"])
    mu = ((a.Muon_pt > 30) & (abs(a.Muon_eta) < 2.1) & a.Muon_tightId
          & (a.Muon_pfRelIso04_all < 0.15) & (a.Muon_sip3d < 4))
    el = ((a.Electron_pt > 30) & (abs(a.Electron_eta) < 2.1) & (a.Electron_cutBased == 4)
          & (a.Electron_sip3d < 4))
    jet = (a.Jet_pt > 30) & (abs(a.Jet_eta) < 2.4) & ((a.Jet_jetId & 2) != 0)
    n_b = ak.sum(jet & (a.Jet_btagDeepFlavB > 0.5), axis=1)
    keep = ((ak.sum(mu, axis=1) + ak.sum(el, axis=1)) == 1) & (ak.sum(jet, axis=1) >= 4) & \
        (n_b >= 1)
    order = ak.argsort(a.Jet_pt, axis=1, ascending=False)
    jet_idx = order[jet[order]]
    return ak.zip({
        "event": a.event, "jet_pt": a.Jet_pt[jet_idx], "jet_mass": a.Jet_mass[jet_idx],
        "jet_btag": a.Jet_btagDeepFlavB[jet_idx], "muon_pt": a.Muon_pt[mu],
        "electron_pt": a.Electron_pt[el], "met": a.MET_pt,
    }, depth_limit=1)[keep]


def test_reduced_events_equal_independent_selection(merged_tt, small_campaign_dir):
    reduced = read_merged(merged_tt)
    files = sorted(glob.glob(os.path.join(small_campaign_dir, "tt", "nano_*.root")))
    expected = ak.concatenate([independent_selection(p) for p in files])
    assert len(reduced) == len(expected) > 100
    assert reduced.event.tolist() == expected.event.tolist()
    assert reduced.Jet.pt.tolist() == expected.jet_pt.tolist()
    assert reduced.Jet.mass.tolist() == expected.jet_mass.tolist()
    assert reduced.Jet.btagDeepFlavB.tolist() == expected.jet_btag.tolist()
    assert reduced.Muon.pt.tolist() == expected.muon_pt.tolist()
    assert reduced.Electron.pt.tolist() == expected.electron_pt.tolist()
    assert reduced.MET.pt.tolist() == expected.met.tolist()
    # calibrator columns travel with their jets
    assert np.allclose(ak.flatten(reduced.Jet.pt_jec_up),
                       ak.flatten(expected.jet_pt) * np.float32(1.03), rtol=1e-6)
    # kept columns of the config, nothing else
    assert set(ak.fields(reduced)) == {"run", "luminosityBlock", "event", "genWeight", "Jet",
                                       "Muon", "Electron", "MET", "PV", "Pileup"}
    assert "jetId" not in ak.fields(reduced.Jet)


def test_selection_stats(merged_tt, analysis, small_campaign_dir):
    t = task("MergeSelectionStats", analysis, dataset="tt")
    assert run_task(t)
    stats = t.output().load(formatter="json")
    files = sorted(glob.glob(os.path.join(small_campaign_dir, "tt", "nano_*.root")))
    n_total = sum(uproot.open(p)["Events"].num_entries for p in files)
    n_selected = sum(len(independent_selection(p)) for p in files)
    assert stats["num_events"] == n_total == SMALL_CAMPAIGN["events"]
    assert stats["num_events_selected"] == n_selected
    gen_weights = np.concatenate([uproot.open(p)["Events/genWeight"].array(library="np")
                                  for p in files]).astype(np.float64)
    assert stats["sum_mc_weight"] == pytest.approx(gen_weights.sum(), rel=1e-9)
    assert stats["sum_gen_weight"] >= stats["sum_mc_weight"]  # Runs: events before the skim
    assert stats["num_events_step_jet"] >= n_selected


def test_only_needed_branches_and_columns_are_read(analysis, store, monkeypatch):
    """Instrument uproot and the parquet reader: nothing beyond the used columns is read."""
    import columnar.io

    read_branches: list[str] = []
    read_columns: list[str] = []
    original_arrays = uproot.TTree.arrays
    original_from_parquet = columnar.io.ak.from_parquet

    def arrays(self, expressions=None, *args, **kwargs):
        read_branches.extend(expressions)
        return original_arrays(self, expressions, *args, **kwargs)

    def from_parquet(path, columns=None, **kwargs):
        read_columns.extend(columns)
        return original_from_parquet(path, columns=columns, **kwargs)

    monkeypatch.setattr(uproot.TTree, "arrays", arrays)
    monkeypatch.setattr(columnar.io.ak, "from_parquet", from_parquet)
    t = task("SelectEvents", analysis, dataset="dy", branch=0)
    assert run_task(t)
    # calibration: only jet pt and mass
    selector_branches = {"Muon_pt", "Muon_eta", "Muon_tightId", "Muon_pfRelIso04_all",
                         "Muon_sip3d", "Electron_pt", "Electron_eta", "Electron_cutBased",
                         "Electron_sip3d", "Jet_pt", "Jet_eta", "Jet_jetId", "Jet_btagDeepFlavB",
                         "genWeight"}
    assert set(read_branches) == {"Jet_mass"} | selector_branches
    assert "MET_pt" not in read_branches and "Jet_phi" not in read_branches
    # the selector reads no calibrator column: the parquet file is not read at all
    assert read_columns == []

    read_branches.clear()
    t = task("ReduceEvents", analysis, dataset="dy", branch=0)
    assert run_task(t)
    assert "Jet_jetId" not in read_branches and "Muon_tightId" not in read_branches
    assert "Jet_phi" in read_branches  # kept by the config
    # the calibrator's columns come from its parquet file, only those
    calib_columns = {c for c in read_columns if "_jec_" in c}
    assert calib_columns == {"Jet.pt_jec_up", "Jet.pt_jec_down", "Jet.mass_jec_up",
                             "Jet.mass_jec_down"}
    assert "Jet_pt_jec_up" not in read_branches


def test_failing_selector_leaves_no_partial_output(analysis, store):
    FLAKY["fail_on"] = "nano_1.root"
    try:
        t = task("SelectEvents", analysis, dataset="wjets", selector="flaky")
        assert not run_task(t)
        outputs = {b: out for b, out in t.output()["collection"].targets.items()}
        assert all(target.exists() for target in outputs[0].values())
        assert not any(target.exists() for target in outputs[1].values())
        directory = os.path.dirname(outputs[1]["results"].path)
        assert not [f for f in os.listdir(directory) if f.startswith(".")]  # no temp files
        branch0 = {k: v.path for k, v in outputs[0].items()}
        mtimes = {k: os.stat(p).st_mtime_ns for k, p in branch0.items()}
    finally:
        FLAKY["fail_on"] = None
    # after the fix, the re-run completes and leaves branch 0 untouched
    assert run_task(t)
    assert t.complete()
    assert {k: os.stat(p).st_mtime_ns for k, p in branch0.items()} == mtimes
    cols = ak.from_parquet(t.output()["collection"].targets[1]["columns"].path)
    assert ak.fields(cols) == ["n_jet_all"]


def test_reject_all_gives_empty_outputs(analysis, store):
    t = task("MergeReducedEvents", analysis, dataset="dy", selector="reject_all")
    assert run_task(t)
    reduced = read_merged(t)
    assert len(reduced) == 0
    assert "Jet" in ak.fields(reduced) and "pt_jec_up" in ak.fields(reduced.Jet)
    stats = task("MergeSelectionStats", analysis, dataset="dy", selector="reject_all")
    assert run_task(stats)
    assert stats.output().load(formatter="json")["num_events_selected"] == 0


def test_file_with_zero_events(analysis, store):
    t = task("MergeReducedEvents", analysis, dataset="tt_with_empty")
    assert run_task(t)
    reduce_task = task("ReduceEvents", analysis, dataset="tt_with_empty")
    empty_out = reduce_task.output()["collection"].targets[1].path
    assert pq.ParquetFile(empty_out).metadata.num_rows == 0
    assert len(ak.from_parquet(empty_out)) == 0
    reduced = read_merged(t)
    assert len(reduced) > 0 and ak.all(ak.num(reduced.Jet, axis=1) >= 4)
    select_task = task("SelectEvents", analysis, dataset="tt_with_empty", branch=1)
    stats = json.load(open(select_task.output()["stats"].path))
    assert stats["num_events"] == 0


def test_unknown_names_list_valid_ones(analysis, store):
    from columnar.tasks.base import ColumnarTaskError

    with pytest.raises(ColumnarTaskError, match="unknown dataset 'ttt'.*valid datasets: tt, dy"):
        task("ReduceEvents", analysis, dataset="ttt")
    with pytest.raises(ColumnarTaskError, match="unknown selector 'nope'; valid names: .*default"):
        task("ReduceEvents", analysis, dataset="tt", selector="nope")
    with pytest.raises(ColumnarTaskError, match="unknown shift 'jec_sideways'"):
        task("ReduceEvents", analysis, dataset="tt", shift="jec_sideways")
    with pytest.raises(ColumnarTaskError, match="unknown config 'nope'.*valid configs: demo"):
        task("ReduceEvents", analysis, config="nope")


def test_shift_resolution_in_paths(analysis, store):
    red = task("ReduceEvents", analysis, dataset="tt", shift="jec_up")
    assert red.shift == "jec_up" and red.local_shift == "nominal"
    assert "/jec_up/" in red.output()["collection"].dir.path
    sel = task("SelectEvents", analysis, dataset="tt", shift="jec_up")
    assert sel.local_shift == "jec_up"
    cal = task("CalibrateEvents", analysis, dataset="tt", shift="jec_up")
    assert cal.shift == "nominal"
    # weight-only shifts are unknown up to reduction, and data is always nominal
    assert task("ReduceEvents", analysis, dataset="tt", shift="btag_up").shift == "nominal"
    assert task("ReduceEvents", analysis, dataset="data", shift="jec_up").shift == "nominal"
