"""The selection of the analysis: one isolated muon (single-muon trigger), at least three
jets, at least one of them b-tagged.

A selector returns ``(events, SelectionResult)``. The result holds named step masks (stored,
and counted in the selection statistics for cutflows), the event mask, and per collection the
indices of the objects that survive, in the order reduction should keep them. Reduction
(cf.ReduceEvents) applies the event mask and the indices, so producers see only the selected
events and objects.
"""

from __future__ import annotations

import awkward as ak
from columnar.selectors import SelectionResult, selector


def count_bjets(jets: ak.Array, working_point: float) -> ak.Array:
    """Number of jets per event whose b-tag score passes the working point."""
    return ak.sum(jets.btagDeepFlavB > working_point, axis=1)


@selector(
    name="{{ cookiecutter.short_name }}_muons",
    uses={"Muon.{pt,eta,tightId,pfRelIso04_all}"},
)
def muons(self, events: ak.Array, **kwargs) -> tuple[ak.Array, SelectionResult]:
    """Tight, isolated muons with pt > 26 GeV and |eta| < 2.4; step ``muon``: exactly one."""
    mu = events.Muon
    mask = (mu.pt > 26.0) & (abs(mu.eta) < 2.4) & mu.tightId & (mu.pfRelIso04_all < 0.15)
    indices = ak.local_index(mu.pt)[mask]
    return events, SelectionResult(steps={"muon": ak.num(indices) == 1},
                                   objects={"Muon": indices})


@selector(
    name="{{ cookiecutter.short_name }}_jets",
    uses={"Jet.{pt,eta,jetId,btagDeepFlavB}"},
    # the jes shifts change Jet.pt (aliases, see config.py), so this selector implements
    # them: for --shift jes_up the selection and everything after it run again with the
    # varied jets, while calibration is reused
    shifts={"jes_{up,down}"},
)
def jets(self, events: ak.Array, **kwargs) -> tuple[ak.Array, SelectionResult]:
    """Jets with pt > 30 GeV, |eta| < 2.4 and the tight id, sorted by pt; steps ``jets``
    (at least three) and ``bjet`` (at least one b-tagged)."""
    jet = events.Jet
    mask = (jet.pt > 30.0) & (abs(jet.eta) < 2.4) & ((jet.jetId & 2) != 0)
    # sort by pt: under the jes shifts the order can change
    by_pt = ak.argsort(jet.pt, axis=1, ascending=False)
    indices = by_pt[mask[by_pt]]
    n_bjet = count_bjets(jet[indices], self.config_inst.x.btag_wp)
    return events, SelectionResult(
        steps={"jets": ak.num(indices) >= 3, "bjet": n_bjet >= 1},
        objects={"Jet": indices},
    )


@selector(
    name="{{ cookiecutter.short_name }}_selection",
    # other TAFs in uses are dependencies: their columns count as used by this selector, and
    # they are called as self[dep](events, **kwargs)
    uses={muons, jets, "HLT.IsoMu24"},
)
def selection(self, events: ak.Array, **kwargs) -> tuple[ak.Array, SelectionResult]:
    """Steps ``trigger``, ``muon``, ``jets`` and ``bjet``; an event is selected if it passes
    all of them.

    ``kwargs`` carries what the task passes (e.g. ``stats``, the dict of selection statistics
    that the task fills with event counts and sums of generator weights); hand it on.
    """
    # NanoAOD branches are grouped at their first underscore: HLT_IsoMu24 is HLT.IsoMu24
    result = SelectionResult(steps={"trigger": events.HLT.IsoMu24})
    events, muon_result = self[muons](events, **kwargs)
    result += muon_result
    events, jet_result = self[jets](events, **kwargs)
    result += jet_result
    steps = result.steps
    result.event = steps["trigger"] & steps["muon"] & steps["jets"] & steps["bjet"]
    return events, result
