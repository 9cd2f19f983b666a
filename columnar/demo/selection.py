"""The selector of the demo analysis: one lepton, at least four jets, at least one b jet."""

from __future__ import annotations

import awkward as ak

from columnar.selectors import SelectionResult, selector

#: b-tag working point on btagDeepFlavB
BTAG_WP = 0.5


@selector(uses={"Muon.{pt,eta,tightId,pfRelIso04_all,sip3d}"})
def muon_selection(self, events: ak.Array, **kwargs) -> tuple[ak.Array, SelectionResult]:
    """Tight, isolated, prompt muons with pt > 30 GeV and |eta| < 2.1."""
    mu = events.Muon
    mask = ((mu.pt > 30) & (abs(mu.eta) < 2.1) & mu.tightId & (mu.pfRelIso04_all < 0.15)
            & (mu.sip3d < 4))
    indices = ak.local_index(mu.pt)[mask]
    return events, SelectionResult(objects={"Muon": indices}, aux={"n_muon": ak.num(indices)})


@selector(uses={"Electron.{pt,eta,cutBased,sip3d}"})
def electron_selection(self, events: ak.Array, **kwargs) -> tuple[ak.Array, SelectionResult]:
    """Tight (cutBased == 4), prompt electrons with pt > 30 GeV and |eta| < 2.1."""
    el = events.Electron
    mask = (el.pt > 30) & (abs(el.eta) < 2.1) & (el.cutBased == 4) & (el.sip3d < 4)
    indices = ak.local_index(el.pt)[mask]
    return events, SelectionResult(objects={"Electron": indices},
                                   aux={"n_electron": ak.num(indices)})


@selector(uses={"Jet.{pt,eta,jetId,btagDeepFlavB}"}, shifts={"jec_{up,down}"})
def jet_selection(self, events: ak.Array, **kwargs) -> tuple[ak.Array, SelectionResult]:
    """Jets with pt > 30 GeV, |eta| < 2.4 and the tight jet id, sorted by pt (descending).

    It implements the ``jec`` shifts: under them it sees the varied jet pt.
    """
    jet = events.Jet
    mask = (jet.pt > 30) & (abs(jet.eta) < 2.4) & ((jet.jetId & 2) != 0)
    by_pt = ak.argsort(jet.pt, axis=1, ascending=False)
    indices = by_pt[mask[by_pt]]
    n_bjet = ak.sum(jet.btagDeepFlavB[indices] > BTAG_WP, axis=1)
    return events, SelectionResult(
        steps={"jet": ak.num(indices) >= 4, "bjet": n_bjet >= 1},
        objects={"Jet": indices},
        aux={"n_jet": ak.num(indices), "n_bjet": n_bjet},
    )


@selector(uses={muon_selection, electron_selection, jet_selection})
def default(self, events: ak.Array, **kwargs):
    """ttbar-lite selection: steps ``lepton`` (exactly one selected muon or electron),
    ``jet`` (at least four selected jets) and ``bjet`` (at least one b jet).

    The task adds event counts and sums of generator weights before and after the selection
    (and after each step) to the selection statistics.
    """
    events, result = self[muon_selection](events, **kwargs)
    events, el_result = self[electron_selection](events, **kwargs)
    result += el_result
    n_lepton = result.aux["n_muon"] + result.aux["n_electron"]
    result += SelectionResult(steps={"lepton": n_lepton == 1})
    events, jet_result = self[jet_selection](events, **kwargs)
    result += jet_result
    result.event = result.steps["lepton"] & result.steps["jet"] & result.steps["bjet"]
    return events, result
