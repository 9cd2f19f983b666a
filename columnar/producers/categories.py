"""The producer of category ids: which config categories an event belongs to."""

from __future__ import annotations

import awkward as ak
import numpy as np

from columnar.categorizers import Categorizer
from columnar.columns import set_ak_column
from columnar.config import category_categorizers
from columnar.producers import producer


@producer(produces={"category_ids"})
def category_ids(self, events: ak.Array, **kwargs) -> ak.Array:
    """Ids of all config categories an event belongs to (``var * int64``)."""
    ids = np.full((len(events), len(self.category_selections)), -1, dtype=np.int64)
    for i, (cat_id, names) in enumerate(self.category_selections):
        mask = np.ones(len(events), dtype=bool)
        for name in names:
            events, cat_mask = self[name](events, **kwargs)
            mask &= np.asarray(cat_mask, dtype=bool)
        ids[mask, i] = cat_id
    jagged = ak.from_regular(ak.Array(ids))
    return set_ak_column(events, "category_ids", jagged[jagged >= 0])


@category_ids.init
def category_ids_init(self) -> None:
    if self.config_inst is None:
        raise ValueError("producer 'category_ids' needs a config with categories")
    self.category_selections = []
    for cat, _, _ in self.config_inst.walk_categories():
        names = category_categorizers(cat)
        self.category_selections.append((cat.id, names))
        self.uses.update(Categorizer.get_cls(name) for name in names)
