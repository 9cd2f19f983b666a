"""The single-pass reference of the benchmark: the ttbar-lite analysis (shared/bench/ANALYSIS.md)
as one coffea processor that reads the NanoAOD files once and fills every histogram (all
variables, categories, processes, nominal and every shift) with no intermediate files.

It does not use columnar. Usage::

    python bench/reference_processor.py CAMPAIGN_DIR --lumi 1064 --muon-sf muon_sf.json \\
        --workers 2 --output reference.pickle

``--workers 1`` runs ``coffea.processor.IterativeExecutor``, more workers
``FuturesExecutor(workers=N)`` with a fork-based ``concurrent.futures.ProcessPoolExecutor``.
The output pickle holds ``{"hists": {variable: hist.Hist}, "events": {dataset: n},
"timing": {...}}``; the histograms have the axes category, process, shift, variable like the
chain's (ids of categories and processes as in the demo config).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import glob
import json
import os
import pickle
import re
import time
import warnings

import awkward as ak
import hist
import numpy as np
import uproot
from coffea import processor
from coffea.nanoevents import NanoAODSchema
from coffea.nanoevents.methods import vector

# -- the analysis (ANALYSIS.md) -------------------------------------------------------------------

#: dataset -> process name, process id (as in the demo config), cross section in pb (None: data)
DATASETS = {
    "tt": ("tt", 10, 729.84),
    "dy": ("dy", 30, 6077.22),
    "wjets": ("wjets", 20, 61526.7),
    "data": ("data", 1, None),
}

#: category ids (as in the demo config): incl, 4j1b (one b jet), 4j2b (two or more)
CAT_INCL, CAT_4J1B, CAT_4J2B = 1, 2, 3

#: variable -> (bins, low, high)
VARIABLES = {
    "ht": (25, 50.0, 550.0),
    "m_bjj": (25, 50.0, 550.0),
    "jet1_pt": (40, 0.0, 400.0),
    "n_jet": (10, -0.5, 9.5),
    "met": (40, 0.0, 400.0),
}

SHIFTS = ["nominal", "jec_up", "jec_down", "btag_up", "btag_down", "mu_up", "mu_down"]
JEC_FACTORS = {"nominal": None, "jec_up": np.float32(1.03), "jec_down": np.float32(0.97)}
WEIGHT_VARIATIONS = {"nominal": ("nominal", "nominal"), "btag_up": ("up", "nominal"),
                     "btag_down": ("down", "nominal"), "mu_up": ("nominal", "up"),
                     "mu_down": ("nominal", "down")}
BTAG_WP = 0.5
MISSING = -99999.0

#: the only branches the processor reads (preloaded in one request per chunk)
BRANCHES = [
    "nJet", "Jet_pt", "Jet_eta", "Jet_phi", "Jet_mass", "Jet_jetId", "Jet_btagDeepFlavB",
    "nMuon", "Muon_pt", "Muon_eta", "Muon_tightId", "Muon_pfRelIso04_all", "Muon_sip3d",
    "nElectron", "Electron_pt", "Electron_eta", "Electron_cutBased", "Electron_sip3d",
    "MET_pt",
]
MC_BRANCHES = ["genWeight"]

_corrections: dict = {}


def muon_sf(path: str):
    """The correctionlib ``muon_sf`` correction, loaded once per process."""
    if path not in _corrections:
        import correctionlib

        _corrections[path] = correctionlib.CorrectionSet.from_file(path)["muon_sf"]
    return _corrections[path]


def new_hist(variable: str) -> hist.Hist:
    bins, low, high = VARIABLES[variable]
    return hist.Hist(
        hist.axis.IntCategory([], growth=True, name="category", label="Category"),
        hist.axis.IntCategory([], growth=True, name="process", label="Process"),
        hist.axis.StrCategory([], growth=True, name="shift", label="Shift"),
        hist.axis.Regular(bins, low, high, name=variable, underflow=True, overflow=True),
        storage=hist.storage.Weight(),
    )


class TTbarLiteProcessor(processor.ProcessorABC):
    """Selection, features, weights and histograms of all shifts in one pass over a chunk."""

    def __init__(self, lumi: float, muon_sf_path: str):
        self.lumi = float(lumi)
        self.muon_sf_path = muon_sf_path

    def process(self, events):
        dataset = events.metadata["dataset"]
        _, process_id, xsec = DATASETS[dataset]
        is_mc = xsec is not None
        out = {"hists": {v: new_hist(v) for v in VARIABLES}, "events": {dataset: len(events)}}

        # leptons (not affected by any shift): exactly one selected muon or electron
        mu, el = events.Muon, events.Electron
        mu_mask = ((mu.pt > 30) & (abs(mu.eta) < 2.1) & mu.tightId
                   & (mu.pfRelIso04_all < 0.15) & (mu.sip3d < 4))
        el_mask = ((el.pt > 30) & (abs(el.eta) < 2.1) & (el.cutBased == 4)
                   & (el.sip3d < 4))
        one_lep = np.asarray((ak.sum(mu_mask, axis=1) + ak.sum(el_mask, axis=1)) == 1)

        # everything below on one-lepton events only
        jet = events.Jet[one_lep]
        jet_eta, jet_phi = jet.eta, jet.phi
        jet_btag = jet.btagDeepFlavB
        jet_good_id = (jet.jetId & 2) != 0
        met = np.asarray(events.MET.pt[one_lep], dtype=np.float64)
        if is_mc:
            norm = self.lumi * xsec / events.metadata["sumw"]
            norm_weight = np.asarray(events.genWeight[one_lep], dtype=np.float64) * norm
            sel_mu = mu[mu_mask][one_lep]
            counts = ak.num(sel_mu.pt, axis=1)
            abseta = np.abs(ak.to_numpy(ak.flatten(sel_mu.eta))).astype(np.float64)
            pt = ak.to_numpy(ak.flatten(sel_mu.pt)).astype(np.float64)
            sf = muon_sf(self.muon_sf_path)
            muon_weight = {
                syst: ak.to_numpy(ak.prod(ak.unflatten(sf.evaluate(abseta, pt, syst), counts),
                                          axis=1)).astype(np.float32)
                for syst in ("nominal", "up", "down")
            }

        for jec_shift, factor in JEC_FACTORS.items():
            if not is_mc and jec_shift != "nominal":
                continue
            jet_pt = jet.pt if factor is None else jet.pt * factor
            jet_mass = jet.mass if factor is None else jet.mass * factor
            good = (jet_pt > 30) & (abs(jet_eta) < 2.4) & jet_good_id
            by_pt = ak.argsort(jet_pt, axis=1, ascending=False)
            idx = by_pt[good[by_pt]]
            n_bjet = ak.sum(jet_btag[idx] > BTAG_WP, axis=1)
            selected = np.asarray((ak.num(idx, axis=1) >= 4) & (n_bjet >= 1))
            idx = idx[selected]
            jets = ak.zip(
                {"pt": jet_pt[selected][idx], "eta": jet_eta[selected][idx],
                 "phi": jet_phi[selected][idx], "mass": jet_mass[selected][idx]},
                with_name="PtEtaPhiMLorentzVector", behavior=vector.behavior,
            )
            btag = jet_btag[selected][idx]
            n_bjet = ak.to_numpy(n_bjet[selected])

            # features
            ht = ak.to_numpy(ak.sum(jets.pt, axis=1)).astype(np.float32)
            jet1_pt = ak.to_numpy(jets.pt[:, 0])
            trijet = ak.combinations(jets, 3, fields=["j1", "j2", "j3"])
            tribtag = ak.combinations(btag, 3, fields=["b1", "b2", "b3"])
            has_b = np.maximum(np.maximum(tribtag.b1, tribtag.b2), tribtag.b3) > BTAG_WP
            p4 = (trijet.j1 + trijet.j2 + trijet.j3)[has_b]
            best = ak.argmax(p4.pt, axis=1, keepdims=True)
            m_bjj = ak.to_numpy(ak.fill_none(ak.firsts(p4.mass[best]), MISSING)).astype(
                np.float32)
            values = {
                "ht": ht, "m_bjj": m_bjj, "jet1_pt": jet1_pt,
                "n_jet": ak.to_numpy(ak.num(jets.pt, axis=1)), "met": met[selected],
            }
            values = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}
            category = np.where(n_bjet == 1, CAT_4J1B, CAT_4J2B)

            # weights of the shifts computed from this selection
            if is_mc:
                lead = jet1_pt.astype(np.float32)
                btag_weight = {"nominal": np.ones(len(lead), dtype=np.float32),
                               "up": 1 + 0.075 * lead / 50, "down": 1 - 0.075 * lead / 50}
                mu_w = {k: w[selected] for k, w in muon_weight.items()}
                base = norm_weight[selected]

                # shift -> (btag variation, muon variation); the weight-only shifts reuse the
                # nominal selection, a jec shift has only its nominal weight
                variations = WEIGHT_VARIATIONS if jec_shift == "nominal" else {
                    jec_shift: ("nominal", "nominal")}
                fills = {shift: (base * btag_weight[b].astype(np.float64)
                                 * mu_w[m].astype(np.float64))
                         for shift, (b, m) in variations.items()}
            else:
                # data: unweighted; every shift is the nominal histogram
                ones = np.ones(len(category), dtype=np.float64)
                fills = {shift: ones for shift in SHIFTS}

            for shift, w in fills.items():
                for variable, h in out["hists"].items():
                    x = values[variable]
                    h.fill(category=CAT_INCL, process=process_id, shift=shift,
                           **{variable: x}, weight=w)
                    h.fill(category=category, process=process_id, shift=shift,
                           **{variable: x}, weight=w)
        return out

    def postprocess(self, accumulator):
        return accumulator


# -- running ----------------------------------------------------------------------------------

def dataset_files(campaign_dir: str, dataset: str) -> list[str]:
    """The NanoAOD files of a dataset of the campaign, in file index order."""
    paths = glob.glob(os.path.join(campaign_dir, dataset, "nano_*.root"))
    return sorted(paths, key=lambda p: int(re.findall(r"\d+", os.path.basename(p))[0]))


def sum_gen_weights(paths: list[str]) -> float:
    """Sum of generator weights of all generated events (``Runs/genEventSumw``)."""
    total = 0.0
    for path in paths:
        with uproot.open(path) as f:
            total += float(np.sum(f["Runs"]["genEventSumw"].array(library="np")))
    return total


def build_fileset(campaign_dir: str, datasets=tuple(DATASETS)) -> dict:
    fileset = {}
    for dataset in datasets:
        files = dataset_files(campaign_dir, dataset)
        if not files:
            raise FileNotFoundError(f"no files of dataset '{dataset}' in {campaign_dir}")
        is_mc = DATASETS[dataset][2] is not None
        metadata = {"sumw": sum_gen_weights(files)} if is_mc else {}
        fileset[dataset] = {
            "files": {path: "Events" for path in files},
            "metadata": metadata,
            "preload": BRANCHES + (MC_BRANCHES if is_mc else []),
        }
    return fileset


def run(campaign_dir: str, lumi: float, muon_sf_path: str, workers: int = 1,
        chunksize: int = 100_000) -> dict:
    t0 = time.perf_counter()
    fileset = build_fileset(campaign_dir)
    t1 = time.perf_counter()
    if workers <= 1:
        executor = processor.IterativeExecutor(status=False)
    else:
        executor = processor.FuturesExecutor(
            workers=workers, status=False, pool=concurrent.futures.ProcessPoolExecutor)
    # chunks aligned to the baskets (clusters): no basket is read and decompressed twice
    runner = processor.Runner(executor=executor, schema=NanoAODSchema, chunksize=chunksize,
                              align_clusters=True)
    with warnings.catch_warnings():
        # the synthetic files lack NanoAOD's cross-reference branches (e.g. Jet_muonIdx1)
        warnings.filterwarnings("ignore", message="Missing cross-reference")
        out = runner(fileset, TTbarLiteProcessor(lumi, muon_sf_path), treename="Events")
    t2 = time.perf_counter()
    out["timing"] = {"sumw_prepass": t1 - t0, "runner": t2 - t1, "total": t2 - t0}
    return out


def _count_fetched_bytes() -> dict:
    """Count the bytes uproot fetches from local ROOT files in this process (fsspec)."""
    import fsspec.implementations.local as fsl

    totals = {"bytes": 0, "requests": 0}
    cat_file = fsl.LocalFileSystem.cat_file

    def counted(self, path, start=None, end=None, **kwargs):
        data = cat_file(self, path, start=start, end=end, **kwargs)
        if str(path).endswith(".root"):
            totals["bytes"] += len(data)
            totals["requests"] += 1
        return data

    fsl.LocalFileSystem.cat_file = counted
    return totals


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("campaign_dir")
    parser.add_argument("--lumi", type=float, required=True, help="luminosity in pb^-1")
    parser.add_argument("--muon-sf", required=True, help="correctionlib JSON with muon_sf")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--chunksize", type=int, default=100_000)
    parser.add_argument("--count-bytes", action="store_true",
                        help="count bytes read from the ROOT files (meaningful with 1 worker)")
    parser.add_argument("--output", help="pickle file for the histograms and timings")
    args = parser.parse_args(argv)
    counter = _count_fetched_bytes() if args.count_bytes else None
    out = run(args.campaign_dir, args.lumi, args.muon_sf, workers=args.workers,
              chunksize=args.chunksize)
    if counter is not None:
        out["bytes_read"] = counter
    if args.output:
        with open(args.output, "wb") as f:
            pickle.dump(out, f, protocol=pickle.HIGHEST_PROTOCOL)
    summary = {"events": out["events"], "timing": out["timing"],
               "bytes_read": out.get("bytes_read")}
    # one line, last: coffea's progress bars may precede it
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
