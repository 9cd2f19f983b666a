"""An independent implementation of the ttbar-lite analysis (ANALYSIS.md) on NanoAOD files with
plain uproot + awkward + numpy + correctionlib, to check the task chain against.

Nothing here uses columnar; four-vector sums are written out by hand.
"""

from __future__ import annotations

import itertools

import awkward as ak
import correctionlib
import numpy as np
import uproot

BRANCHES = ["event", "Jet_pt", "Jet_eta", "Jet_phi", "Jet_mass", "Jet_jetId",
            "Jet_btagDeepFlavB", "Muon_pt", "Muon_eta", "Muon_tightId", "Muon_pfRelIso04_all",
            "Muon_sip3d", "Electron_pt", "Electron_eta", "Electron_cutBased", "Electron_sip3d",
            "MET_pt"]


def read(path: str, is_mc: bool) -> ak.Array:
    with uproot.open(path) as f:
        return f["Events"].arrays(BRANCHES + (["genWeight"] if is_mc else []))


def select(a: ak.Array, jet_scale: float = 1.0) -> ak.Array:
    """Selected events with their selected objects; jets scaled by *jet_scale* first."""
    jet_pt = a.Jet_pt * np.float32(jet_scale)
    jet_mass = a.Jet_mass * np.float32(jet_scale)
    mu = ((a.Muon_pt > 30) & (abs(a.Muon_eta) < 2.1) & a.Muon_tightId
          & (a.Muon_pfRelIso04_all < 0.15) & (a.Muon_sip3d < 4))
    el = ((a.Electron_pt > 30) & (abs(a.Electron_eta) < 2.1) & (a.Electron_cutBased == 4)
          & (a.Electron_sip3d < 4))
    jet = (jet_pt > 30) & (abs(a.Jet_eta) < 2.4) & ((a.Jet_jetId & 2) != 0)
    n_b = ak.sum(jet & (a.Jet_btagDeepFlavB > 0.5), axis=1)
    keep = (((ak.sum(mu, axis=1) + ak.sum(el, axis=1)) == 1) & (ak.sum(jet, axis=1) >= 4)
            & (n_b >= 1))
    order = ak.argsort(jet_pt, axis=1, ascending=False)
    idx = order[jet[order]]
    fields = {
        "event": a.event, "jet_pt": jet_pt[idx], "jet_eta": a.Jet_eta[idx],
        "jet_phi": a.Jet_phi[idx], "jet_mass": jet_mass[idx],
        "jet_btag": a.Jet_btagDeepFlavB[idx], "muon_pt": a.Muon_pt[mu],
        "muon_eta": a.Muon_eta[mu], "electron_pt": a.Electron_pt[el], "met": a.MET_pt,
    }
    if "genWeight" in ak.fields(a):
        fields["gen_weight"] = a.genWeight
    return ak.zip(fields, depth_limit=1)[keep]


def m_bjj(ev: ak.Array) -> np.ndarray:
    """Mass of the three-jet combination with a b tag and the largest vector-sum pt."""
    out = np.full(len(ev), -99999.0)
    pt, eta, phi, mass, btag = (ak.to_list(ev[f]) for f in
                                ("jet_pt", "jet_eta", "jet_phi", "jet_mass", "jet_btag"))
    for i in range(len(ev)):
        best_pt = -1.0
        for combo in itertools.combinations(range(len(pt[i])), 3):
            if max(btag[i][j] for j in combo) <= 0.5:
                continue
            px = sum(pt[i][j] * np.cos(phi[i][j]) for j in combo)
            py = sum(pt[i][j] * np.sin(phi[i][j]) for j in combo)
            pz = sum(pt[i][j] * np.sinh(eta[i][j]) for j in combo)
            e = sum(np.sqrt((pt[i][j] * np.cosh(eta[i][j])) ** 2 + mass[i][j] ** 2)
                    for j in combo)
            sum_pt = np.hypot(px, py)
            if sum_pt > best_pt:
                best_pt = sum_pt
                out[i] = np.sqrt(max(e ** 2 - px ** 2 - py ** 2 - pz ** 2, 0.0))
    return out


def features(ev: ak.Array) -> dict[str, np.ndarray]:
    n_b = ak.to_numpy(ak.sum(ev.jet_btag > 0.5, axis=1))
    return {
        "ht": ak.to_numpy(ak.sum(ev.jet_pt, axis=1)).astype(np.float32).astype(np.float64),
        "n_jet": ak.to_numpy(ak.num(ev.jet_pt, axis=1)).astype(np.float64),
        "jet1_pt": ak.to_numpy(ev.jet_pt[:, 0]).astype(np.float64),
        "m_bjj": m_bjj(ev).astype(np.float32).astype(np.float64),
        "met": ak.to_numpy(ev.met).astype(np.float64),
        "n_bjet": n_b,
    }


def weights(ev: ak.Array, norm: float, muon_sf_path: str, btag: str = "nominal",
            mu: str = "nominal") -> np.ndarray:
    """normalization * btag * muon weight of MC events."""
    sf = correctionlib.CorrectionSet.from_file(muon_sf_path)["muon_sf"]
    flat_eta = np.abs(ak.to_numpy(ak.flatten(ev.muon_eta))).astype(np.float64)
    flat_pt = ak.to_numpy(ak.flatten(ev.muon_pt)).astype(np.float64)
    per_muon = ak.unflatten(sf.evaluate(flat_eta, flat_pt, mu), ak.num(ev.muon_pt))
    muon_w = ak.to_numpy(ak.prod(per_muon, axis=1)).astype(np.float32)
    lead = ak.to_numpy(ev.jet_pt[:, 0]).astype(np.float32)
    btag_w = {"nominal": np.ones(len(ev), dtype=np.float32),
              "up": 1 + 0.075 * lead / 50, "down": 1 - 0.075 * lead / 50}[btag]
    gen = ak.to_numpy(ev.gen_weight).astype(np.float64)
    return gen * norm * btag_w.astype(np.float64) * muon_w.astype(np.float64)


def histogram(values: np.ndarray, weight: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Weighted counts with under- and overflow (first and last entries)."""
    full = np.concatenate([[-np.inf], edges, [np.inf]])
    # hist puts values equal to the upper edge into overflow, like np.digitize(right=False)
    idx = np.digitize(values, full[1:-1])
    return np.bincount(idx, weights=weight, minlength=len(full) - 1).astype(np.float64)


def normalization(files: list[str], lumi: float, xsec: float) -> float:
    total = 0.0
    for path in files:
        with uproot.open(path) as f:
            total += float(np.sum(f["Runs"]["genEventSumw"].array(library="np")))
    return lumi * xsec / total
