"""Selectors: TAFs that decide which events and objects are kept.

A selector returns ``(events, SelectionResult)``; see :class:`SelectionResult`.
"""

from __future__ import annotations

from typing import Any

import awkward as ak

from columnar.array_function import SelectionResult, TAFError, TaskArrayFunction


class Selector(TaskArrayFunction, new_kind=True):
    """Base class of selectors; make one with :func:`selector`."""

    kind = "selector"

    def skipped_result(self, events: ak.Array, **kwargs: Any) -> tuple[ak.Array, SelectionResult]:
        return events, SelectionResult()

    def __call__(self, events: ak.Array, **kwargs: Any) -> tuple[ak.Array, SelectionResult]:
        result = super().__call__(events, **kwargs)
        if not (isinstance(result, tuple) and len(result) == 2
                and isinstance(result[1], SelectionResult)):
            raise TAFError(f"selector '{self.cls_name}' must return (events, SelectionResult), "
                           f"got {type(result).__name__}")
        return result


#: decorator making a :class:`Selector` from a function ``func(self, events, **kwargs)``
selector = Selector.decorator

__all__ = ["Selector", "selector", "SelectionResult"]
