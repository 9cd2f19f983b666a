"""Producers and categorizers of the analysis.

Producers run on the reduced events (cf.ProduceColumns): the selected events, with the
selected objects in the selector's order and the columns that reduction keeps (not the columns
of other producers; a producer needing another one lists it in ``uses`` and calls it). Each
producer writes only its own columns to files of its own, so adding a producer never re-runs
the selection. Histograms (cf.CreateHistograms) read the reduced events overlaid with the
columns of all producers given by ``--producers``.

- ``{{ cookiecutter.short_name }}_features``: event features plotted as variables
- ``{{ cookiecutter.short_name }}_category_ids``: the categories each event belongs to
- ``{{ cookiecutter.short_name }}_weights``: event weights of simulation

The histogram weight is the product of the columns in ``config.x.event_weights``, computed by
columnar's ``default`` hist producer.
"""

from __future__ import annotations

import awkward as ak
import correctionlib
import numpy as np
from columnar.categorizers import Categorizer, categorizer
from columnar.columns import EMPTY_FLOAT, flat_np_view, layout_ak_array, set_ak_column
from columnar.config import category_categorizers, lumi_pb
from columnar.producers import producer
from columnar.vectors import lorentz_vectors

from {{ cookiecutter.module_name }}.selection import count_bjets

# -- features ---------------------------------------------------------------------------------


@producer(
    name="{{ cookiecutter.short_name }}_features",
    uses={"Jet.{pt,eta,phi,mass,btagDeepFlavB}"},
    produces={"ht", "n_jet", "n_bjet", "m_jj"},
)
def features(self, events: ak.Array, **kwargs) -> ak.Array:
    """``ht``, ``n_jet``, ``n_bjet`` of the selected jets and ``m_jj``, the invariant mass of
    the two leading jets (EMPTY_FLOAT when there are fewer than two)."""
    jets = events.Jet
    events = set_ak_column(events, "ht", ak.sum(jets.pt, axis=1), value_type=np.float32)
    events = set_ak_column(events, "n_jet", ak.num(jets.pt, axis=1), value_type=np.int32)
    events = set_ak_column(events, "n_bjet", count_bjets(jets, self.config_inst.x.btag_wp),
                           value_type=np.int32)
    # four-vectors (the vector package) only where needed: one pair per event, none if < 2 jets
    pair = ak.combinations(lorentz_vectors(jets[:, :2]), 2, fields=["j1", "j2"])
    m_jj = ak.fill_none(ak.firsts((pair.j1 + pair.j2).mass), EMPTY_FLOAT)
    return set_ak_column(events, "m_jj", m_jj, value_type=np.float32)


# -- categories -------------------------------------------------------------------------------
# A categorizer returns (events, mask). The config's categories name their categorizers
# (add_category in config.py); the category_ids producer evaluates them.


@categorizer(name="{{ cookiecutter.short_name }}_incl")
def cat_incl(self, events: ak.Array, **kwargs) -> tuple[ak.Array, np.ndarray]:
    """All selected events."""
    return events, np.ones(len(events), dtype=bool)


@categorizer(name="{{ cookiecutter.short_name }}_1b", uses={"Jet.btagDeepFlavB"})
def cat_1b(self, events: ak.Array, **kwargs) -> tuple[ak.Array, ak.Array]:
    """Exactly one b-tagged jet."""
    return events, count_bjets(events.Jet, self.config_inst.x.btag_wp) == 1


@categorizer(name="{{ cookiecutter.short_name }}_2b", uses={"Jet.btagDeepFlavB"})
def cat_2b(self, events: ak.Array, **kwargs) -> tuple[ak.Array, ak.Array]:
    """Two or more b-tagged jets."""
    return events, count_bjets(events.Jet, self.config_inst.x.btag_wp) >= 2


@producer(name="{{ cookiecutter.short_name }}_category_ids", produces={"category_ids"})
def category_ids(self, events: ak.Array, **kwargs) -> ak.Array:
    """``category_ids``: per event, the ids of all config categories it belongs to (every
    categorizer of the category accepts it). Histograms are filled once per category."""
    ids = np.array([cat_id for cat_id, _ in self.categories], dtype=np.int64)
    accepted = np.ones((len(events), len(ids)), dtype=bool)
    for i, (_, names) in enumerate(self.categories):
        for name in names:
            events, mask = self[name](events, **kwargs)
            accepted[:, i] &= np.asarray(mask, dtype=bool)
    per_event = ak.unflatten(np.broadcast_to(ids, accepted.shape)[accepted],
                             accepted.sum(axis=1))
    return set_ak_column(events, "category_ids", per_event)


@category_ids.init
def category_ids_init(self) -> None:
    # the init hook runs when the producer is created for a task, with self.config_inst set
    # and before its dependencies are made: declare the categorizers of the config's
    # categories as dependencies, so that their columns are read and self[name] works
    self.categories = [(cat.id, category_categorizers(cat))
                       for cat, _, _ in self.config_inst.walk_categories()]
    for _, names in self.categories:
        self.uses.update(Categorizer.get_cls(name) for name in names)


# -- weights (simulation only) ----------------------------------------------------------------


@producer(
    name="{{ cookiecutter.short_name }}_normalization_weight",
    uses={"genWeight"},
    produces={"normalization_weight"},
    # skipped for data: it reads and writes nothing there, and data events get weight 1
    mc_only=True,
)
def normalization_weight(self, events: ak.Array, **kwargs) -> ak.Array:
    """``genWeight * lumi * xsec / sum(genWeight)``, the sum over all generated events."""
    weight = np.asarray(events.genWeight, dtype=np.float64) * self.norm_factor
    return set_ak_column(events, "normalization_weight", weight)


@normalization_weight.requires
def normalization_weight_requires(self, task, reqs: dict) -> None:
    # extra inputs of the task running this producer: the selection statistics of the dataset,
    # which hold the sum of generator weights of all its files (NanoAOD Runs tree)
    reqs["selection_stats"] = task.req_task("cf.MergeSelectionStats")


@normalization_weight.setup
def normalization_weight_setup(self, task, inputs: dict) -> None:
    # runs once per task, before the first chunk, with the outputs of the extra requirements
    stats = inputs["selection_stats"].load(formatter="json")
    process = self.dataset_inst.processes.get_first()
    xsec = process.get_xsec(self.config_inst.campaign.ecm).nominal
    self.norm_factor = lumi_pb(self.config_inst) * xsec / stats["sum_gen_weight"]


@producer(
    name="{{ cookiecutter.short_name }}_muon_weight",
    uses={"Muon.eta"},
    produces={"muon_weight{,_up,_down}"},
    mc_only=True,
)
def muon_weight(self, events: ak.Array, **kwargs) -> ak.Array:
    """Product over the selected muons of the scale factor and its up/down variations.

    The shifts ``mu_sf_up/down`` alias ``muon_weight`` to these variations (config.py): the
    producer runs once, the histograms are filled once per shift.
    """
    # correctionlib evaluates whole numpy arrays: flatten the muons, evaluate, restore the
    # per-event structure and multiply per event
    abseta = np.abs(flat_np_view(events.Muon.eta)).astype(np.float64)
    for syst, column in (("nominal", "muon_weight"), ("up", "muon_weight_up"),
                         ("down", "muon_weight_down")):
        sf = self.muon_sf.evaluate(abseta, syst)
        weight = ak.prod(layout_ak_array(sf, events.Muon.eta), axis=1)
        events = set_ak_column(events, column, weight, value_type=np.float32)
    return events


@muon_weight.setup
def muon_weight_setup(self, task, inputs: dict) -> None:
    # load the correction once per task, not once per chunk
    path = self.config_inst.x.external_files["muon_sf"]
    self.muon_sf = correctionlib.CorrectionSet.from_file(path)["muon_id_sf"]


@producer(
    name="{{ cookiecutter.short_name }}_weights",
    # listed in uses and produces: the dependencies' inputs are read, their outputs are kept
    uses={normalization_weight, muon_weight},
    produces={normalization_weight, muon_weight},
    mc_only=True,
)
def weights(self, events: ak.Array, **kwargs) -> ak.Array:
    """All event weights of simulation."""
    events = self[normalization_weight](events, **kwargs)
    return self[muon_weight](events, **kwargs)
