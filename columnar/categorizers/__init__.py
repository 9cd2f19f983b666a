"""Categorizers: TAFs that return a per-event mask defining a category."""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

from columnar.array_function import TAFError, TaskArrayFunction


class Categorizer(TaskArrayFunction, new_kind=True):
    """Base class of categorizers; the function returns ``(events, mask)``.

    >>> @categorizer(uses={"n_bjet"})
    ... def cat_4j2b(self, events, **kwargs):
    ...     return events, events.n_bjet >= 2
    """

    kind = "categorizer"

    def skipped_result(self, events: ak.Array, **kwargs: Any) -> tuple[ak.Array, ak.Array]:
        return events, ak.Array(np.ones(len(events), dtype=bool))

    def __call__(self, events: ak.Array, **kwargs: Any) -> tuple[ak.Array, ak.Array]:
        result = super().__call__(events, **kwargs)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TAFError(f"categorizer '{self.cls_name}' must return (events, mask), got "
                           f"{type(result).__name__}")
        return result


categorizer = Categorizer.decorator

__all__ = ["Categorizer", "categorizer"]
