"""Producers and categorizers of the demo analysis (run on reduced events).

The generic ``category_ids`` and ``normalization_weight`` come from :mod:`columnar.producers`.
"""

from __future__ import annotations

import awkward as ak
import correctionlib
import numpy as np

from columnar.categorizers import categorizer
from columnar.columns import EMPTY_FLOAT, Route, flat_np_view, layout_ak_array, set_ak_column
from columnar.demo.selection import BTAG_WP
from columnar.producers import producer
from columnar.producers.categories import category_ids
from columnar.producers.normalization import normalization_weight
from columnar.vectors import lorentz_vectors

# -- categories ---------------------------------------------------------------------------------


@categorizer
def cat_incl(self, events: ak.Array, **kwargs):
    """All selected events."""
    return events, ak.Array(np.ones(len(events), dtype=bool))


@categorizer(uses={"Jet.btagDeepFlavB"})
def cat_4j1b(self, events: ak.Array, **kwargs):
    """At least four jets, exactly one of them b-tagged."""
    n_bjet = ak.sum(events.Jet.btagDeepFlavB > BTAG_WP, axis=1)
    return events, (ak.num(events.Jet.btagDeepFlavB, axis=1) >= 4) & (n_bjet == 1)


@categorizer(uses={"Jet.btagDeepFlavB"})
def cat_4j2b(self, events: ak.Array, **kwargs):
    """At least four jets, two or more of them b-tagged."""
    n_bjet = ak.sum(events.Jet.btagDeepFlavB > BTAG_WP, axis=1)
    return events, (ak.num(events.Jet.btagDeepFlavB, axis=1) >= 4) & (n_bjet >= 2)


# -- features -------------------------------------------------------------------------------------


@producer(
    uses={category_ids, "Jet.{pt,eta,phi,mass,btagDeepFlavB}"},
    produces={category_ids, "ht", "n_jet", "n_bjet", "jet1_pt", "m_bjj"},
    shifts={"jec_{up,down}"},
)
def features(self, events: ak.Array, **kwargs) -> ak.Array:
    """Event features on the selected jets (sorted by pt) and the category ids.

    ``m_bjj``: among all three-jet combinations whose highest b-tag value passes the working
    point, the invariant mass of the one with the largest vector-sum pt (missing: EMPTY_FLOAT).
    """
    jets = events.Jet
    events = set_ak_column(events, "ht", ak.sum(jets.pt, axis=1), value_type=np.float32)
    events = set_ak_column(events, "n_jet", ak.num(jets.pt, axis=1), value_type=np.int32)
    events = set_ak_column(events, "n_bjet", ak.sum(jets.btagDeepFlavB > BTAG_WP, axis=1),
                           value_type=np.int32)
    events = set_ak_column(events, "jet1_pt", Route("Jet.pt[:,0]").apply(events, EMPTY_FLOAT),
                           value_type=np.float32)
    # hadronic top candidate
    trijets = ak.combinations(lorentz_vectors(jets), 3, fields=["j1", "j2", "j3"])
    btags = ak.combinations(jets.btagDeepFlavB, 3, fields=["b1", "b2", "b3"])
    max_btag = np.maximum(np.maximum(btags.b1, btags.b2), btags.b3)
    p4 = trijets.j1 + trijets.j2 + trijets.j3
    p4 = p4[max_btag > BTAG_WP]
    best = ak.argmax(p4.pt, axis=1, keepdims=True)
    m_bjj = ak.fill_none(ak.firsts(p4.mass[best]), EMPTY_FLOAT)
    events = set_ak_column(events, "m_bjj", m_bjj, value_type=np.float32)
    return self[category_ids](events, **kwargs)


# -- weights ---------------------------------------------------------------------------------------


@producer(uses={"Jet.pt"}, produces={"btag_weight{,_up,_down}"}, mc_only=True)
def btag_weights(self, events: ak.Array, **kwargs) -> ak.Array:
    """b-tagging weight 1 with variations ``1 ± 0.075 * pt(leading jet) / 50``."""
    lead_pt = np.asarray(Route("Jet.pt[:,0]").apply(events, 0.0), dtype=np.float32)
    events = set_ak_column(events, "btag_weight", np.ones(len(events), dtype=np.float32))
    events = set_ak_column(events, "btag_weight_up", 1 + 0.075 * lead_pt / 50)
    return set_ak_column(events, "btag_weight_down", 1 - 0.075 * lead_pt / 50)


@producer(uses={"Muon.{pt,eta}"}, produces={"muon_weight{,_up,_down}"}, mc_only=True)
def muon_weights(self, events: ak.Array, **kwargs) -> ak.Array:
    """Product over the selected muons of the correctionlib scale factor ``muon_sf``."""
    abseta = np.abs(flat_np_view(events.Muon.eta)).astype(np.float64)
    pt = flat_np_view(events.Muon.pt).astype(np.float64)
    for syst, column in (("nominal", "muon_weight"), ("up", "muon_weight_up"),
                         ("down", "muon_weight_down")):
        sf = self.muon_sf.evaluate(abseta, pt, syst)
        weight = ak.prod(layout_ak_array(sf, events.Muon.pt), axis=1)
        events = set_ak_column(events, column, weight, value_type=np.float32)
    return events


@muon_weights.setup
def muon_weights_setup(self, task, inputs: dict) -> None:
    path = self.config_inst.x.external_files["muon_sf"]
    if callable(path):
        path = path()
    self.muon_sf = correctionlib.CorrectionSet.from_file(str(path))["muon_sf"]


@producer(
    uses={normalization_weight, btag_weights, muon_weights},
    produces={normalization_weight, btag_weights, muon_weights},
    mc_only=True,
)
def weights(self, events: ak.Array, **kwargs) -> ak.Array:
    """All event weights of the demo analysis (simulation only)."""
    for dep in (normalization_weight, btag_weights, muon_weights):
        events = self[dep](events, **kwargs)
    return events
