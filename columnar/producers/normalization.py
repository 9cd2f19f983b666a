"""The normalisation weight of simulated events: ``genWeight * lumi * xsec / sum(genWeight)``."""

from __future__ import annotations

import awkward as ak
import numpy as np

from columnar.columns import set_ak_column
from columnar.config import lumi_pb
from columnar.producers import producer


@producer(uses={"genWeight"}, produces={"normalization_weight"}, mc_only=True)
def normalization_weight(self, events: ak.Array, **kwargs) -> ak.Array:
    """``genWeight * lumi * xsec / sum(genWeight)`` over all generated events of the dataset."""
    weight = np.asarray(events.genWeight, dtype=np.float64) * self.norm_factor
    return set_ak_column(events, "normalization_weight", weight)


@normalization_weight.requires
def normalization_weight_requires(self, task, reqs: dict) -> None:
    # the selection statistics of the dataset (with the Runs bookkeeping of its files)
    reqs["selection_stats"] = task.req_task("cf.MergeSelectionStats")


@normalization_weight.setup
def normalization_weight_setup(self, task, inputs: dict) -> None:
    stats = inputs.get("selection_stats")
    if stats is None:
        raise ValueError("producer 'normalization_weight' needs the selection stats of dataset "
                         f"'{self.dataset_inst.name}' as input 'selection_stats'")
    if hasattr(stats, "load"):
        stats = stats.load(formatter="json")
    # the generator bookkeeping of the Runs tree counts events removed by skims as well
    sum_weights = stats.get("sum_gen_weight") or stats.get("sum_mc_weight")
    if not sum_weights:
        raise ValueError(f"selection stats of dataset '{self.dataset_inst.name}' have no sum of "
                         "generator weights")
    process = self.dataset_inst.processes.get_first()
    xsec = process.get_xsec(self.config_inst.campaign.ecm).nominal
    self.norm_factor = lumi_pb(self.config_inst) * xsec / sum_weights
