"""Hist producers: TAFs that prepare histogram filling and return the event weight."""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

from columnar.array_function import TAFError, TaskArrayFunction


class HistProducer(TaskArrayFunction, new_kind=True):
    """Base class of hist producers; the function returns ``(events, weight)``."""

    kind = "hist_producer"

    def skipped_result(self, events: ak.Array, **kwargs: Any) -> tuple[ak.Array, ak.Array]:
        return events, ak.Array(np.ones(len(events), dtype=np.float64))

    def __call__(self, events: ak.Array, **kwargs: Any) -> tuple[ak.Array, ak.Array]:
        result = super().__call__(events, **kwargs)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TAFError(f"hist producer '{self.cls_name}' must return (events, weight), got "
                           f"{type(result).__name__}")
        return result


hist_producer = HistProducer.decorator

__all__ = ["HistProducer", "hist_producer"]
