"""Deterministic generator of the synthetic NanoAOD campaign of the demo analysis.

The campaign is a *skimmed* NanoAOD with exact bookkeeping:

1. A stage-1 generator filter with an analytically known probability ``p1`` per process
   (decay channel e/mu only; for dy and wjets also at least four radiated partons, whose
   number is geometric with ratio ``r`` so that ``P(n >= 4) = r**4``). Events are drawn
   directly from the filtered (conditional) distribution.
2. A stage-2 skim applied by rejection on the reconstructed event: at least one muon or
   electron with pt > 25 GeV and at least three jets with pt > 25 GeV.

MC: stage-2 trials are generated per file until exactly the requested number of events
passed; ``T2`` is the number of trials used. The inclusive number of generated events is
``T2 + NegativeBinomial(T2, p1)`` and goes into ``Runs/genEventCount``; ``genEventSumw(2)``
sum the weights of *all* inclusive events (written, skimmed away, filtered away).

Data: per process ``T2 ~ Poisson(lumi * xsec * p1)`` trials, skimmed, mixed, split over
files, so that data agrees in expectation with MC normalised by
``genWeight * lumi * xsec / genEventSumw``.

Layout: ``OUTDIR/<dataset>/nano_<i>.root`` and ``OUTDIR/campaign.json``, the manifest,
written last and atomically. Same parameters give byte-identical files.

Usage: ``python -m columnar.demo.generate OUTDIR --events N [--datasets tt,dy,wjets,data]``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import hashlib
import inspect
import json
import math
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any
from unittest import mock

import awkward as ak
import numpy as np
import uproot

from columnar.demo import constants as C

try:
    import fcntl
except ImportError:  # not POSIX: no inter-process lock
    fcntl = None

__all__ = [
    "GENERATOR_VERSION",
    "MANIFEST_NAME",
    "BRANCH_TYPES",
    "PROCESS_MODELS",
    "ProcessModel",
    "stage1_probability",
    "generate_campaign",
    "generate_dataset",
    "ensure_campaign",
    "load_manifest",
    "main",
]

#: bump whenever the generated content changes, so that ensure_campaign regenerates
GENERATOR_VERSION = "1.0"

MANIFEST_NAME = "campaign.json"

#: ZSTD level 1: measured on 200k ttbar events, it writes about as fast as LZ4(1) and 4x
#: faster than ZLIB(1), reads as fast as LZ4 (3x faster than ZLIB), and makes files 30 %
#: smaller than LZ4 (which does not exploit the NanoAOD-like mantissa rounding); it needs
#: nothing beyond uproot's own dependencies (cramjam) and ROOT >= 6.20 reads it
COMPRESSION = uproot.ZSTD(1)

#: events per TBasket (one tree.extend call per chunk)
BASKET_EVENTS = 100_000

#: stage-2 trials per independently seeded chunk of the data generation
DATA_CHUNK_TRIALS = 250_000

#: timestamp written into every ROOT file (file, directory and object headers)
ROOT_TIMESTAMP = datetime.datetime(2016, 7, 1, 0, 0, 0)

#: NanoAOD v12 branch types of the Events tree; counters are int32 like in v12
BRANCH_TYPES: dict[str, str] = {
    "run": "uint32",
    "luminosityBlock": "uint32",
    "event": "uint64",
    "genWeight": "float32",
    "nJet": "int32",
    "Jet_pt": "float32",
    "Jet_eta": "float32",
    "Jet_phi": "float32",
    "Jet_mass": "float32",
    "Jet_btagDeepFlavB": "float32",
    "Jet_jetId": "uint8",
    "Jet_hadronFlavour": "uint8",
    "nMuon": "int32",
    "Muon_pt": "float32",
    "Muon_eta": "float32",
    "Muon_phi": "float32",
    "Muon_mass": "float32",
    "Muon_charge": "int32",
    "Muon_tightId": "bool",
    "Muon_pfRelIso04_all": "float32",
    "Muon_sip3d": "float32",
    "nElectron": "int32",
    "Electron_pt": "float32",
    "Electron_eta": "float32",
    "Electron_phi": "float32",
    "Electron_mass": "float32",
    "Electron_charge": "int32",
    "Electron_cutBased": "uint8",
    "Electron_sip3d": "float32",
    "MET_pt": "float32",
    "MET_phi": "float32",
    "PV_npvs": "uint8",
    "Pileup_nTrueInt": "float32",
    "HLT_IsoMu24": "bool",
    "HLT_Ele32_WPTight_Gsf": "bool",
}

#: branches that only exist in simulation
MC_ONLY_BRANCHES = ("genWeight", "Jet_hadronFlavour", "Pileup_nTrueInt")

RUNS_TYPES_MC = {"run": "uint32", "genEventCount": "int64", "genEventSumw": "float64",
                 "genEventSumw2": "float64"}
RUNS_TYPES_DATA = {"run": "uint32"}

# skim (stage 2) thresholds
SKIM_LEPTON_PT = 25.0
SKIM_JET_PT = 25.0
SKIM_N_JETS = 3


# --------------------------------------------------------------------------------------
# process models
# --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ProcessModel:
    """Tunable description of one simulated process."""

    name: str
    #: probability of the decay channel kept by the stage-1 filter
    decay_fraction: float
    #: ratio of the geometric number of radiated partons and the required minimum
    rad_ratio: float
    rad_min: int
    #: truncated power-law pt spectrum of radiated partons, dN/dpt ~ pt**-index
    rad_pt_min: float
    rad_pt_index: float
    rad_eta_sigma: float
    #: per-parton heavy-flavour probabilities of radiated partons (g -> bb/cc)
    rad_frac_b: float = 0.0
    rad_frac_c: float = 0.0
    #: event-level heavy-flavour fractions (applied to the first radiated partons)
    frac_bb: float = 0.0
    frac_c: float = 0.0
    frac_cc: float = 0.0
    #: rapidity spread of the hard system (ttbar, Z, W)
    y_sigma: float = 1.0
    #: constant magnitude and negative fraction of the generator weight
    weight: float = 1.0
    neg_fraction: float = 0.0

    @property
    def p1(self) -> float:
        """Probability of the stage-1 generator filter."""
        return self.decay_fraction * self.rad_ratio ** self.rad_min


PROCESS_MODELS: dict[str, ProcessModel] = {
    # semileptonic e/mu: 2 (which W) * BR(W -> e/mu nu) * BR(W -> qq'); extra radiation
    # with a geometric multiplicity (mean 0.8 partons above 20 GeV), no parton filter
    "tt": ProcessModel(
        name="tt",
        decay_fraction=2 * (2 * C.BR_W_LNU) * C.BR_W_HAD,
        rad_ratio=0.45, rad_min=0, rad_pt_min=20.0, rad_pt_index=3.2, rad_eta_sigma=2.0,
        rad_frac_b=0.01, rad_frac_c=0.03,
        y_sigma=1.1, weight=0.985, neg_fraction=0.005,
    ),
    # Z/gamma* -> ee/mumu + >= 4 partons (pt > 30); r = 0.2 is Berends-Giele-like scaling
    "dy": ProcessModel(
        name="dy",
        decay_fraction=C.FRAC_EMU_OF_LEPTONIC,
        rad_ratio=0.2, rad_min=4, rad_pt_min=30.0, rad_pt_index=3.4, rad_eta_sigma=1.3,
        frac_bb=0.02, frac_cc=0.05,
        y_sigma=1.3, weight=21475.0, neg_fraction=0.10,
    ),
    # W -> e nu/mu nu + >= 4 partons (pt > 34): heavy flavour and hardness enhanced on
    # purpose so that W+jets is a sizeable background in the ==1 b-tag region
    "wjets": ProcessModel(
        name="wjets",
        decay_fraction=C.FRAC_EMU_OF_LEPTONIC,
        rad_ratio=0.23, rad_min=4, rad_pt_min=34.0, rad_pt_index=3.4, rad_eta_sigma=1.15,
        frac_bb=0.12, frac_c=0.55, frac_cc=0.05,
        y_sigma=1.3, weight=1.0, neg_fraction=0.0,
    ),
}


def stage1_probability(process: str) -> float:
    """Probability ``p1`` of the stage-1 generator filter of an MC process."""
    return PROCESS_MODELS[process].p1


# --------------------------------------------------------------------------------------
# random numbers and determinism helpers
# --------------------------------------------------------------------------------------

def _key(name: str) -> int:
    """Stable 32-bit integer for a name, used in SeedSequence spawn keys."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def _rng(seed: int, *keys: str | int) -> np.random.Generator:
    """Generator keyed by the campaign seed and a path of names/indices."""
    spawn_key = tuple(_key(k) if isinstance(k, str) else int(k) for k in keys)
    return np.random.default_rng(np.random.SeedSequence(entropy=int(seed), spawn_key=spawn_key))


def _uuid_function(key: str) -> Callable[[], uuid.UUID]:
    """Deterministic replacement of uuid.uuid1 for uproot, one sequence per file."""
    counter = iter(range(1 << 30))

    def make() -> uuid.UUID:
        digest = hashlib.sha256(f"{key}/{next(counter)}".encode()).digest()
        return uuid.UUID(bytes=digest[:16], version=4)

    return make


@contextlib.contextmanager
def _frozen_root_clock() -> Iterator[None]:
    """Make uproot write ROOT_TIMESTAMP instead of the current time.

    Every date that uproot writes (TFile, TDirectory, TKey headers) goes through
    ``uproot._util.datetime_to_code``; patching it is the single point that freezes them.
    The patch is process-wide while active: concurrent writers in other threads of the
    same process would also get the fixed timestamp.
    """
    code = uproot._util.datetime_to_code(ROOT_TIMESTAMP)
    with mock.patch.object(uproot._util, "datetime_to_code", lambda dt: code):
        yield


# --------------------------------------------------------------------------------------
# kinematics (4-vectors as float64 arrays of shape (4, n): E, px, py, pz)
# --------------------------------------------------------------------------------------

def _breit_wigner(rng: np.random.Generator, n: int, mass: float, width: float,
                  lo: float, hi: float) -> np.ndarray:
    """Breit-Wigner (Cauchy) masses truncated to [lo, hi], by inverse transform."""
    a = np.arctan(2 * (lo - mass) / width)
    b = np.arctan(2 * (hi - mass) / width)
    return mass + 0.5 * width * np.tan(rng.uniform(a, b, n))


def _from_pt_y_m(px: np.ndarray, py: np.ndarray, y: np.ndarray, m: np.ndarray) -> np.ndarray:
    """4-vectors from transverse momentum components, rapidity and mass."""
    mt = np.sqrt(m**2 + px**2 + py**2)
    return np.stack([mt * np.cosh(y), px, py, mt * np.sinh(y)])


def _boost(p: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Boost 4-vectors ``p`` from the rest frame of ``parent`` (given in the lab) to the lab."""
    beta = parent[1:] / parent[0]
    b2 = np.sum(beta**2, axis=0)
    gamma = parent[0] / np.sqrt(np.maximum(parent[0] ** 2 - np.sum(parent[1:] ** 2, axis=0), 1e-12))
    bp = np.sum(beta * p[1:], axis=0)
    coef = np.where(b2 > 0, (gamma - 1) / np.where(b2 > 0, b2, 1.0), 0.0) * bp + gamma * p[0]
    return np.concatenate([(gamma * (p[0] + bp))[None], p[1:] + coef * beta])


def _decay(rng: np.random.Generator, parent: np.ndarray, mass: np.ndarray,
           m1: np.ndarray | float, m2: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic two-body decay in the parent rest frame, daughters returned in the lab."""
    n = parent.shape[1]
    kallen = (mass**2 - (m1 + m2) ** 2) * (mass**2 - (m1 - m2) ** 2)
    pstar = np.sqrt(np.maximum(kallen, 0)) / (2 * mass)
    cos_t = rng.uniform(-1, 1, n)
    sin_t = np.sqrt(1 - cos_t**2)
    phi = rng.uniform(-np.pi, np.pi, n)
    u = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t]) * pstar
    d1 = np.concatenate([np.sqrt(pstar**2 + np.square(m1))[None], u])
    d2 = np.concatenate([np.sqrt(pstar**2 + np.square(m2))[None], -u])
    return _boost(d1, parent), _boost(d2, parent)


def _pt_eta_phi(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pt = np.hypot(p[1], p[2])
    return pt, np.arcsinh(p[3] / np.maximum(pt, 1e-9)), np.arctan2(p[2], p[1])


def _wrap(phi: np.ndarray) -> np.ndarray:
    return (phi + np.pi) % (2 * np.pi) - np.pi


# --------------------------------------------------------------------------------------
# parton level
# --------------------------------------------------------------------------------------

@dataclasses.dataclass
class _Truth:
    """Parton-level content of a batch of events (flat arrays with event indices)."""

    n: int
    parton_evt: np.ndarray
    parton_pt: np.ndarray
    parton_eta: np.ndarray
    parton_phi: np.ndarray
    parton_flav: np.ndarray
    lep_evt: np.ndarray
    lep_pt: np.ndarray
    lep_eta: np.ndarray
    lep_phi: np.ndarray
    lep_is_mu: np.ndarray
    lep_charge: np.ndarray
    nu_px: np.ndarray
    nu_py: np.ndarray


def _radiation(rng: np.random.Generator, model: ProcessModel, n: int) -> dict[str, np.ndarray]:
    """Radiated partons: geometric multiplicity (conditional on >= rad_min), power-law pt."""
    counts = rng.geometric(1.0 - model.rad_ratio, n) - 1 + model.rad_min
    total = int(counts.sum())
    evt = np.repeat(np.arange(n), counts)
    # truncated power law between pt_min and 2 TeV by inverse transform
    k = model.rad_pt_index - 1.0
    umin = (2000.0 / model.rad_pt_min) ** -k
    pt = model.rad_pt_min * rng.uniform(umin, 1.0, total) ** (-1.0 / k)
    eta = rng.normal(0.0, model.rad_eta_sigma, total)
    phi = rng.uniform(-np.pi, np.pi, total)
    u = rng.random(total)
    flav = np.where(u < model.rad_frac_b, 5,
                    np.where(u < model.rad_frac_b + model.rad_frac_c, 4, 0)).astype(np.uint8)
    if model.frac_bb or model.frac_c or model.frac_cc:
        first = np.cumsum(counts) - counts
        cat = rng.random(n)
        edges = np.cumsum([model.frac_bb, model.frac_c, model.frac_cc])
        bb = cat < edges[0]
        c = (cat >= edges[0]) & (cat < edges[1])
        cc = (cat >= edges[1]) & (cat < edges[2])
        two = counts >= 2
        flav[first[bb | c | cc]] = np.where(bb, 5, 4)[bb | c | cc]
        flav[first[(bb | cc) & two] + 1] = np.where(bb, 5, 4)[(bb | cc) & two]
    return {"evt": evt, "pt": pt, "eta": eta, "phi": phi, "flav": flav}


def _recoil(rng: np.random.Generator, rad: dict[str, np.ndarray], n: int,
            kt: float) -> tuple[np.ndarray, np.ndarray]:
    """Transverse momentum of the hard system balancing the radiation, plus intrinsic kT."""
    px = -np.bincount(rad["evt"], rad["pt"] * np.cos(rad["phi"]), minlength=n)
    py = -np.bincount(rad["evt"], rad["pt"] * np.sin(rad["phi"]), minlength=n)
    return px + rng.normal(0, kt, n), py + rng.normal(0, kt, n)


def _gen_tt(rng: np.random.Generator, model: ProcessModel, n: int) -> _Truth:
    """Semileptonic ttbar (e/mu): t -> bW, one W -> l nu, the other W -> qq'."""
    rad = _radiation(rng, model, n)
    px, py = _recoil(rng, rad, n, 8.0)
    m_t1 = _breit_wigner(rng, n, C.M_TOP, C.GAMMA_TOP, 150.0, 195.0)
    m_t2 = _breit_wigner(rng, n, C.M_TOP, C.GAMMA_TOP, 150.0, 195.0)
    m_tt = m_t1 + m_t2 + rng.gamma(1.4, 110.0, n)
    system = _from_pt_y_m(px, py, rng.normal(0, model.y_sigma, n), m_tt)
    top, antitop = _decay(rng, system, m_tt, m_t1, m_t2)
    m_w1 = _breit_wigner(rng, n, C.M_W, C.GAMMA_W, 60.0, 100.0)
    m_w2 = _breit_wigner(rng, n, C.M_W, C.GAMMA_W, 60.0, 100.0)
    w1, b1 = _decay(rng, top, m_t1, m_w1, C.M_B)
    w2, b2 = _decay(rng, antitop, m_t2, m_w2, C.M_B)
    # first daughter: charged lepton or up-type quark, second: neutrino or down-type quark
    f1a, f1b = _decay(rng, w1, m_w1, 0.0, 0.0)
    f2a, f2b = _decay(rng, w2, m_w2, 0.0, 0.0)
    lep_from_top = rng.random(n) < 0.5
    lep = np.where(lep_from_top, f1a, f2a)
    nu = np.where(lep_from_top, f1b, f2b)
    q_up = np.where(lep_from_top, f2a, f1a)
    q_down = np.where(lep_from_top, f2b, f1b)
    # W -> cs in half of the hadronic decays (ud otherwise)
    up_flav = np.where(rng.random(n) < 0.5, 4, 0).astype(np.uint8)

    hard = [(b1, np.full(n, 5, np.uint8)), (b2, np.full(n, 5, np.uint8)),
            (q_up, up_flav), (q_down, np.zeros(n, np.uint8))]
    kin = [_pt_eta_phi(p) for p, _ in hard]
    evt = np.concatenate([np.arange(n)] * len(hard) + [rad["evt"]])
    lpt, leta, lphi = _pt_eta_phi(lep)
    return _Truth(
        n=n,
        parton_evt=evt,
        parton_pt=np.concatenate([k[0] for k in kin] + [rad["pt"]]),
        parton_eta=np.concatenate([k[1] for k in kin] + [rad["eta"]]),
        parton_phi=np.concatenate([k[2] for k in kin] + [rad["phi"]]),
        parton_flav=np.concatenate([f for _, f in hard] + [rad["flav"]]),
        lep_evt=np.arange(n), lep_pt=lpt, lep_eta=leta, lep_phi=lphi,
        lep_is_mu=rng.random(n) < 0.5,
        lep_charge=np.where(lep_from_top, 1, -1).astype(np.int32),
        nu_px=nu[1], nu_py=nu[2],
    )


def _gen_vjets(rng: np.random.Generator, model: ProcessModel, n: int, charged: bool) -> _Truth:
    """W -> l nu (charged) or Z/gamma* -> ll (neutral) recoiling against >= 4 partons."""
    rad = _radiation(rng, model, n)
    px, py = _recoil(rng, rad, n, 6.0)
    if charged:
        m = _breit_wigner(rng, n, C.M_W, C.GAMMA_W, 50.0, 130.0)
    else:
        m = _breit_wigner(rng, n, C.M_Z, C.GAMMA_Z, 60.0, 130.0)
    boson = _from_pt_y_m(px, py, rng.normal(0, model.y_sigma, n), m)
    l1, l2 = _decay(rng, boson, m, 0.0, 0.0)
    is_mu = rng.random(n) < 0.5
    if charged:
        # W+ : W- about 58 : 42 at the LHC
        charge = np.where(rng.random(n) < 0.58, 1, -1).astype(np.int32)
        pt, eta, phi = _pt_eta_phi(l1)
        lep = dict(evt=np.arange(n), pt=pt, eta=eta, phi=phi, is_mu=is_mu, charge=charge)
        nu_px, nu_py = l2[1], l2[2]
    else:
        k1, k2 = _pt_eta_phi(l1), _pt_eta_phi(l2)
        # interleave so that each event's two leptons are adjacent
        lep = dict(
            evt=np.repeat(np.arange(n), 2),
            pt=np.stack([k1[0], k2[0]], 1).ravel(),
            eta=np.stack([k1[1], k2[1]], 1).ravel(),
            phi=np.stack([k1[2], k2[2]], 1).ravel(),
            is_mu=np.repeat(is_mu, 2),
            charge=np.tile(np.array([-1, 1], np.int32), n),
        )
        nu_px = nu_py = np.zeros(n)
    return _Truth(
        n=n, parton_evt=rad["evt"], parton_pt=rad["pt"], parton_eta=rad["eta"],
        parton_phi=rad["phi"], parton_flav=rad["flav"],
        lep_evt=lep["evt"], lep_pt=lep["pt"], lep_eta=lep["eta"], lep_phi=lep["phi"],
        lep_is_mu=lep["is_mu"], lep_charge=lep["charge"], nu_px=nu_px, nu_py=nu_py,
    )


def _generate_truth(rng: np.random.Generator, process: str, n: int) -> _Truth:
    model = PROCESS_MODELS[process]
    if process == "tt":
        return _gen_tt(rng, model, n)
    return _gen_vjets(rng, model, n, charged=(process == "wjets"))


# --------------------------------------------------------------------------------------
# reconstruction
# --------------------------------------------------------------------------------------

@dataclasses.dataclass
class _Batch:
    """Reconstructed events: scalar columns and jagged collections as counts + flat fields."""

    scalars: dict[str, np.ndarray]
    collections: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]

    def __len__(self) -> int:
        return len(next(iter(self.scalars.values())))

    def take(self, index: np.ndarray) -> _Batch:
        """Events at the given indices (boolean mask or integer index)."""
        index = np.flatnonzero(index) if index.dtype == bool else np.asarray(index, np.int64)
        colls = {}
        for name, (counts, fields) in self.collections.items():
            starts = np.cumsum(counts) - counts
            new_counts = counts[index]
            new_starts = np.cumsum(new_counts) - new_counts
            flat = np.repeat(starts[index] - new_starts, new_counts) + np.arange(new_counts.sum())
            colls[name] = (new_counts, {k: v[flat] for k, v in fields.items()})
        return _Batch({k: v[index] for k, v in self.scalars.items()}, colls)

    def slice(self, start: int, stop: int) -> _Batch:
        """Events in [start, stop) without copying more than needed."""
        colls = {}
        for name, (counts, fields) in self.collections.items():
            lo, hi = int(counts[:start].sum()), int(counts[:stop].sum())
            colls[name] = (counts[start:stop], {k: v[lo:hi] for k, v in fields.items()})
        return _Batch({k: v[start:stop] for k, v in self.scalars.items()}, colls)

    @staticmethod
    def concat(batches: Sequence[_Batch]) -> _Batch:
        first = batches[0]
        return _Batch(
            {k: np.concatenate([b.scalars[k] for b in batches]) for k in first.scalars},
            {
                name: (
                    np.concatenate([b.collections[name][0] for b in batches]),
                    {f: np.concatenate([b.collections[name][1][f] for b in batches])
                     for f in fields},
                )
                for name, (_, fields) in first.collections.items()
            },
        )


def _sorted_collection(evt: np.ndarray, pt: np.ndarray, n: int,
                       fields: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Group objects by event and sort them by pt (descending) within each event."""
    # one int64 key: event index in the high word, bit pattern of the positive float32 pt
    # (monotonic in pt) inverted in the low word; much faster than lexsort
    low = np.uint32(0xFFFFFFFF) - pt.astype(np.float32).view(np.uint32)
    order = np.argsort((evt.astype(np.int64) << 32) | low.astype(np.int64))
    return np.bincount(evt, minlength=n), {k: v[order] for k, v in fields.items()}


def _f32(x: np.ndarray, bits: int | None = None) -> np.ndarray:
    """float32 column, optionally with the mantissa rounded to ``bits`` bits like NanoAOD's
    ``precision`` setting (which also makes these columns compress better)."""
    x = np.asarray(x, np.float32)
    if bits is None:
        return x
    u = x.view(np.uint32)
    drop = 23 - bits
    u = (u + np.uint32(1 << (drop - 1))) & np.uint32(~((1 << drop) - 1) & 0xFFFFFFFF)
    return u.view(np.float32)


def _any_per_event(evt: np.ndarray, flag: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(evt[flag], minlength=n) > 0


def _btag_score(rng: np.random.Generator, flav: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """DeepJet-like b-tag score: logit-normal per flavour, with P(score > 0.5) = 0.75/0.15/0.015.

    The median of the logit is mu, so the efficiency at 0.5 is Phi(mu / sigma) exactly.
    Outside the tracker (|eta| > 2.5) every jet looks like a light jet.
    """
    light = (flav == 0) | (np.abs(eta) > 2.5)
    # Phi^-1(0.75) = 0.6745, Phi^-1(0.15) = -1.0364, Phi^-1(0.015) = -2.1701
    mu = np.where(light, -2.1701 * 2.0, np.where(flav == 5, 0.6745 * 3.0, -1.0364 * 2.5))
    sigma = np.where(light, 2.0, np.where(flav == 5, 3.0, 2.5))
    z = mu + sigma * rng.standard_normal(len(flav))
    return _f32(1.0 / (1.0 + np.exp(-z)), 10)


def _reconstruct(rng: np.random.Generator, truth: _Truth) -> tuple[_Batch, np.ndarray]:
    """Detector simulation; returns the reconstructed batch and the stage-2 skim mask."""
    n = truth.n

    # pileup
    n_true = rng.gamma(8.0, 2.5, n)
    npvs = np.clip(rng.poisson(0.95 * n_true) + 1, 0, 255)

    # jets from partons: resolution core, low tail (FSR out of cone, neutrinos in HF decays)
    ppt, pflav = truth.parton_pt, truth.parton_flav
    m = len(ppt)
    sigma = np.sqrt((2.5 / ppt) ** 2 + 0.8**2 / ppt + 0.045**2)
    resp = 1.0 + sigma * rng.standard_normal(m)
    tail = rng.random(m) < np.where(pflav >= 4, 0.18, 0.08)
    resp = np.where(tail, resp * rng.uniform(0.7, 0.97, m), resp)
    jpt = ppt * np.maximum(resp, 0.05)
    jeta = truth.parton_eta + rng.normal(0, 0.01, m)
    jphi = _wrap(truth.parton_phi + rng.normal(0, 0.01, m))
    mis_px = np.bincount(truth.parton_evt, (ppt - jpt) * np.cos(truth.parton_phi), minlength=n)
    mis_py = np.bincount(truth.parton_evt, (ppt - jpt) * np.sin(truth.parton_phi), minlength=n)

    # pileup jets
    n_pu = rng.poisson(0.03 * npvs)
    pu_evt = np.repeat(np.arange(n), n_pu)
    k = len(pu_evt)
    pu_pt = 15.0 + rng.exponential(6.0, k)
    pu_eta = rng.uniform(-4.7, 4.7, k)
    pu_phi = rng.uniform(-np.pi, np.pi, k)

    evt = np.concatenate([truth.parton_evt, pu_evt])
    pt = np.concatenate([jpt, pu_pt])
    eta = np.concatenate([jeta, pu_eta])
    phi = np.concatenate([jphi, pu_phi])
    flav = np.concatenate([pflav, np.zeros(k, np.uint8)])
    is_pu = np.concatenate([np.zeros(m, bool), np.ones(k, bool)])
    # stored precision first, so that cuts hold exactly on the stored values
    pt, eta, phi = _f32(pt), _f32(eta, 12), _f32(phi, 12)
    keep = (pt > 15.0) & (np.abs(eta) < 4.7)
    evt, pt, eta, phi, flav, is_pu = (a[keep] for a in (evt, pt, eta, phi, flav, is_pu))
    nj = len(pt)
    mass_over_pt = np.where(is_pu, 0.08, np.where(flav == 5, 0.115, 0.10))
    mass = pt * mass_over_pt * np.exp(rng.normal(0, 0.3, nj))
    u = rng.random(nj)
    jet_id = np.where(
        is_pu,
        np.where(u < 0.80, 6, np.where(u < 0.85, 2, 0)),
        np.where(u < 0.965, 6, np.where(u < 0.985, 2, 0)),
    ).astype(np.uint8)
    jets = _sorted_collection(evt, pt, n, {
        "pt": pt, "eta": eta, "phi": phi, "mass": _f32(mass, 10),
        "btagDeepFlavB": _btag_score(rng, flav, eta), "jetId": jet_id, "hadronFlavour": flav,
    })

    # lepton candidates: prompt (kind 0), from b/c decays inside jets (1), light fakes (2)
    hf = np.flatnonzero(pflav >= 4)
    u = rng.random(len(hf))
    p_lep = np.where(pflav[hf] == 5, 0.11, 0.08)
    hf_is_lep = u < 2 * p_lep
    hf = hf[hf_is_lep]
    hf_is_mu = u[hf_is_lep] < p_lep[hf_is_lep]
    z = rng.beta(1.6, 6.0, len(hf))
    n_fake = rng.poisson(0.1, n)
    fake_evt = np.repeat(np.arange(n), n_fake)
    nf = len(fake_evt)
    fake_is_mu = rng.random(nf) < 0.5

    c_evt = np.concatenate([truth.lep_evt, truth.parton_evt[hf], fake_evt])
    c_pt = np.concatenate([truth.lep_pt, z * ppt[hf],
                           np.where(fake_is_mu, 3.0, 5.0) + rng.exponential(4.0, nf)])
    nh = len(hf)
    c_eta = np.concatenate([truth.lep_eta, truth.parton_eta[hf] + rng.normal(0, 0.08, nh),
                            rng.uniform(-2.5, 2.5, nf)])
    c_phi = np.concatenate([truth.lep_phi, _wrap(truth.parton_phi[hf] + rng.normal(0, 0.08, nh)),
                            rng.uniform(-np.pi, np.pi, nf)])
    c_is_mu = np.concatenate([truth.lep_is_mu, hf_is_mu, fake_is_mu])
    c_charge = np.concatenate([truth.lep_charge,
                               rng.choice(np.array([-1, 1], np.int32), len(hf) + nf)])
    c_kind = np.concatenate([np.zeros(len(truth.lep_evt), np.int8), np.ones(len(hf), np.int8),
                             np.full(nf, 2, np.int8)])
    # isolation proxy: prompt leptons isolated, leptons in jets carry the rest of the jet
    nc = len(c_evt)
    prompt = c_kind == 0
    iso_np = np.concatenate([np.zeros(len(truth.lep_evt)), (1 - z) / z * rng.uniform(0.3, 1.0, nh),
                             0.1 + rng.exponential(0.6, nf)])
    iso = np.where(prompt, rng.exponential(np.where(rng.random(nc) < 0.94, 0.03, 0.25)),
                   iso_np + rng.exponential(0.02, nc))
    sip_tail = np.where(rng.random(nc) < 0.03, rng.exponential(5.0, nc), 0.0)
    sip3d = np.where(prompt, np.abs(rng.normal(0, 1.2, nc)) + sip_tail,
                     np.abs(rng.normal(0, 2.0, nc)) + rng.exponential(4.0, nc))
    res = np.where(c_is_mu, 0.015 + 0.01 * np.abs(c_eta) / 2.4, 0.025)
    r_pt = _f32(c_pt * (1 + res * rng.standard_normal(nc)))
    c_eta, c_phi = _f32(c_eta, 12), _f32(c_phi, 12)
    eff = rng.random(nc) < np.where(prompt, np.where(c_is_mu, 0.985, 0.93), 0.9)
    in_mu = c_is_mu & (np.abs(c_eta) < 2.4) & (r_pt > 3.0) & eff
    in_el = ~c_is_mu & (np.abs(c_eta) < 2.5) & (r_pt > 5.0) & eff

    s = in_mu
    mu_tight = rng.random(nc) < np.where(prompt, 0.97, 0.7)
    muons = _sorted_collection(c_evt[s], r_pt[s], n, {
        "pt": r_pt[s], "eta": c_eta[s], "phi": c_phi[s],
        "mass": np.full(s.sum(), C.M_MUON, np.float32),
        "charge": c_charge[s], "tightId": mu_tight[s],
        "pfRelIso04_all": _f32(iso[s], 6), "sip3d": _f32(sip3d[s], 10),
    })
    s = in_el
    u = rng.random(nc)
    cut_based = np.where(
        prompt,
        np.searchsorted(np.cumsum([0.03, 0.04, 0.05, 0.08]), u, side="right"),
        np.searchsorted(np.cumsum([0.45, 0.25, 0.12, 0.08]), u, side="right"),
    ).astype(np.uint8)
    electrons = _sorted_collection(c_evt[s], r_pt[s], n, {
        "pt": r_pt[s], "eta": c_eta[s], "phi": c_phi[s],
        "mass": np.full(s.sum(), C.M_ELECTRON, np.float32),
        "charge": c_charge[s], "cutBased": cut_based[s], "sip3d": _f32(sip3d[s], 10),
    })

    # triggers: isolated muon / tight electron with turn-on curves, plus a small random rate
    p_mu = np.where(iso < 0.25, 0.94 / (1 + np.exp(-(r_pt - 25.5) / 0.8)), 0.0)
    p_el = np.where(cut_based >= 2, 0.90 / (1 + np.exp(-(r_pt - 34.0) / 1.5)), 0.0)
    u = rng.random(nc)
    hlt_mu = _any_per_event(c_evt, in_mu & (u < p_mu), n) | (rng.random(n) < 0.002)
    hlt_el = _any_per_event(c_evt, in_el & (u < p_el), n) | (rng.random(n) < 0.002)

    # MET: neutrinos + jet mismeasurement + soft/pileup resolution term
    soft = 5.0 + 0.4 * npvs
    met_x = truth.nu_px + mis_px + soft * rng.standard_normal(n)
    met_y = truth.nu_py + mis_py + soft * rng.standard_normal(n)

    scalars = {
        "MET_pt": _f32(np.hypot(met_x, met_y)),
        "MET_phi": _f32(np.arctan2(met_y, met_x), 12),
        "PV_npvs": npvs.astype(np.uint8),
        "Pileup_nTrueInt": _f32(n_true),
        "HLT_IsoMu24": hlt_mu,
        "HLT_Ele32_WPTight_Gsf": hlt_el,
    }
    batch = _Batch(scalars, {"Jet": jets, "Muon": muons, "Electron": electrons})

    # stage-2 skim
    n_lep = np.bincount(c_evt[(in_mu | in_el) & (r_pt > SKIM_LEPTON_PT)], minlength=n)
    n_jet = np.bincount(evt[pt > SKIM_JET_PT], minlength=n)
    skim = (n_lep >= 1) & (n_jet >= SKIM_N_JETS)
    return batch, skim


def _trials(rng: np.random.Generator, process: str, n: int) -> tuple[_Batch, np.ndarray]:
    """n stage-2 trials of a process: all reconstructed events and the skim mask."""
    return _reconstruct(rng, _generate_truth(rng, process, n))


# --------------------------------------------------------------------------------------
# per-file generation
# --------------------------------------------------------------------------------------

def _weights(rng: np.random.Generator, model: ProcessModel, n: int) -> np.ndarray:
    sign = np.where(rng.random(n) < model.neg_fraction, -1.0, 1.0)
    return (model.weight * sign).astype(np.float32)


def _generate_mc_file(process: str, n_events: int, seed: int,
                      file_index: int) -> tuple[_Batch, dict]:
    """Events of one MC file: stage-2 trials in batches until exactly n_events pass."""
    model = PROCESS_MODELS[process]
    rng = _rng(seed, process, file_index)
    parts: list[_Batch] = []
    passed = trials = 0
    sumw = sumw2 = 0.0
    eff = None
    while passed < n_events:
        need = n_events - passed
        if eff is None:
            # pilot batch to measure the skim efficiency
            size = min(2 * need + 100, 20_000)
        else:
            size = int(min(max(1.05 * need / eff + 100, 1000), 500_000))
        batch, skim = _trials(rng, process, size)
        w = _weights(rng, model, size)
        eff = max(skim.mean(), 0.01)
        idx = np.flatnonzero(skim)
        if len(idx) > need:
            # stop right at the n_events-th passing trial; later trials never happened
            size = int(idx[need - 1]) + 1
            idx = idx[:need]
        w64 = w[:size].astype(np.float64)
        sumw += float(w64.sum())
        sumw2 += float(np.square(w64).sum())
        batch.scalars["genWeight"] = w
        # trial number within the file: gives luminosityBlock/event numbers with skim gaps
        batch.scalars["_trial"] = trials + np.arange(len(w), dtype=np.int64)
        parts.append(batch.take(idx))
        trials += size
        passed += len(idx)
    events = _Batch.concat(parts)

    # events removed by the stage-1 filter: NegativeBinomial number of failures before the
    # T2-th success; their weights are iid, so the sum follows from the negative count
    failed = int(rng.negative_binomial(trials, model.p1)) if trials else 0
    n_neg = int(rng.binomial(failed, model.neg_fraction)) if failed else 0
    w_abs = float(np.float32(model.weight))
    sumw += w_abs * (failed - 2 * n_neg)
    sumw2 += w_abs**2 * failed

    trial = events.scalars.pop("_trial")
    events.scalars["run"] = np.ones(len(trial), np.uint32)
    events.scalars["luminosityBlock"] = (file_index * 100_000 + 1 + trial // 2000).astype(np.uint32)
    events.scalars["event"] = (file_index * 10**10 + 1 + trial).astype(np.uint64)
    bookkeeping = {
        "stage2_trials": trials,
        "gen_event_count": trials + failed,
        "gen_event_sumw": sumw,
        "gen_event_sumw2": sumw2,
    }
    return events, bookkeeping


def _generate_data_chunk(process: str, n_trials: int, seed: int, chunk: int) -> _Batch:
    """Skimmed events of one independently seeded chunk of data trials of a process."""
    rng = _rng(seed, C.DATA_DATASET, process, chunk)
    batch, skim = _trials(rng, process, n_trials)
    return batch.take(skim)


def _assign_data_ids(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Runs (2016B-like range), increasing lumi sections and globally unique event numbers."""
    n_runs = 40
    runs = np.sort(rng.choice(np.arange(273150, 275377), n_runs, replace=False)).astype(np.uint32)
    share = rng.gamma(2.0, 1.0, n_runs)
    counts = rng.multinomial(n, share / share.sum())
    run = np.repeat(runs, counts)
    pos = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    per_ls = np.repeat(rng.integers(40, 120, n_runs), counts)
    lumi = (1 + pos // per_ls).astype(np.uint32)
    event = (np.int64(10**8) + np.cumsum(rng.integers(1, 4000, n))).astype(np.uint64)
    return {"run": run, "luminosityBlock": lumi, "event": event}


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------

def _to_awkward(batch: _Batch, is_data: bool) -> dict[str, Any]:
    """Branch dict for uproot in NanoAOD order with the BRANCH_TYPES dtypes; jagged
    collections as records (uproot writes their int32 counters)."""
    out: dict[str, Any] = {}
    order = ["run", "luminosityBlock", "event", "genWeight", "Jet", "Muon", "Electron",
             "MET_pt", "MET_phi", "PV_npvs", "Pileup_nTrueInt", "HLT_IsoMu24",
             "HLT_Ele32_WPTight_Gsf"]
    for name in order:
        if name in batch.collections:
            counts, fields = batch.collections[name]
            fields = {f: np.asarray(v, BRANCH_TYPES[f"{name}_{f}"]) for f, v in fields.items()
                      if not (is_data and f"{name}_{f}" in MC_ONLY_BRANCHES)}
            out[name] = ak.unflatten(ak.zip(fields, depth_limit=1), counts)
        elif not (is_data and name in MC_ONLY_BRANCHES):
            out[name] = np.ascontiguousarray(batch.scalars[name], BRANCH_TYPES[name])
    return out


def _write_root(path: Path, batch: _Batch, runs: dict[str, np.ndarray], is_data: bool,
                key: str) -> None:
    """Write Events and Runs trees to path (in a private temporary directory, then moved)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # same base name as the target: ROOT files record their own name
    tmpdir = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent))
    try:
        _write_trees(tmpdir / path.name, batch, runs, is_data, key)
        os.replace(tmpdir / path.name, path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _write_trees(path: Path, batch: _Batch, runs: dict[str, np.ndarray], is_data: bool,
                 key: str) -> None:
    arrays = _to_awkward(batch, is_data)
    types = {k: (v.type.content if isinstance(v, ak.Array) else v.dtype) for k, v in arrays.items()}
    naming = {"counter_name": lambda c: "n" + c, "field_name": lambda o, f: o + "_" + f}
    with _frozen_root_clock(), uproot.recreate(
        path, compression=COMPRESSION, uuid_function=_uuid_function(key)
    ) as f:
        tree = f.mktree("Events", types, **naming)
        for start in range(0, len(batch), BASKET_EVENTS):
            tree.extend({k: v[start:start + BASKET_EVENTS] for k, v in arrays.items()})
        runs_types = RUNS_TYPES_DATA if is_data else RUNS_TYPES_MC
        runs_tree = f.mktree("Runs", runs_types)
        runs_tree.extend({k: np.asarray(runs[k], t) for k, t in runs_types.items()})


def _file_name(dataset: str, index: int) -> str:
    return f"{dataset}/nano_{index}.root"


def _split(n: int, k: int) -> list[int]:
    return [n // k + (i < n % k) for i in range(k)]


def _mc_file_job(outdir: str, dataset: str, n_events: int, seed: int, index: int) -> dict:
    events, book = _generate_mc_file(dataset, n_events, seed, index)
    name = _file_name(dataset, index)
    runs = {
        "run": np.array([1], np.uint32),
        "genEventCount": np.array([book["gen_event_count"]], np.int64),
        "genEventSumw": np.array([book["gen_event_sumw"]], np.float64),
        "genEventSumw2": np.array([book["gen_event_sumw2"]], np.float64),
    }
    _write_root(Path(outdir) / name, events, runs, False, f"{seed}/{name}")
    return {"path": name, "events": n_events, **book}


# --------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------

def _parameters(events: int, datasets: Sequence[str], files_per_dataset: int, seed: int,
                lumi: float, xsecs: Mapping[str, float] | None) -> dict[str, Any]:
    """Normalised generation parameters (what decides the content of the campaign)."""
    if isinstance(datasets, str):
        datasets = [d for d in datasets.split(",") if d]
    datasets = list(dict.fromkeys(datasets))
    unknown = set(datasets) - set(C.DATASETS)
    if unknown:
        raise ValueError(f"unknown datasets {sorted(unknown)}, known: {list(C.DATASETS)}")
    if int(events) < int(files_per_dataset) or int(files_per_dataset) < 1:
        raise ValueError(f"need events ({events}) >= files_per_dataset ({files_per_dataset}) >= 1")
    merged = {**C.XSECS_PB, **(xsecs or {})}
    return {
        "generator_version": GENERATOR_VERSION,
        "events": int(events),
        "datasets": datasets,
        "files_per_dataset": int(files_per_dataset),
        "seed": int(seed),
        "lumi": float(lumi),
        "xsecs": {p: float(merged[p]) for p in C.MC_DATASETS},
    }


@contextlib.contextmanager
def _executor(workers: int) -> Iterator[Callable[..., Any]]:
    """A submit(fn, *args) -> future-like function: a process pool, or inline calls."""
    if workers <= 1:
        yield lambda fn, *args: _Done(fn(*args))
        return
    with ProcessPoolExecutor(workers) as pool:
        yield pool.submit


class _Done:
    """Already computed result with the Future interface."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def result(self) -> Any:
        return self._value


def _submit_dataset(outdir: str, dataset: str, params: dict[str, Any],
                    submit: Callable[..., Any]) -> Callable[[], dict[str, Any]]:
    """Submit the jobs of one dataset; returns a function collecting its manifest entry."""
    if dataset == C.DATA_DATASET:
        return _submit_data(outdir, params, submit)
    futures = [submit(_mc_file_job, outdir, dataset, n, params["seed"], i)
               for i, n in enumerate(_split(params["events"], params["files_per_dataset"]))]

    def collect() -> dict[str, Any]:
        files = [f.result() for f in futures]
        return {
            "process": dataset,
            "is_data": False,
            "xsec_pb": params["xsecs"][dataset],
            "stage1_probability": PROCESS_MODELS[dataset].p1,
            "events": sum(f["events"] for f in files),
            "stage2_trials": sum(f["stage2_trials"] for f in files),
            "gen_event_count": sum(f["gen_event_count"] for f in files),
            "gen_event_sumw": math.fsum(f["gen_event_sumw"] for f in files),
            "gen_event_sumw2": math.fsum(f["gen_event_sumw2"] for f in files),
            "files": files,
        }

    return collect


def generate_dataset(
    outdir: str | os.PathLike,
    dataset: str,
    events: int = 10_000,
    files_per_dataset: int = 2,
    seed: int = 42,
    lumi: float = C.LUMI_PB,
    xsecs: Mapping[str, float] | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Generate the files of one dataset and return its manifest entry (no manifest is written).

    MC datasets get ``events`` events split over ``files_per_dataset`` files; the data size
    follows from ``lumi`` and the cross sections. ``workers`` > 1 uses a process pool; the
    output does not depend on it.
    """
    params = _parameters(events, [dataset], files_per_dataset, seed, lumi, xsecs)
    with _executor(workers) as submit:
        return _submit_dataset(str(outdir), dataset, params, submit)()


def _submit_data(outdir: str, params: dict[str, Any],
                 submit: Callable[..., Any]) -> Callable[[], dict[str, Any]]:
    """Submit the data chunks; the returned function mixes, splits and writes them."""
    seed, lumi = params["seed"], params["lumi"]
    jobs, processes = [], {}
    for process in C.MC_DATASETS:
        p1 = PROCESS_MODELS[process].p1
        expected = lumi * params["xsecs"][process] * p1
        n_trials = int(_rng(seed, C.DATA_DATASET, process).poisson(expected))
        processes[process] = {"expected_stage2_trials": expected, "stage2_trials": n_trials}
        n_chunks = max(1, math.ceil(n_trials / DATA_CHUNK_TRIALS))
        for chunk, size in enumerate(_split(n_trials, n_chunks)):
            if size:
                jobs.append((process, submit(_generate_data_chunk, process, size, seed, chunk)))
    return lambda: _write_data(outdir, params, jobs, processes)


def _write_data(outdir: str, params: dict[str, Any], jobs: list, processes: dict) -> dict[str, Any]:
    seed, lumi = params["seed"], params["lumi"]
    parts = []
    for process, future in jobs:
        part = future.result()
        processes[process]["events"] = processes[process].get("events", 0) + len(part)
        parts.append(part)
    for info in processes.values():
        info.setdefault("events", 0)
    if not parts:
        raise ValueError(f"lumi {lumi} pb^-1 too small: no data events")
    rng = _rng(seed, C.DATA_DATASET, "mix")
    events = _Batch.concat(parts)
    events = events.take(rng.permutation(len(events)))
    events.scalars.update(_assign_data_ids(rng, len(events)))
    files, start = [], 0
    for index, n in enumerate(_split(len(events), params["files_per_dataset"])):
        name = _file_name(C.DATA_DATASET, index)
        part = events.slice(start, start + n)
        start += n
        runs = {"run": np.unique(part.scalars["run"]).astype(np.uint32)}
        _write_root(Path(outdir) / name, part, runs, True, f"{seed}/{name}")
        files.append({"path": name, "events": n})
    return {
        "process": C.DATA_DATASET,
        "is_data": True,
        "lumi_pb": lumi,
        "events": len(events),
        "processes": processes,
        "files": files,
    }


def load_manifest(outdir: str | os.PathLike) -> dict[str, Any] | None:
    """The campaign manifest in outdir, or None if the campaign is missing or incomplete."""
    path = Path(outdir) / MANIFEST_NAME
    try:
        with open(path) as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _temporary(path: Path) -> Path:
    """Unique hidden temporary name next to path, so that concurrent writers never share one."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


@contextlib.contextmanager
def _campaign_lock(outdir: Path) -> Iterator[None]:
    """Exclusive lock of a campaign directory across processes (POSIX flock)."""
    outdir.mkdir(parents=True, exist_ok=True)
    with open(outdir / ".campaign.lock", "a") as f:
        if fcntl is not None:
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(f, fcntl.LOCK_UN)


def _generate_campaign(outdir: Path, params: dict[str, Any], workers: int) -> dict[str, Any]:
    # an interrupted regeneration must not leave a manifest that looks complete
    (outdir / MANIFEST_NAME).unlink(missing_ok=True)
    with _executor(workers) as submit:
        collectors = {d: _submit_dataset(str(outdir), d, params, submit)
                      for d in params["datasets"]}
        entries = {d: collect() for d, collect in collectors.items()}
    manifest = {
        "generator": "columnar.demo.generate",
        "generator_version": GENERATOR_VERSION,
        "parameters": params,
        "seed": params["seed"],
        "lumi_pb": params["lumi"],
        "events": params["events"],
        "datasets": entries,
    }
    # remove files of an earlier campaign with other parameters
    keep = {f["path"] for e in entries.values() for f in e["files"]}
    for d in params["datasets"]:
        for p in (outdir / d).glob("nano_*.root"):
            if re.fullmatch(r"nano_\d+\.root", p.name) and f"{d}/{p.name}" not in keep:
                p.unlink()
    tmp = _temporary(outdir / MANIFEST_NAME)
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.replace(tmp, outdir / MANIFEST_NAME)
    return manifest


def generate_campaign(
    outdir: str | os.PathLike,
    events: int = 10_000,
    datasets: Sequence[str] = C.DATASETS,
    files_per_dataset: int = 2,
    seed: int = 42,
    lumi: float = C.LUMI_PB,
    xsecs: Mapping[str, float] | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Generate the campaign into outdir and return its manifest (written last, atomically).

    ``events`` per MC dataset, split over ``files_per_dataset`` files; the data size follows
    from ``lumi`` (pb^-1) and ``xsecs`` (pb, default constants.XSECS_PB). ``workers`` > 1
    generates files in parallel processes, with identical output.
    """
    params = _parameters(events, datasets, files_per_dataset, seed, lumi, xsecs)
    outdir = Path(outdir)
    with _campaign_lock(outdir):
        return _generate_campaign(outdir, params, workers)


def ensure_campaign(outdir: str | os.PathLike, **kwargs: Any) -> dict[str, Any]:
    """Return the manifest of the campaign in outdir, generating it only when it is missing,
    incomplete or was made with other parameters (keyword arguments of generate_campaign).

    Safe to call from several processes at once: they wait for each other.
    """
    bound = inspect.signature(generate_campaign).bind(outdir, **kwargs)
    bound.apply_defaults()
    args = dict(bound.arguments)
    outdir = Path(args.pop("outdir"))
    workers = args.pop("workers")
    params = _parameters(**args)
    with _campaign_lock(outdir):
        manifest = load_manifest(outdir)
        if (
            manifest is not None
            and manifest.get("parameters") == params
            and all((outdir / f["path"]).is_file()
                    for e in manifest["datasets"].values() for f in e["files"])
        ):
            return manifest
        print(f"generating the synthetic NanoAOD campaign in {outdir} (first use) ...",
              flush=True)
        return _generate_campaign(outdir, params, workers)


# --------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m columnar.demo.generate",
        description="Generate the synthetic NanoAOD campaign of the demo analysis.",
    )
    parser.add_argument("outdir", help="output directory")
    parser.add_argument("--events", type=int, default=10_000, help="events per MC dataset")
    parser.add_argument("--datasets", default=",".join(C.DATASETS),
                        help="comma-separated datasets (default: %(default)s)")
    parser.add_argument("--files-per-dataset", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--lumi", type=float, default=C.LUMI_PB, help="data luminosity in pb^-1")
    parser.add_argument("--workers", type=int, default=1, help="parallel processes")
    parser.add_argument("--force", action="store_true",
                        help="regenerate even if an identical campaign exists")
    args = parser.parse_args(argv)
    kwargs = dict(events=args.events, datasets=args.datasets.split(","),
                  files_per_dataset=args.files_per_dataset, seed=args.seed, lumi=args.lumi,
                  workers=args.workers)
    manifest = (generate_campaign if args.force else ensure_campaign)(args.outdir, **kwargs)
    for name, entry in manifest["datasets"].items():
        print(f"{name:6s} {entry['events']:9d} events in {len(entry['files'])} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
