"""Tasks computed in one pass: the calibration, selection and reduction of all shifts of a file
from one read of NanoAOD, the columns of all producers and the histograms of all shifts of the
same inputs from one read each, and where luigi runs which task with several workers."""

from __future__ import annotations

import collections
import os
import pickle

import awkward as ak
import hist
import law
import luigi
import numpy as np
import pytest

from columnar.io import ParquetSource, RootSource
from columnar.tasks.base import load_analysis
from tests.taskutil import make_task, run_task, store_files
from tests.test_tasks_shifts import VARIABLES, expected_tt

CHUNK = 1000


def task(name: str, analysis: str, **kwargs):
    if name in ("CreateHistograms", "MergeHistograms", "MergeShiftedHistograms"):
        kwargs.setdefault("variables", VARIABLES)
    return make_task(name, analysis, chunk_size=CHUNK, **kwargs)


@pytest.fixture
def reads(monkeypatch):
    """(path, start, stop) of every chunk read from a ROOT or parquet file, per file kind."""
    calls = collections.defaultdict(list)
    for cls, kind in [(RootSource, "root"), (ParquetSource, "parquet")]:
        def read(self, routes, start, stop, _orig=cls.read, _kind=kind):
            calls[_kind].append((self.path, start, stop))
            return _orig(self, routes, start, stop)

        monkeypatch.setattr(cls, "read", read)
    return calls


@pytest.fixture(scope="module")
def config(analysis):
    return load_analysis(analysis).get_config("demo")


@pytest.fixture(scope="module")
def shifted(analysis, store):
    """The histograms of tt with the jec and btag shifts, from an empty store."""
    return task("MergeShiftedHistograms", analysis, dataset="tt", shift_sources=("jec", "btag"))


def test_all_shifts_of_a_file_from_one_read(shifted, analysis, store, config, reads):
    assert run_task(shifted)
    files = config.x.get_dataset_files(config, config.get_dataset("tt"))
    # every chunk of every NanoAOD file was read exactly once (not once per jec shift and step)
    root_reads = collections.Counter(reads["root"])
    assert {path for path, _, _ in root_reads} == set(files)
    assert set(root_reads.values()) == {1}
    # ... and each task of every shift has its outputs, in its own place
    for shift in ("nominal", "jec_up", "jec_down"):
        for family in ("CalibrateEvents", "SelectEvents", "ReduceEvents"):
            t = task(family, analysis, dataset="tt", shift=shift)
            assert t.complete(), f"{family} {shift}"
    assert task("CalibrateEvents", analysis, dataset="tt", shift="jec_up").shift == "nominal"
    # the merged reduced events of nominal were read twice per chunk: once by the pass of the
    # producers (features and weights), once by the pass that filled the histograms of nominal
    # and of the weight shifts (btag_up, btag_down)
    merged = [r for r in reads["parquet"] if "cf.MergeReducedEvents" in r[0]
              and f"{os.sep}nominal{os.sep}" in r[0]]
    assert merged and len(merged) == 2 * len(set(merged))


@pytest.mark.parametrize("shift, jet_scale, btag", [
    ("jec_up", 1.03, "nominal"), ("jec_down", 0.97, "nominal"), ("btag_down", 1.0, "down"),
])
def test_histograms_of_a_pass_equal_independent_computation(shifted, config, shift, jet_scale,
                                                             btag):
    assert shifted.complete()
    with open(shifted.output()["ht"].path, "rb") as f:
        h = pickle.load(f)
    expected = expected_tt(config, jet_scale=jet_scale, btag=btag)["ht"]
    for cat_id, counts in expected.items():
        got = h[{"category": hist.loc(cat_id), "process": sum, "shift": shift}]
        np.testing.assert_allclose(got.values(flow=True), counts, rtol=1e-6, atol=1e-9,
                                   err_msg=f"{shift} {cat_id}")


def test_pass_reads_existing_selection(analysis, tmp_path, monkeypatch, reads):
    """Outputs of steps that exist already are read, not computed and written again."""
    monkeypatch.setenv("COLUMNAR_STORE", str(tmp_path))
    selection = task("SelectEvents", analysis, dataset="dy")
    assert run_task(selection)
    before = store_files(str(tmp_path))
    reads.clear()
    reduction = task("ReduceEvents", analysis, dataset="dy")
    assert run_task(reduction)
    after = store_files(str(tmp_path))
    assert {p: m for p, m in after.items() if p in before} == before
    new = {os.path.relpath(p, tmp_path).split(os.sep)[1] for p in set(after) - set(before)}
    assert new == {"cf.ReduceEvents"}
    results = [r for r in reads["parquet"] if os.path.basename(r[0]).startswith("results_")]
    assert results, "the existing selection results were not read"
    # the same reduced events as when the pass computes the selection itself
    monkeypatch.setenv("COLUMNAR_STORE", str(tmp_path / "fresh"))
    fresh = task("ReduceEvents", analysis, dataset="dy")
    assert run_task(fresh)
    for branch, target in reduction.output()["collection"].targets.items():
        other = fresh.output()["collection"].targets[branch]
        assert ak.from_parquet(target.path).to_list() == ak.from_parquet(other.path).to_list()


def test_bookkeeping_runs_in_the_main_process(analysis, tmp_path, monkeypatch):
    """With two workers, only tasks that compute something get a process of their own."""
    monkeypatch.setenv("COLUMNAR_STORE", str(tmp_path))
    started = []

    def on_start(t):
        started.append((t.task_family, getattr(t, "branch", None), os.getpid(),
                        getattr(t, "shift", None), getattr(t, "producer", None)))

    t = task("MergeShiftedHistograms", analysis, dataset="dy", shift_sources=("jec", "btag"))
    luigi.Task.event_handler(luigi.Event.START)(on_start)
    try:
        assert run_task(t, workers=2)
    finally:
        luigi.Task._event_callbacks[luigi.Task][luigi.Event.START].discard(on_start)
    assert t.complete()
    # START events of forked task processes are not seen here: what is seen ran here
    here = [(family, branch, shift, producer) for family, branch, pid, shift, producer in started
            if pid == os.getpid()]
    for family in ("cf.GetDatasetLFNs", "cf.MergeSelectionStats", "cf.MergeReductionStats",
                   "cf.MergeHistograms", "cf.MergeShiftedHistograms"):
        assert any(f == family for f, _, _, _ in here), family
    # the leaders of the passes ran in task processes; the other tasks of each pass found
    # their outputs written, here
    branches = [(f, s, p) for f, b, s, p in here if b is not None and b >= 0]
    n_files = len(task("ReduceEvents", analysis, dataset="dy").get_branch_map())
    assert sorted(s for f, s, _ in branches if f == "cf.ReduceEvents") == sorted(
        ["jec_up", "jec_down"] * n_files)
    assert {s for f, s, _ in branches if f == "cf.CreateHistograms"} <= {"btag_up", "btag_down"}
    assert {p for f, _, p in branches if f == "cf.ProduceColumns"} <= {"weights"}


def test_failing_pass_leaves_no_partial_output(analysis, tmp_path, monkeypatch):
    """A selector failing in the middle of a file: nothing of that file's pass appears (no
    calibration, selection or reduced events, no temporary files); the other file is complete,
    and a re-run after the fix completes."""
    from tests.test_tasks_reduction import FLAKY

    monkeypatch.setenv("COLUMNAR_STORE", str(tmp_path))
    reduction = task("ReduceEvents", analysis, dataset="wjets", selector="flaky")
    FLAKY["fail_on"] = "nano_1.root"
    try:
        assert not run_task(reduction)
    finally:
        FLAKY["fail_on"] = None
    steps = [task("CalibrateEvents", analysis, dataset="wjets"),
             task("SelectEvents", analysis, dataset="wjets", selector="flaky"), reduction]
    for step in steps:
        targets = step.output()["collection"].targets
        assert all(t.exists() for t in law.util.flatten(targets[0])), step.task_family
        assert not any(t.exists() for t in law.util.flatten(targets[1])), step.task_family
        directory = os.path.dirname(law.util.flatten(targets[1])[0].path)
        assert not [f for f in os.listdir(directory) if f.startswith(".")]  # no temp files
    assert run_task(reduction)
    assert all(step.complete() for step in steps)
