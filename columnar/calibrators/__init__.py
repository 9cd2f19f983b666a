"""Calibrators: TAFs that change or add object properties before the selection (e.g. energy
scales), writing only the columns they produce."""

from __future__ import annotations

from columnar.array_function import TaskArrayFunction


class Calibrator(TaskArrayFunction, new_kind=True):
    """Base class of calibrators; make one with :func:`calibrator`."""

    kind = "calibrator"


#: decorator making a :class:`Calibrator` from a function ``func(self, events, **kwargs)``
calibrator = Calibrator.decorator

__all__ = ["Calibrator", "calibrator"]
