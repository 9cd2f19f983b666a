"""The demo analysis' TAFs on generated events, called directly (no tasks): physically sensible
results, normalisation, corrections and categories."""

from __future__ import annotations

import awkward as ak
import correctionlib
import numpy as np
import pytest

from columnar.config import get_shift_aliases
from columnar.demo.calibration import jec
from columnar.demo.config import campaign_files
from columnar.demo.corrections import SF_NOMINAL, SF_UNCERTAINTY
from columnar.demo.direct import event_weight, run_dataset, yields
from columnar.demo.production import muon_weights, normalization_weight
from columnar.demo.selection import default as default_selector
from columnar.io import read_nano, read_runs_stats


@pytest.fixture(scope="module")
def processed(demo_config):
    """Reduced and produced events plus stats of every dataset, nominal."""
    return {ds.name: run_dataset(demo_config, ds.name) for ds in demo_config.datasets}


def test_config_content(demo_config):
    assert demo_config.get_process("tt").get_xsec(13).nominal == 729.84
    assert demo_config.get_process("dy").get_xsec(13).nominal == 6077.22
    assert [v.name for v in demo_config.variables] == ["ht", "m_bjj", "jet1_pt", "n_jet", "met"]
    assert demo_config.get_variable("ht").binning == (25, 50.0, 550.0)
    assert demo_config.get_variable("met").expression == "MET.pt"
    assert [c.name for c in demo_config.categories] == ["incl", "4j1b", "4j2b"]
    assert get_shift_aliases(demo_config.get_shift("jec_down")) == {
        "Jet.pt": "Jet.pt_jec_down", "Jet.mass": "Jet.mass_jec_down"}
    assert get_shift_aliases(demo_config.get_shift("mu_up")) == {"muon_weight": "muon_weight_up"}
    assert demo_config.get_dataset("data").is_data and demo_config.get_dataset("tt").is_mc


def test_selection_efficiencies(processed):
    eff = {name: stats["num_events_selected"] / stats["num_events"]
           for name, (_, stats) in processed.items()}
    assert eff["tt"] > 0.2
    assert eff["tt"] > 4 * eff["dy"], eff
    # the steps are consistent with the event mask
    stats = processed["tt"][1]
    assert stats["num_events_selected"] <= min(
        stats[f"num_events_step_{s}"] for s in ("lepton", "jet", "bjet"))
    assert stats["sum_mc_weight_selected"] < stats["sum_mc_weight"]
    # the Runs bookkeeping counts the events removed by the campaign's skim as well
    assert stats["num_gen_events"] > stats["num_events"]
    assert "sum_mc_weight" not in processed["data"][1]


def test_reduced_objects(processed):
    events = processed["tt"][0]
    assert ak.all(ak.num(events.Jet, axis=1) >= 4)
    assert ak.all(events.Jet.pt > 30) and ak.all(abs(events.Jet.eta) < 2.4)
    # sorted by pt, descending
    assert ak.all(events.Jet.pt[:, :-1] >= events.Jet.pt[:, 1:])
    n_lep = ak.num(events.Muon, axis=1) + ak.num(events.Electron, axis=1)
    assert ak.all(n_lep == 1)
    assert ak.all(events.n_bjet >= 1)
    assert ak.all(events.jet1_pt == events.Jet.pt[:, 0])
    assert np.allclose(events.ht, ak.sum(events.Jet.pt, axis=1), rtol=1e-6)
    # calibrator outputs travel with the selected jets
    assert np.allclose(ak.flatten(events.Jet.pt_jec_up), ak.flatten(events.Jet.pt) * 1.03,
                       rtol=1e-6)


def test_m_bjj_peaks_at_top_mass(processed):
    events = processed["tt"][0]
    in_4j2b = events.n_bjet >= 2
    m_bjj = events.m_bjj[in_4j2b].to_numpy()
    counts, edges = np.histogram(m_bjj, bins=25, range=(50, 550))
    peak = edges[np.argmax(counts)] + 10
    assert 140 < peak < 210, peak
    # W+jets has no such peak
    w_events = processed["wjets"][0]
    m_w = w_events.m_bjj[w_events.m_bjj > 0].to_numpy()
    assert np.median(m_w) > np.median(m_bjj) or abs(np.median(m_w) - 172.5) > 10


def test_m_bjj_missing_without_btag(demo_config):
    from columnar.demo.production import features

    jets = ak.Array([[{"pt": 50.0, "eta": 0.1, "phi": 0.0, "mass": 5.0, "btagDeepFlavB": 0.1}] * 4])
    events = features(config_inst=demo_config)(ak.Array({"Jet": jets}))
    assert events.m_bjj.tolist() == [-99999.0]
    assert events.n_bjet.tolist() == [0]


def test_categories(processed, demo_config):
    events = processed["tt"][0]
    ids = events.category_ids
    incl = ak.any(ids == 1, axis=1)
    one_b = ak.any(ids == 2, axis=1)
    two_b = ak.any(ids == 3, axis=1)
    assert ak.all(incl)
    assert not ak.any(one_b & two_b)
    assert ak.all(one_b == (events.n_bjet == 1))
    assert ak.all(two_b == (events.n_bjet >= 2))
    # ttbar dominates 4j2b, W+jets is prominent in 4j1b
    table = yields(demo_config, {name: ev for name, (ev, _) in processed.items()})
    assert table["tt"]["4j2b"] > 3 * (table["wjets"]["4j2b"] + table["dy"]["4j2b"])
    assert table["wjets"]["4j1b"] > 0.3 * table["tt"]["4j1b"]


def test_data_agrees_with_mc(processed, demo_config):
    table = yields(demo_config, {name: ev for name, (ev, _) in processed.items()})
    for cat in ("incl", "4j1b", "4j2b"):
        data = table["data"][cat]
        mc = sum(table[name][cat] for name in ("tt", "dy", "wjets"))
        assert data > 50
        # Poisson uncertainty of data and a generous allowance for the MC statistics
        assert abs(data - mc) < 5 * np.sqrt(data) + 0.08 * mc, (cat, data, mc)


def test_normalisation_reproduces_lumi_times_xsec(demo_config):
    """Summed over all generated events, normalization_weight gives lumi * xsec."""
    dataset = demo_config.get_dataset("tt")
    files = campaign_files(demo_config, dataset)
    events = ak.concatenate([read_nano(p, ["genWeight"]) for p in files])
    lumi_xsec = demo_config.x.luminosity.nominal * 729.84
    producer = normalization_weight(config_inst=demo_config, dataset_inst=dataset)
    # stats from the events of the files alone: the sum over them is exactly lumi * xsec
    producer.run_setup(None, {"selection_stats": {
        "sum_mc_weight": float(np.sum(events.genWeight.to_numpy(), dtype=np.float64))}})
    assert np.isclose(ak.sum(producer(events).normalization_weight), lumi_xsec, rtol=1e-9)
    # with the Runs bookkeeping (events removed by the skim included), the written events carry
    # the fraction of the weight that survived the skim
    runs = read_runs_stats(files)
    producer.run_setup(None, {"selection_stats": runs})
    total = float(ak.sum(producer(events).normalization_weight))
    fraction = float(np.sum(events.genWeight.to_numpy(), dtype=np.float64)) / runs[
        "sum_gen_weight"]
    assert np.isclose(total, lumi_xsec * fraction, rtol=1e-9)
    with pytest.raises(ValueError, match="needs the selection stats of dataset 'tt'"):
        producer.run_setup(None, {})
    with pytest.raises(ValueError, match="no sum of generator weights"):
        producer.run_setup(None, {"selection_stats": {"num_events": 3}})


def test_weights_values(processed):
    events = processed["tt"][0]
    lead = events.Jet.pt[:, 0].to_numpy()
    assert ak.all(events.btag_weight == 1)
    assert np.allclose(events.btag_weight_up, 1 + 0.075 * lead / 50, rtol=1e-5)
    assert np.allclose(events.btag_weight_down, 1 - 0.075 * lead / 50, rtol=1e-5)
    has_mu = ak.num(events.Muon, axis=1) == 1
    assert ak.all(events.muon_weight[~has_mu] == 1)
    mu_w = events.muon_weight[has_mu].to_numpy()
    assert np.all((mu_w >= 0.97) & (mu_w <= 0.997))
    assert ak.all(events.muon_weight_up[has_mu] > events.muon_weight[has_mu])
    assert ak.all(events.muon_weight_down[has_mu] < events.muon_weight[has_mu])
    assert np.all(event_weight(events, True) != 0)
    assert np.all(event_weight(processed["data"][0], False) == 1)
    assert "normalization_weight" not in ak.fields(processed["data"][0])


def test_muon_sf_table(demo_config):
    """The correctionlib file holds the table of ANALYSIS.md, clamped outside its range."""
    path = demo_config.x.external_files["muon_sf"]()
    sf = correctionlib.CorrectionSet.from_file(path)["muon_sf"]
    eta_centers, pt_centers = [0.45, 1.05, 1.65, 2.25], [35.0, 50.0, 90.0, 500.0]
    for i, eta in enumerate(eta_centers):
        for j, pt in enumerate(pt_centers):
            nom, unc = SF_NOMINAL[i][j], SF_UNCERTAINTY[i][j]
            assert sf.evaluate(eta, pt, "nominal") == pytest.approx(nom)
            assert sf.evaluate(eta, pt, "up") == pytest.approx(nom + unc)
            assert sf.evaluate(eta, pt, "down") == pytest.approx(nom - unc)
    assert sf.evaluate(3.0, 10.0, "nominal") == pytest.approx(0.970)  # clamped
    # the producer multiplies over muons
    producer = muon_weights(config_inst=demo_config, dataset_inst=demo_config.get_dataset("tt"))
    producer.run_setup(None, {})
    muons = ak.Array({"Muon": [[{"pt": 35.0, "eta": -0.45}, {"pt": 500.0, "eta": 2.25}], []]})
    out = producer(muons)
    assert out.muon_weight.tolist() == pytest.approx([0.990 * 0.985, 1.0])


def test_jec_shift_changes_selection(demo_config):
    """Under jec_up the selector sees jets scaled by 1.03: more events pass."""
    nominal, stats_nom = run_dataset(demo_config, "tt")
    shifted, stats_up = run_dataset(demo_config, "tt", shift="jec_up")
    assert stats_up["num_events_selected"] > stats_nom["num_events_selected"]
    assert np.allclose(ak.flatten(shifted.Jet.pt), ak.flatten(shifted.Jet.pt_jec_up))
    # data is always nominal
    data_nom, _ = run_dataset(demo_config, "data")
    data_up, _ = run_dataset(demo_config, "data", shift="jec_up")
    assert data_nom.event.tolist() == data_up.event.tolist()


def test_tafs_on_raw_events(demo_config, small_campaign_dir):
    """jec and the selector called on freshly read NanoAOD."""
    dataset = demo_config.get_dataset("dy")
    path = campaign_files(demo_config, dataset)[0]
    calib = jec(config_inst=demo_config, dataset_inst=dataset)
    events = read_nano(path, [str(c) for c in calib.used_columns])
    out = calib(events)
    assert np.allclose(ak.flatten(out.Jet.mass_jec_down), ak.flatten(events.Jet.mass) * 0.97)
    sel = default_selector(config_inst=demo_config, dataset_inst=dataset)
    events = read_nano(path, [str(c) for c in sel.used_columns])
    _, result = sel(events)
    assert sorted(result.steps) == ["bjet", "jet", "lepton"]
    assert len(result.event) == len(events)
    assert set(result.objects) == {"Muon", "Electron", "Jet"}
