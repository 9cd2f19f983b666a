"""Tests of the analysis: the chain runs and makes plots, and its histograms and yields agree
with a selection computed independently, directly on the NanoAOD files."""

from __future__ import annotations

import json
import os
import pickle

import awkward as ak
import correctionlib
import hist
import numpy as np
import order as od
import pytest
import uproot
from conftest import CATEGORIES, VARIABLES


def reference(config: od.Config, dataset: od.Dataset) -> dict[str, np.ndarray]:
    """``n_jet``, ``n_bjet`` and the event weight of the selected events of *dataset*, computed
    with uproot and awkward only (the cuts of selection.py, written again)."""
    wp = config.x.btag_wp
    columns = ["HLT_IsoMu24", "Muon_pt", "Muon_eta", "Muon_tightId", "Muon_pfRelIso04_all",
               "Jet_pt", "Jet_eta", "Jet_jetId", "Jet_btagDeepFlavB"]
    if dataset.is_mc:
        columns.append("genWeight")
    parts = []
    sum_gen_weight = 0.0
    for path in config.x.get_dataset_files(config, dataset):
        with uproot.open(path) as f:
            ev = f["Events"].arrays(columns)
            if dataset.is_mc:
                sum_gen_weight += float(np.sum(f["Runs"]["genEventSumw"].array(library="np")))
        good_mu = ((ev.Muon_pt > 26.0) & (abs(ev.Muon_eta) < 2.4) & ev.Muon_tightId
                   & (ev.Muon_pfRelIso04_all < 0.15))
        good_jet = (ev.Jet_pt > 30.0) & (abs(ev.Jet_eta) < 2.4) & ((ev.Jet_jetId & 2) != 0)
        n_jet = ak.sum(good_jet, axis=1)
        n_bjet = ak.sum(good_jet & (ev.Jet_btagDeepFlavB > wp), axis=1)
        sel = ev.HLT_IsoMu24 & (ak.sum(good_mu, axis=1) == 1) & (n_jet >= 3) & (n_bjet >= 1)
        parts.append({
            "n_jet": ak.to_numpy(n_jet[sel]),
            "n_bjet": ak.to_numpy(n_bjet[sel]),
            "muon_eta": ak.to_numpy(ak.firsts(ev.Muon_eta[good_mu][sel])),
            "gen_weight": (ak.to_numpy(ev.genWeight[sel]) if dataset.is_mc
                           else np.ones(int(ak.sum(sel)))),
        })
    out = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    out["weight"] = np.ones(len(out["n_jet"]))
    if dataset.is_mc:
        xsec = dataset.processes.get_first().get_xsec(config.campaign.ecm).nominal
        lumi = config.x.luminosity.nominal
        sf = correctionlib.CorrectionSet.from_file(config.x.external_files["muon_sf"])
        muon_sf = sf["muon_id_sf"].evaluate(np.abs(out["muon_eta"]).astype(float), "nominal")
        out["weight"] = (out["gen_weight"].astype(np.float64) * lumi * xsec / sum_gen_weight
                         * muon_sf)
    return out


@pytest.fixture(scope="session")
def expected(config: od.Config) -> dict[str, dict[str, np.ndarray]]:
    return {dataset.name: reference(config, dataset) for dataset in config.datasets}


def category_masks(ref: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"incl": np.ones(len(ref["n_jet"]), dtype=bool), "1b": ref["n_bjet"] == 1,
            "2b": ref["n_bjet"] >= 2}


def load_hist(task, variable: str) -> hist.Hist:
    with open(task.output()[variable].path, "rb") as f:
        return pickle.load(f)


def test_plots_exist(chain: dict) -> None:
    outputs = chain["plots"].output()
    for variable in VARIABLES:
        for category in CATEGORIES:
            path = outputs[variable][category]["png"].path
            assert os.path.getsize(path) > 10_000, path
            with open(path, "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_histograms_match_independent_selection(chain: dict, config: od.Config,
                                                expected: dict) -> None:
    variable = config.get_variable("n_jet")
    edges = np.array([-np.inf, *variable.bin_edges, np.inf])
    for dataset_name, merge_task in chain["plots"].requires().items():
        dataset = config.get_dataset(dataset_name)
        process_id = dataset.processes.get_first().id
        ref = expected[dataset_name]
        assert len(ref["n_jet"]) > 10, f"too few selected events in {dataset_name}"
        h = load_hist(merge_task, "n_jet")
        for category, mask in category_masks(ref).items():
            got = h[{"category": hist.loc(config.get_category(category).id),
                     "process": hist.loc(process_id), "shift": "nominal"}]
            want, _ = np.histogram(ref["n_jet"][mask], bins=edges, weights=ref["weight"][mask])
            np.testing.assert_allclose(got.values(flow=True), want, rtol=1e-5,
                                       err_msg=f"{dataset_name} {category}")
            if dataset.is_data:  # unweighted: variance == counts
                np.testing.assert_array_equal(got.variances(flow=True), want)


def test_yield_table(chain: dict, config: od.Config, expected: dict) -> None:
    with open(chain["yields"].output()["json"].path) as f:
        table = json.load(f)["yields"]
    total_mc = dict.fromkeys(CATEGORIES, 0.0)
    for dataset in config.datasets:
        process = dataset.processes.get_first().name
        for category, mask in category_masks(expected[dataset.name]).items():
            want = float(expected[dataset.name]["weight"][mask].sum())
            assert table[process][category]["value"] == pytest.approx(want, rel=1e-5)
            if dataset.is_mc:
                total_mc[category] += want
    for category, want in total_mc.items():
        assert table["total_mc"][category]["value"] == pytest.approx(want, rel=1e-5)
    assert os.path.exists(chain["yields"].output()["markdown"].path)


def test_shifts_run_only_where_needed(analysis: str) -> None:
    """A weight shift re-makes only histograms; the jes shift re-runs the selection onwards;
    data is always nominal."""
    from columnar.tasks.calibration import CalibrateEvents
    from columnar.tasks.histograms import CreateHistograms
    from columnar.tasks.production import ProduceColumns
    from columnar.tasks.selection import SelectEvents

    def task(cls, dataset: str = "tt_powheg", **kwargs):
        return cls(analysis=analysis, version="v1", dataset=dataset, **kwargs)

    assert task(CreateHistograms, shift="mu_sf_up").local_shift == "mu_sf_up"
    assert task(ProduceColumns, shift="mu_sf_up").shift == "nominal"
    assert task(SelectEvents, shift="jes_up").local_shift == "jes_up"
    assert task(CalibrateEvents, shift="jes_up").shift == "nominal"
    assert task(ProduceColumns, shift="jes_up").shift == "jes_up"
    assert task(SelectEvents, dataset="data_mu", shift="jes_up").shift == "nominal"


def test_taf_names_do_not_collide_with_columnar_demo(analysis: str) -> None:
    """TAF names are global per kind: this analysis can be imported next to columnar's demo."""
    import columnar.demo.analysis  # noqa: F401
    from columnar.producers import Producer

    assert {"{{ cookiecutter.short_name }}_features", "features"} <= set(
        Producer.registered_names())
