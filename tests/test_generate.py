"""Tests of the synthetic NanoAOD campaign generator (columnar.demo.generate).

Run as a script to print the weighted yields of the ANALYSIS.md selection of a campaign:
``python tests/test_generate.py OUTDIR [--events N] [--lumi L]`` (generates it if needed).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from hypothesis import given, settings
from hypothesis import strategies as st

from columnar.demo import constants as C
from columnar.demo import generate as gen
from columnar.demo.generate import (
    MANIFEST_NAME,
    ensure_campaign,
    generate_campaign,
    generate_dataset,
    load_manifest,
    stage1_probability,
)

EVENTS = 3000
LUMI = 20.0
SEED = 123
FILES = 2

#: NanoAOD v12 branch types as uproot names them (read from a real v12 file)
EXPECTED_EVENTS_TYPES = {
    "run": "uint32_t",
    "luminosityBlock": "uint32_t",
    "event": "uint64_t",
    "genWeight": "float",
    "nJet": "int32_t",
    "Jet_pt": "float[]",
    "Jet_eta": "float[]",
    "Jet_phi": "float[]",
    "Jet_mass": "float[]",
    "Jet_btagDeepFlavB": "float[]",
    "Jet_jetId": "uint8_t[]",
    "Jet_hadronFlavour": "uint8_t[]",
    "nMuon": "int32_t",
    "Muon_pt": "float[]",
    "Muon_eta": "float[]",
    "Muon_phi": "float[]",
    "Muon_mass": "float[]",
    "Muon_charge": "int32_t[]",
    "Muon_tightId": "bool[]",
    "Muon_pfRelIso04_all": "float[]",
    "Muon_sip3d": "float[]",
    "nElectron": "int32_t",
    "Electron_pt": "float[]",
    "Electron_eta": "float[]",
    "Electron_phi": "float[]",
    "Electron_mass": "float[]",
    "Electron_charge": "int32_t[]",
    "Electron_cutBased": "uint8_t[]",
    "Electron_sip3d": "float[]",
    "MET_pt": "float",
    "MET_phi": "float",
    "PV_npvs": "uint8_t",
    "Pileup_nTrueInt": "float",
    "HLT_IsoMu24": "bool",
    "HLT_Ele32_WPTight_Gsf": "bool",
}
MC_ONLY = {"genWeight", "Jet_hadronFlavour", "Pileup_nTrueInt"}
EXPECTED_RUNS_MC = {"run": "uint32_t", "genEventCount": "int64_t", "genEventSumw": "double",
                    "genEventSumw2": "double"}


# --------------------------------------------------------------------------------------
# the ANALYSIS.md selection, used by the yields check
# --------------------------------------------------------------------------------------

CATEGORIES = ("skim", "1l", "1l4j", "incl", "4j1b", "4j2b")


def analysis_masks(events: ak.Array) -> dict[str, np.ndarray]:
    """Event masks of the ttbar-lite selection steps and categories of ANALYSIS.md."""
    mu, el, jet = events.Muon, events.Electron, events.Jet
    mu_sel = ((mu.pt > 30) & (abs(mu.eta) < 2.1) & mu.tightId & (mu.pfRelIso04_all < 0.15)
              & (mu.sip3d < 4))
    el_sel = (el.pt > 30) & (abs(el.eta) < 2.1) & (el.cutBased == 4) & (el.sip3d < 4)
    jet_sel = (jet.pt > 30) & (abs(jet.eta) < 2.4) & ((jet.jetId & 2) != 0)
    n_lep = ak.to_numpy(ak.sum(mu_sel, axis=1) + ak.sum(el_sel, axis=1))
    n_jet = ak.to_numpy(ak.sum(jet_sel, axis=1))
    n_b = ak.to_numpy(ak.sum(jet_sel & (jet.btagDeepFlavB > 0.5), axis=1))
    base = (n_lep == 1) & (n_jet >= 4)
    return {
        "skim": np.ones(len(n_lep), bool),
        "1l": n_lep == 1,
        "1l4j": base,
        "incl": base & (n_b >= 1),
        "4j1b": base & (n_b == 1),
        "4j2b": base & (n_b >= 2),
    }


def selection_yields(outdir: str | os.PathLike, manifest: dict) -> dict[str, dict[str, float]]:
    """Weighted yields per dataset and category; MC scaled to the manifest's luminosity."""
    outdir = Path(outdir)
    lumi = manifest["lumi_pb"]
    yields = {}
    for name, entry in manifest["datasets"].items():
        tot = dict.fromkeys(CATEGORIES, 0.0)
        for f in entry["files"]:
            events = uproot.open(outdir / f["path"])["Events"].arrays(
                filter_name=["nJet", "Jet_*", "nMuon", "Muon_*", "nElectron", "Electron_*",
                             "genWeight"],
                how="zip",
            )
            if entry["is_data"]:
                weight = np.ones(len(events))
            else:
                weight = (ak.to_numpy(events.genWeight).astype(np.float64) * lumi
                          * entry["xsec_pb"] / entry["gen_event_sumw"])
            for cat, mask in analysis_masks(events).items():
                tot[cat] += float(weight[mask].sum())
        yields[name] = tot
    return yields


def format_yields(yields: dict[str, dict[str, float]]) -> str:
    lines = [f"{'':8s}" + "".join(f"{c:>11s}" for c in CATEGORIES)]
    for name, tot in yields.items():
        lines.append(f"{name:8s}" + "".join(f"{tot[c]:11.1f}" for c in CATEGORIES))
    mc = [n for n in yields if n != C.DATA_DATASET]
    lines.append(f"{'MC sum':8s}" + "".join(f"{sum(yields[n][c] for n in mc):11.1f}"
                                            for c in CATEGORIES))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    outdir = tmp_path_factory.mktemp("campaign")
    manifest = generate_campaign(outdir, events=EVENTS, files_per_dataset=FILES, seed=SEED,
                                 lumi=LUMI)
    return outdir, manifest


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _events(path: Path, **kwargs) -> ak.Array:
    return uproot.open(path)["Events"].arrays(**kwargs)


def _stamp(outdir: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(outdir)): (p.stat().st_mtime_ns, p.stat().st_ino)
            for p in sorted(outdir.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------------------
# format
# --------------------------------------------------------------------------------------

def test_layout_and_manifest(campaign):
    outdir, manifest = campaign
    assert load_manifest(outdir) == manifest
    assert manifest["parameters"]["seed"] == SEED
    assert manifest["generator_version"] == gen.GENERATOR_VERSION
    assert list(manifest["datasets"]) == list(C.DATASETS)
    for name, entry in manifest["datasets"].items():
        expected_paths = [f"{name}/nano_{i}.root" for i in range(FILES)]
        assert [f["path"] for f in entry["files"]] == expected_paths
        for f in entry["files"]:
            assert uproot.open(outdir / f["path"])["Events"].num_entries == f["events"] > 0
        assert sum(f["events"] for f in entry["files"]) == entry["events"]
        if not entry["is_data"]:
            assert entry["events"] == EVENTS
    # no temporary files left behind
    assert not list(outdir.rglob("*.tmp")) and not list(outdir.rglob(".tmp-*"))


def test_branch_names_and_types(campaign):
    outdir, manifest = campaign
    for entry in manifest["datasets"].values():
        expected = dict(EXPECTED_EVENTS_TYPES)
        if entry["is_data"]:
            expected = {k: v for k, v in expected.items() if k not in MC_ONLY}
        f = uproot.open(outdir / entry["files"][0]["path"])
        assert isinstance(f["Events"], uproot.TTree)
        assert {k: f["Events"][k].typename for k in f["Events"].keys()} == expected
        runs = {k: f["Runs"][k].typename for k in f["Runs"].keys()}
        assert runs == ({"run": "uint32_t"} if entry["is_data"] else EXPECTED_RUNS_MC)


@pytest.mark.filterwarnings("ignore:Missing cross-reference index")
def test_coffea_nanoevents(campaign):
    nanoevents = pytest.importorskip("coffea.nanoevents")
    outdir, manifest = campaign
    for name in ("tt", "data"):
        path = str(outdir / manifest["datasets"][name]["files"][0]["path"])
        events = nanoevents.NanoEventsFactory.from_root(
            {path: "Events"}, schemaclass=nanoevents.NanoAODSchema, mode="eager"
        ).events()
        total = events.Jet.sum()
        assert np.all(np.isfinite(ak.to_numpy(total.mass)))
        assert ak.all(ak.num(events.Jet) >= 3)
        assert np.all(np.isfinite(ak.to_numpy(events.MET.pt)))
        if name == "tt":
            assert set(np.unique(ak.to_numpy(ak.flatten(events.Jet.hadronFlavour)))) <= {0, 4, 5}


def test_object_content(campaign):
    outdir, manifest = campaign
    for name, entry in manifest["datasets"].items():
        ev = _events(outdir / entry["files"][0]["path"], how="zip")
        jet, mu, el = ev.Jet, ev.Muon, ev.Electron
        assert ak.all(jet.pt[:, :-1] >= jet.pt[:, 1:])
        assert ak.all(mu.pt[:, :-1] >= mu.pt[:, 1:]) and ak.all(el.pt[:, :-1] >= el.pt[:, 1:])
        assert ak.all(jet.pt > 15) and ak.all(abs(jet.eta) < 4.7)
        assert ak.all(abs(mu.eta) < 2.4) and ak.all(abs(el.eta) < 2.5)
        assert ak.all((jet.btagDeepFlavB >= 0) & (jet.btagDeepFlavB <= 1))
        assert set(np.unique(ak.to_numpy(ak.flatten(jet.jetId)))) <= {0, 2, 6}
        assert ak.mean(jet.jetId == 6) > 0.85
        assert ak.all(abs(mu.charge) == 1) and ak.all(abs(el.charge) == 1)
        assert ak.all(el.cutBased <= 4)
        mass = ak.to_numpy(ak.flatten(jet.mass))
        assert 2 < np.median(mass) < 10 and np.quantile(mass, 0.99) < 40
        # stage-2 skim
        assert ak.all((ak.sum(mu.pt > 25, axis=1) + ak.sum(el.pt > 25, axis=1)) >= 1)
        assert ak.all(ak.sum(jet.pt > 25, axis=1) >= 3)
        npv = ak.to_numpy(ev.PV_npvs)
        assert 15 < npv.mean() < 25
        if not entry["is_data"]:
            w = ak.to_numpy(ev.genWeight)
            assert len(np.unique(np.abs(w))) == 1
            neg = np.mean(w < 0)
            assert {"tt": neg < 0.03, "dy": 0.05 < neg < 0.16, "wjets": neg == 0}[name]
            assert ak.all(ev.run == 1)


def test_btag_and_physics_shapes(campaign):
    outdir, manifest = campaign
    tt = _events(outdir / manifest["datasets"]["tt"]["files"][0]["path"], how="zip")
    jet = ak.flatten(tt.Jet[abs(tt.Jet.eta) < 2.4])
    for flav, lo, hi in ((5, 0.70, 0.80), (4, 0.10, 0.20), (0, 0.005, 0.03)):
        sel = jet[jet.hadronFlavour == flav]
        assert lo < ak.mean(sel.btagDeepFlavB > 0.5) < hi, flav
    # the three-jet mass of ANALYSIS.md peaks at the top mass
    sel = tt.Jet[(tt.Jet.pt > 30) & (abs(tt.Jet.eta) < 2.4)]
    sel = sel[ak.num(sel) >= 3]
    p4 = ak.zip({"pt": sel.pt, "eta": sel.eta, "phi": sel.phi, "mass": sel.mass})
    comb = ak.combinations(p4, 3, fields=["a", "b", "c"])
    px = sum(comb[k].pt * np.cos(comb[k].phi) for k in "abc")
    py = sum(comb[k].pt * np.sin(comb[k].phi) for k in "abc")
    pz = sum(comb[k].pt * np.sinh(comb[k].eta) for k in "abc")
    e = sum(np.sqrt((comb[k].pt * np.cosh(comb[k].eta)) ** 2 + comb[k].mass ** 2) for k in "abc")
    best = ak.argmax(px**2 + py**2, axis=1, keepdims=True)
    m = ak.to_numpy(ak.flatten(np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0))[best]))
    counts, edges = np.histogram(m, bins=25, range=(50, 550))
    assert 130 <= edges[np.argmax(counts)] <= 190
    # Drell-Yan dimuon mass peaks at the Z mass
    dy = _events(outdir / manifest["datasets"]["dy"]["files"][0]["path"], how="zip")
    mu = dy.Muon[(ak.num(dy.Muon) >= 2)]
    mu = mu[mu.charge[:, 0] != mu.charge[:, 1]]
    a, b = mu[:, 0], mu[:, 1]
    mll2 = 2 * a.pt * b.pt * (np.cosh(a.eta - b.eta) - np.cos(a.phi - b.phi))
    assert 88 < np.median(np.sqrt(ak.to_numpy(mll2))) < 94


# --------------------------------------------------------------------------------------
# determinism
# --------------------------------------------------------------------------------------

def test_same_seed_same_bytes_and_dataset_independence(campaign, tmp_path):
    outdir, manifest = campaign
    # only two of the four datasets: their files must not depend on the others
    other = generate_campaign(tmp_path, events=EVENTS, datasets=["tt", "data"],
                              files_per_dataset=FILES, seed=SEED, lumi=LUMI)
    for name in ("tt", "data"):
        assert other["datasets"][name] == manifest["datasets"][name]
        for f in manifest["datasets"][name]["files"]:
            assert _digest(tmp_path / f["path"]) == _digest(outdir / f["path"])


def test_workers_do_not_change_output(tmp_path):
    a = generate_dataset(tmp_path / "a", "dy", events=400, files_per_dataset=2, seed=5, workers=1)
    b = generate_dataset(tmp_path / "b", "dy", events=400, files_per_dataset=2, seed=5, workers=2)
    assert a == b
    for f in a["files"]:
        assert _digest(tmp_path / "a" / f["path"]) == _digest(tmp_path / "b" / f["path"])


def test_different_files_and_seeds_differ(campaign, tmp_path):
    outdir, manifest = campaign
    paths = [outdir / f["path"] for f in manifest["datasets"]["tt"]["files"]]
    e0, e1 = (_events(p, filter_name=["event", "Jet_pt"]) for p in paths)
    assert not set(ak.to_numpy(e0.event)) & set(ak.to_numpy(e1.event))
    assert not ak.all(e0.Jet_pt[:100][:, 0] == e1.Jet_pt[:100][:, 0])
    other = generate_dataset(tmp_path, "tt", events=EVENTS, files_per_dataset=FILES, seed=SEED + 1)
    assert other["gen_event_count"] != manifest["datasets"]["tt"]["gen_event_count"]
    e2 = _events(tmp_path / other["files"][0]["path"], filter_name=["Jet_pt"])
    assert _digest(tmp_path / other["files"][0]["path"]) != _digest(paths[0])
    assert not ak.all(e0.Jet_pt[:100][:, 0] == e2.Jet_pt[:100][:, 0])


# --------------------------------------------------------------------------------------
# bookkeeping and normalisation
# --------------------------------------------------------------------------------------

def test_stage1_probabilities():
    assert stage1_probability("tt") == pytest.approx(2 * 2 * C.BR_W_LNU * C.BR_W_HAD)
    for name in ("dy", "wjets"):
        r = gen.PROCESS_MODELS[name].rad_ratio
        assert stage1_probability(name) == pytest.approx(C.FRAC_EMU_OF_LEPTONIC * r**4)


def test_runs_bookkeeping(campaign):
    outdir, manifest = campaign
    for name in C.MC_DATASETS:
        entry = manifest["datasets"][name]
        model = gen.PROCESS_MODELS[name]
        totals = {"genEventCount": 0, "genEventSumw": 0.0, "genEventSumw2": 0.0}
        for f in entry["files"]:
            tree = uproot.open(outdir / f["path"])
            runs = tree["Runs"].arrays(library="np")
            w = tree["Events"]["genWeight"].array(library="np").astype(np.float64)
            assert len(runs["run"]) == 1 and runs["run"][0] == 1
            assert runs["genEventCount"][0] == f["gen_event_count"] >= f["stage2_trials"] >= len(w)
            assert runs["genEventSumw"][0] == pytest.approx(f["gen_event_sumw"])
            assert runs["genEventSumw"][0] >= w.sum()
            assert runs["genEventSumw2"][0] >= np.square(w).sum()
            for k in totals:
                totals[k] += runs[k][0]
        assert totals["genEventCount"] == entry["gen_event_count"]
        assert totals["genEventSumw"] == pytest.approx(entry["gen_event_sumw"], rel=1e-12)
        assert totals["genEventSumw2"] == pytest.approx(entry["gen_event_sumw2"], rel=1e-12)
        # inclusive count = T2 / p1 within statistics; weights iid with the model's mean
        t2, p1 = entry["stage2_trials"], model.p1
        count = entry["gen_event_count"]
        assert abs(count - t2 / p1) < 6 * math.sqrt(t2 * (1 - p1)) / p1
        w_abs, f_neg = float(np.float32(model.weight)), model.neg_fraction
        w_mean = w_abs * (1 - 2 * f_neg)
        sigma = w_abs * 2 * math.sqrt(f_neg * (1 - f_neg) / count)
        assert abs(entry["gen_event_sumw"] / count - w_mean) <= 6 * sigma + 1e-9 * abs(w_mean)
        assert entry["gen_event_sumw2"] == pytest.approx(count * w_abs**2)


def test_data_ids(campaign):
    outdir, manifest = campaign
    ids = [_events(outdir / f["path"], filter_name=["run", "luminosityBlock", "event"])
           for f in manifest["datasets"]["data"]["files"]]
    run = np.concatenate([ak.to_numpy(i.run) for i in ids])
    event = np.concatenate([ak.to_numpy(i.event) for i in ids])
    assert np.all((run >= 250_000) & (run < 290_000))
    assert len(np.unique(event)) == len(event)
    assert np.all(np.diff(run.astype(np.int64)) >= 0)
    for f, i in zip(manifest["datasets"]["data"]["files"], ids, strict=True):
        runs = uproot.open(outdir / f["path"])["Runs"]["run"].array(library="np")
        assert set(runs) == set(ak.to_numpy(i.run))


def test_data_yield_matches_normalised_mc(campaign):
    outdir, manifest = campaign
    data = manifest["datasets"]["data"]
    expected, var_mc = 0.0, 0.0
    for name in C.MC_DATASETS:
        entry = manifest["datasets"][name]
        # poisson number of stage-2 trials in data
        info = data["processes"][name]
        mu = LUMI * C.XSECS_PB[name] * stage1_probability(name)
        assert info["expected_stage2_trials"] == pytest.approx(mu)
        assert abs(info["stage2_trials"] - mu) < 5 * math.sqrt(mu) + 1
        # lumi * xsec * sum(written genWeight) / genEventSumw = lumi * xsec * p1 * skim efficiency
        sumw = sum(uproot.open(outdir / f["path"])["Events"]["genWeight"].array(library="np")
                   .astype(np.float64).sum() for f in entry["files"])
        exp_p = LUMI * C.XSECS_PB[name] * sumw / entry["gen_event_sumw"]
        expected += exp_p
        # relative MC uncertainty: binomial skim efficiency and negative binomial filter count
        p1 = stage1_probability(name)
        var_mc += exp_p**2 * (1.0 / entry["events"] + (1 - p1) / entry["stage2_trials"])
    sigma = math.sqrt(expected + var_mc)
    assert abs(data["events"] - expected) < 5 * sigma, (data["events"], expected, sigma)


def test_selection_yields(campaign):
    outdir, manifest = campaign
    yields = selection_yields(outdir, manifest)
    print("\n" + format_yields(yields))
    tt, dy, wj, data = (yields[n] for n in ("tt", "dy", "wjets", "data"))
    assert tt["4j2b"] > 3 * (dy["4j2b"] + wj["4j2b"])
    assert wj["4j1b"] > 0.25 * tt["4j1b"]
    assert dy["incl"] < 0.05 * (tt["incl"] + wj["incl"])
    # data agrees with the normalised MC: Poisson plus a 5 % allowance for MC statistics
    mc = sum(yields[n]["incl"] for n in C.MC_DATASETS)
    assert abs(data["incl"] - mc) < 5 * math.sqrt(data["incl"] + (0.05 * mc) ** 2)


# --------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------

def test_ensure_campaign(tmp_path):
    kwargs = dict(events=300, datasets=["wjets", "data"], files_per_dataset=1, seed=3, lumi=2.0)
    first = ensure_campaign(tmp_path, **kwargs)
    before = _stamp(tmp_path)
    assert ensure_campaign(tmp_path, **kwargs) == first
    assert _stamp(tmp_path) == before
    # other parameters: regenerated, and the manifest describes the new campaign
    second = ensure_campaign(tmp_path, **{**kwargs, "seed": 4})
    after = _stamp(tmp_path)
    assert second["seed"] == 4 and second != first
    for f in second["datasets"]["wjets"]["files"]:
        assert after[f["path"]] != before[f["path"]]
    assert after[MANIFEST_NAME] != before[MANIFEST_NAME]
    # an incomplete campaign (no manifest) is generated again
    (tmp_path / MANIFEST_NAME).unlink()
    assert ensure_campaign(tmp_path, **{**kwargs, "seed": 4}) == second


def test_ensure_campaign_concurrent_callers(tmp_path):
    kwargs = dict(events=200, datasets=["dy"], files_per_dataset=1, seed=11, lumi=1.0)
    with ProcessPoolExecutor(2) as pool:
        results = [f.result() for f in [pool.submit(ensure_campaign, tmp_path, **kwargs)
                                        for _ in range(2)]]
    assert results[0] == results[1] == load_manifest(tmp_path)
    assert uproot.open(tmp_path / "dy" / "nano_0.root")["Events"].num_entries == 200
    assert not list(tmp_path.rglob("*.tmp")) and not list(tmp_path.rglob(".tmp-*"))


def test_cli(tmp_path):
    root = Path(__file__).resolve().parents[1]
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    cmd = [sys.executable, "-m", "columnar.demo.generate", str(tmp_path), "--events", "200",
           "--datasets", "tt,data", "--files-per-dataset", "1", "--seed", "9", "--lumi", "1.5"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert "tt" in out.stdout and "data" in out.stdout
    manifest = load_manifest(tmp_path)
    assert manifest["parameters"]["events"] == 200
    assert manifest["parameters"]["datasets"] == ["tt", "data"]
    assert manifest["lumi_pb"] == 1.5
    assert (tmp_path / "tt" / "nano_0.root").is_file()
    assert uproot.open(tmp_path / "tt" / "nano_0.root")["Events"].num_entries == 200
    # the same command again does not regenerate
    before = _stamp(tmp_path)
    subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert _stamp(tmp_path) == before


# --------------------------------------------------------------------------------------
# kinematics
# --------------------------------------------------------------------------------------

def _mass2(p: np.ndarray) -> np.ndarray:
    return p[0] ** 2 - p[1] ** 2 - p[2] ** 2 - p[3] ** 2


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    parent_mass=st.floats(20.0, 400.0),
    pt=st.floats(0.0, 800.0),
    y=st.floats(-3.0, 3.0),
    m1_frac=st.floats(0.0, 0.45),
)
def test_two_body_decay_conserves_four_momentum(seed, parent_mass, pt, y, m1_frac):
    rng = np.random.default_rng(seed)
    n = 16
    phi = rng.uniform(-np.pi, np.pi, n)
    mass = np.full(n, parent_mass)
    parent = gen._from_pt_y_m(pt * np.cos(phi), pt * np.sin(phi), np.full(n, y), mass)
    m1 = m1_frac * parent_mass
    d1, d2 = gen._decay(rng, parent, mass, m1, 0.0)
    scale = np.abs(parent).max()
    np.testing.assert_allclose(d1 + d2, parent, atol=1e-9 * scale, rtol=1e-9)
    np.testing.assert_allclose(np.sqrt(np.maximum(_mass2(d1), 0)), m1, atol=1e-6 * scale)
    np.testing.assert_allclose(_mass2(d2), 0, atol=1e-6 * scale**2)


def main(argv: list[str] | None = None) -> int:
    """Print the weighted selection yields of a campaign (generated if needed)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("outdir")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--lumi", type=float, default=C.LUMI_PB)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    manifest = ensure_campaign(args.outdir, events=args.events, lumi=args.lumi,
                               workers=args.workers)
    print(format_yields(selection_yields(args.outdir, manifest)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
