"""End-to-end tests of ProduceColumns -> CreateHistograms -> MergeHistograms on the small
campaign, checked against an independent computation (tests/reference.py)."""

from __future__ import annotations

import os
import pickle

import awkward as ak
import hist
import numpy as np
import pytest

from columnar.columns import set_ak_column
from columnar.producers import producer
from columnar.tasks.base import ColumnarTaskError, load_analysis
from tests import reference
from tests.taskutil import make_task, run_task, store_files

CHUNK = 1000
DATASETS = ("tt", "dy", "wjets", "data")
CATEGORIES = {"incl": 1, "4j1b": 2, "4j2b": 3}


def task(name: str, analysis: str, **kwargs):
    return make_task(name, analysis, chunk_size=CHUNK, **kwargs)


@producer(uses={"Jet.pt", "MET.pt"}, produces={"st"})
def st_feature(self, events, **kwargs):
    """Scalar sum of jet pt and MET."""
    return set_ak_column(events, "st", ak.sum(events.Jet.pt, axis=1) + events.MET.pt)


@producer(uses={"Jet.jetId"}, produces={"n_tight_jets"})
def needs_dropped_column(self, events, **kwargs):
    return set_ak_column(events, "n_tight_jets", ak.sum(events.Jet.jetId >= 6, axis=1))


@pytest.fixture(scope="module")
def config(analysis):
    cfg = load_analysis(analysis).get_config("demo")
    if not cfg.has_variable("st"):
        from columnar.config import add_variable

        add_variable(cfg, "st", binning=(20, 100.0, 900.0), x_title=r"$S_T$", unit="GeV")
    return cfg


@pytest.fixture(scope="module")
def merged(analysis, store, config):
    variables = ("ht", "m_bjj", "jet1_pt", "n_jet", "met", "ht-m_bjj")
    tasks = {d: task("MergeHistograms", analysis, dataset=d, variables=variables)
             for d in DATASETS}
    for t in tasks.values():
        assert run_task(t)
    return tasks


def load(t, variable: str) -> hist.Hist:
    with open(t.output()[variable].path, "rb") as f:
        return pickle.load(f)


@pytest.fixture(scope="module")
def expected(config):
    """Reference histogram contents {dataset: {variable: {category: counts with flow}}}."""
    out = {}
    lumi = config.x.luminosity.nominal
    sf_path = config.x.external_files["muon_sf"]()
    for name in DATASETS:
        dataset = config.get_dataset(name)
        files = config.x.get_dataset_files(config, dataset)
        events = ak.concatenate([reference.select(reference.read(p, dataset.is_mc))
                                 for p in files])
        feats = reference.features(events)
        if dataset.is_mc:
            xsec = dataset.processes.get_first().get_xsec(13).nominal
            weight = reference.weights(events, reference.normalization(files, lumi, xsec),
                                       sf_path)
        else:
            weight = np.ones(len(events))
        cats = {"incl": np.ones(len(events), dtype=bool), "4j1b": feats["n_bjet"] == 1,
                "4j2b": feats["n_bjet"] >= 2}
        out[name] = {}
        for var in ("ht", "m_bjj", "jet1_pt", "n_jet", "met"):
            edges = np.array(config.get_variable(var).bin_edges)
            out[name][var] = {c: reference.histogram(feats[var][m], weight[m], edges)
                              for c, m in cats.items()}
        out[name]["n_events"] = len(events)
    return out


def test_histograms_equal_independent_computation(merged, expected, config):
    for name in DATASETS:
        process_id = config.get_dataset(name).processes.get_first().id
        assert expected[name]["n_events"] > 10, name
        for var in ("ht", "m_bjj", "jet1_pt", "n_jet", "met"):
            h = load(merged[name], var)
            assert list(h.axes["shift"]) == ["nominal"]
            assert list(h.axes["process"]) == [process_id]
            for cat, cat_id in CATEGORIES.items():
                got = h[{"category": hist.loc(cat_id), "process": hist.loc(process_id),
                         "shift": "nominal"}].values(flow=True)
                np.testing.assert_allclose(got, expected[name][var][cat], rtol=1e-6,
                                           atol=1e-9, err_msg=f"{name} {var} {cat}")
    # data: unweighted counts, variance == counts
    h = load(merged["data"], "ht")[{"category": hist.loc(1), "process": sum, "shift": sum}]
    assert np.array_equal(h.values(flow=True), h.variances(flow=True))
    assert h.sum(flow=True).value == expected["data"]["n_events"]


def test_two_dimensional_histogram(merged, expected):
    h2 = load(merged["tt"], "ht-m_bjj")
    assert [ax.name for ax in h2.axes][3:] == ["ht", "m_bjj"]
    proj = h2[{"category": hist.loc(1), "process": sum, "shift": sum}].project("ht")
    np.testing.assert_allclose(proj.values(flow=True), expected["tt"]["ht"]["incl"], rtol=1e-6)


def test_adding_a_producer_reruns_only_what_depends_on_it(merged, analysis, store):
    before = store_files(store)
    t = task("MergeHistograms", analysis, dataset="tt", producers=("features", "weights",
                                                                   "st_feature"),
             variables=("ht", "st"))
    assert run_task(t)
    after = store_files(store)
    # nothing that existed was rewritten
    assert {p: m for p, m in after.items() if p in before} == before
    new = sorted(os.path.relpath(p, store).split(os.sep)[1] for p in set(after) - set(before))
    assert set(new) == {"cf.ProduceColumns", "cf.CreateHistograms", "cf.MergeHistograms"}
    produced = [p for p in set(after) - set(before) if "cf.ProduceColumns" in p]
    assert all("prod__st_feature" in p for p in produced)
    h = load(t, "st")
    assert h[{"category": hist.loc(1), "process": sum, "shift": sum}].sum(flow=True).value > 0


def test_producer_needing_a_dropped_column(merged, analysis):
    t = task("ProduceColumns", analysis, dataset="dy", producer="needs_dropped_column", branch=0)
    message = ("producer 'needs_dropped_column' uses column\\(s\\) Jet.jetId that are not in "
               "the reduced events.*keep_columns\\['cf.ReduceEvents'\\]")
    with pytest.raises(ColumnarTaskError, match=message):
        t.run()


def test_unknown_variable_and_category(analysis, store):
    with pytest.raises(ColumnarTaskError, match="unknown variable 'htt'.*valid variables: ht, "):
        task("CreateHistograms", analysis, dataset="tt", variables=("htt",))
    with pytest.raises(ColumnarTaskError, match="unknown category '5j'.*valid categorys?"):
        task("PlotVariables1D", analysis, categories=("5j",))
    with pytest.raises(ColumnarTaskError, match="unknown producer 'featurez'"):
        task("CreateHistograms", analysis, dataset="tt", producers=("featurez",))


def _is_png(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_tasks(merged, analysis):
    t = task("PlotVariables1D", analysis, variables=("ht", "n_jet"), categories=("4j*",),
             file_types=("png", "pdf"), yscale="log", process_settings=("tt:scale=2",))
    assert t.categories == ("4j1b", "4j2b")
    assert run_task(t)
    files = [target.path for per_cat in t.output().values() for per_ext in per_cat.values()
             for target in per_ext.values()]
    assert len(files) == 2 * 2 * 2
    assert all(os.path.exists(p) for p in files)
    assert os.path.basename(files[0]).startswith(
        "plot__ht__cat_4j1b__proc_data_tt_dy_wjets__log__set_")
    assert _is_png(files[0])
    t2 = task("PlotVariables2D", analysis, categories=("incl",), file_types=("png",))
    assert t2.variables == ("ht-m_bjj",)
    assert run_task(t2)
    assert _is_png(t2.output()["ht-m_bjj"]["incl"]["png"].path)
    with pytest.raises(ColumnarTaskError, match="cf.PlotVariables2D plots 2-D variables"):
        task("PlotVariables2D", analysis, variables=("ht",))
    with pytest.raises(ColumnarTaskError, match="use cf.PlotVariables2D for ht-m_bjj"):
        task("PlotVariables1D", analysis, variables=("ht-m_bjj",))
    with pytest.raises(ColumnarTaskError, match="unknown file type 'gif'"):
        task("PlotVariables1D", analysis, file_types=("gif",))


def test_parse_settings():
    from columnar.tasks.plotting import parse_settings

    assert parse_settings(("tt:scale=2:label=ttbar", "dy:hidden", "ht:rebin=2:x_max=400.5")) == {
        "tt": {"scale": 2, "label": "ttbar"}, "dy": {"hidden": True},
        "ht": {"rebin": 2, "x_max": 400.5}}
