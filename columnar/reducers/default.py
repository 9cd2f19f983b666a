"""The default reducer: keep the selected events and the selected objects in selection order."""

from __future__ import annotations

from typing import Any

import awkward as ak

from columnar.columns import set_ak_column
from columnar.reducers import reducer


@reducer(check_used_columns=False, check_produced_columns=False)
def default(self, events: ak.Array, selection: ak.Array, **kwargs: Any) -> ak.Array:
    """Apply the event mask of *selection* (a stored :class:`SelectionResult`) and replace each
    collection by its selected objects, re-ordered by the selector's indices; new collections
    (``objects={"Jet": {"BJet": idx}}``) are created from their source."""
    if "objects" in ak.fields(selection):
        for src in ak.fields(selection.objects):
            for dst in ak.fields(selection.objects[src]):
                indices = selection.objects[src][dst]
                events = set_ak_column(events, dst, events[src][indices])
    return events[ak.values_astype(selection.event, bool)]
