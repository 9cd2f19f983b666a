"""Reducers: TAFs that turn events plus selection results into the reduced events
(event mask applied, collections filtered and re-ordered)."""

from __future__ import annotations

from columnar.array_function import TaskArrayFunction


class Reducer(TaskArrayFunction, new_kind=True):
    """Base class of reducers; make one with :func:`reducer`.

    Called as ``reducer(events, selection=selection_result_array, **kwargs)``.
    """

    kind = "reducer"


reducer = Reducer.decorator

__all__ = ["Reducer", "reducer"]
