"""Systematic shifts end to end: shift resolution, reuse of nominal outputs, aliases, merged
shifted histograms and dataset variations."""

from __future__ import annotations

import os
import pickle

import awkward as ak
import hist
import numpy as np
import pytest

from columnar.tasks.base import ColumnarTaskError, load_analysis
from tests import reference
from tests.taskutil import make_task, run_task, store_files

CHUNK = 1000
VARIABLES = ("ht", "jet1_pt", "n_jet", "met")


def task(name: str, analysis: str, **kwargs):
    if name in ("CreateHistograms", "MergeHistograms", "MergeShiftedHistograms"):
        kwargs.setdefault("variables", VARIABLES)
    return make_task(name, analysis, chunk_size=CHUNK, **kwargs)


def families(paths) -> set[str]:
    return {p.split(os.sep)[1] for p in paths}


def load(path: str) -> hist.Hist:
    with open(path, "rb") as f:
        return pickle.load(f)


@pytest.fixture(scope="module")
def config(analysis):
    return load_analysis(analysis).get_config("demo")


@pytest.fixture(scope="module")
def nominal(analysis, store):
    t = task("MergeHistograms", analysis, dataset="tt")
    assert run_task(t)
    return t


def rel(store: str, paths) -> list[str]:
    return [os.path.relpath(p, store) for p in paths]


def test_weight_shift_reuses_everything_upstream(nominal, analysis, store):
    before = store_files(store)
    t = task("MergeHistograms", analysis, dataset="tt", shift="btag_up")
    assert t.shift == "btag_up"
    assert run_task(t)
    after = store_files(store)
    new = rel(store, set(after) - set(before))
    assert families(new) == {"cf.CreateHistograms", "cf.MergeHistograms"}
    assert all("/btag_up/" in p for p in new)
    assert {p: m for p, m in after.items() if p in before} == before
    # the upstream tasks of the shifted histograms are the nominal ones
    create = task("CreateHistograms", analysis, dataset="tt", shift="btag_up")
    assert create.local_shift == "btag_up"
    produce = task("ProduceColumns", analysis, dataset="tt", shift="btag_up", producer="weights")
    assert produce.shift == "nominal"


def test_jec_shift_reruns_from_the_selection(nominal, analysis, store):
    before = store_files(store)
    t = task("MergeHistograms", analysis, dataset="tt", shift="jec_up")
    assert run_task(t)
    new = rel(store, set(store_files(store)) - set(before))
    assert families(new) == {"cf.SelectEvents", "cf.ReduceEvents", "cf.MergeReductionStats",
                             "cf.MergeReducedEvents", "cf.ProduceColumns",
                             "cf.MergeSelectionStats", "cf.CreateHistograms",
                             "cf.MergeHistograms"}
    assert all("/jec_up/" in p for p in new)
    assert task("CalibrateEvents", analysis, dataset="tt", shift="jec_up").shift == "nominal"
    assert task("SelectEvents", analysis, dataset="tt", shift="jec_up").local_shift == "jec_up"


def expected_tt(config, jet_scale=1.0, btag="nominal") -> dict[str, dict[int, np.ndarray]]:
    dataset = config.get_dataset("tt")
    files = config.x.get_dataset_files(config, dataset)
    events = ak.concatenate([reference.select(reference.read(p, True), jet_scale=jet_scale)
                             for p in files])
    feats = reference.features(events)
    norm = reference.normalization(files, config.x.luminosity.nominal, 729.84)
    weight = reference.weights(events, norm, config.x.external_files["muon_sf"](), btag=btag)
    cats = {1: np.ones(len(events), dtype=bool), 2: feats["n_bjet"] == 1,
            3: feats["n_bjet"] >= 2}
    return {var: {c: reference.histogram(feats[var][m], weight[m],
                                         np.array(config.get_variable(var).bin_edges))
                  for c, m in cats.items()} for var in VARIABLES}


@pytest.mark.parametrize("shift, jet_scale, btag", [
    ("jec_up", 1.03, "nominal"), ("jec_down", 0.97, "nominal"), ("btag_up", 1.0, "up"),
    ("btag_down", 1.0, "down"),
])
def test_shifted_histograms_equal_independent_computation(config, analysis, store, shift,
                                                          jet_scale, btag):
    t = task("MergeHistograms", analysis, dataset="tt", shift=shift)
    assert run_task(t)
    expected = expected_tt(config, jet_scale=jet_scale, btag=btag)
    for var in VARIABLES:
        h = load(t.output()[var].path)
        assert list(h.axes["shift"]) == [shift]
        for cat_id, counts in expected[var].items():
            got = h[{"category": hist.loc(cat_id), "process": sum, "shift": sum}]
            np.testing.assert_allclose(got.values(flow=True), counts, rtol=1e-6, atol=1e-9,
                                       err_msg=f"{shift} {var} {cat_id}")


def test_merged_shifted_histograms(analysis, store):
    t = task("MergeShiftedHistograms", analysis, dataset="tt", shift_sources=("jet", "btag"))
    assert t.shift_sources == ("jec", "btag")  # the group "jet" is jec
    assert run_task(t)
    h = load(t.output()["ht"].path)
    assert list(h.axes["shift"]) == ["nominal", "jec_up", "jec_down", "btag_up", "btag_down"]
    incl = h[{"category": hist.loc(1), "process": sum}]
    nominal = incl[{"shift": "nominal"}].sum(flow=True).value
    assert incl[{"shift": "jec_up"}].sum(flow=True).value > nominal  # more jets pass
    assert incl[{"shift": "btag_up"}].sum(flow=True).value > nominal
    # data: every shift is the nominal histogram
    d = task("MergeShiftedHistograms", analysis, dataset="data", shift_sources=("jec", "mu"))
    assert run_task(d)
    hd = load(d.output()["ht"].path)[{"category": hist.loc(1), "process": sum}]
    for shift in ("jec_up", "jec_down", "mu_up", "mu_down"):
        assert np.array_equal(hd[{"shift": shift}].values(flow=True),
                              hd[{"shift": "nominal"}].values(flow=True))
    assert task("MergeHistograms", analysis, dataset="data", shift="jec_up").shift == "nominal"


def test_dataset_variation(analysis, store, config):
    lfns = task("GetDatasetLFNs", analysis, dataset="tt", shift="tune_up")
    assert lfns.shift == "tune_up"
    red = task("ReduceEvents", analysis, dataset="tt", shift="tune_up")
    assert red.shift == "tune_up" and red.local_shift == "nominal"
    assert len(red.get_branch_map()) == 1
    assert run_task(red)
    files = lfns.output().load(formatter="json")["files"]
    assert len(files) == 1 and files[0].endswith("tt/nano_1.root")
    assert "/tune_up/" in red.output()["collection"].dir.path
    # other datasets have no such variation: nominal
    assert task("ReduceEvents", analysis, dataset="dy", shift="tune_up").shift == "nominal"


def test_unknown_shift_source(analysis, store):
    with pytest.raises(ColumnarTaskError, match="unknown shift source 'pdf'.*valid sources: "
                                                "jec, btag, mu"):
        task("MergeShiftedHistograms", analysis, dataset="tt", shift_sources=("pdf",))


def test_shifted_plots_and_band(analysis, store):
    t = task("PlotShiftedVariables1D", analysis, variables=("ht",), categories=("incl",),
             shift_sources=("jec", "btag"), file_types=("png",))
    assert run_task(t)
    paths = [t.output()["ht"]["incl"][s]["png"].path for s in ("jec", "btag")]
    assert [os.path.basename(p) for p in paths] == [
        "shifted__ht__cat_incl__proc_data_tt_dy_wjets__unc_jec.png",
        "shifted__ht__cat_incl__proc_data_tt_dy_wjets__unc_btag.png"]
    assert all(os.path.getsize(p) > 10_000 for p in paths)
    band = task("PlotVariables1D", analysis, variables=("ht",), categories=("incl",),
                shift_sources=("all",), file_types=("png",))
    assert band.shift_sources == ("jec", "btag", "mu")
    assert run_task(band)
    assert band.output()["ht"]["incl"]["png"].path.endswith("__unc_jec_btag_mu.png")
