"""The default hist producer: the event weight is the product of the config's weight columns.

The config lists them in ``config.x.event_weights`` (e.g. ``["normalization_weight",
"btag_weight"]``); data events get weight 1. Shifts whose aliases replace one of these columns
(``btag_up``: ``btag_weight -> btag_weight_up``) are implemented here, so that for them only the
histograms are made anew.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from columnar.config import get_shift_aliases
from columnar.hist_producers import hist_producer


@hist_producer
def default(self, events: ak.Array, **kwargs) -> tuple[ak.Array, np.ndarray]:
    weight = np.ones(len(events), dtype=np.float64)
    if self.is_mc is not False:
        for column in self.weight_columns:
            weight = weight * np.asarray(events[column], dtype=np.float64)
    return events, weight


@default.init
def default_init(self) -> None:
    columns = list(self.config_inst.x("event_weights", ())) if self.config_inst else []
    self.weight_columns = columns if self.is_mc is not False else []
    self.uses |= set(self.weight_columns)
    if self.config_inst is not None and self.weight_columns:
        for shift in self.config_inst.shifts:
            if set(get_shift_aliases(shift)) & set(columns):
                self.shifts.add(shift.name)
