"""Calibrators of the demo analysis."""

from __future__ import annotations

import awkward as ak

from columnar.calibrators import calibrator
from columnar.columns import set_ak_column


@calibrator(
    uses={"Jet.{pt,mass}"},
    produces={"Jet.{pt,mass}_jec_{up,down}"},
    factors={"up": 1.03, "down": 0.97},
)
def jec(self, events: ak.Array, **kwargs) -> ak.Array:
    """Jet energy scale variations: pt and mass scaled by 1.03 (up) and 0.97 (down).

    The nominal columns are not changed; the ``jec_up/down`` shifts alias ``Jet.pt`` and
    ``Jet.mass`` to these columns, so that the selection sees the varied jets.
    """
    for direction, factor in self.factors.items():
        for column in ("pt", "mass"):
            events = set_ak_column(events, f"Jet.{column}_jec_{direction}",
                                   events.Jet[column] * factor)
    return events
