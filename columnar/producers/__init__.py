"""Producers: TAFs that add new columns (features, weights, category ids) to reduced events."""

from __future__ import annotations

from columnar.array_function import TaskArrayFunction


class Producer(TaskArrayFunction, new_kind=True):
    """Base class of producers; make one with :func:`producer`."""

    kind = "producer"


#: decorator making a :class:`Producer` from a function ``func(self, events, **kwargs)``
producer = Producer.decorator

__all__ = ["Producer", "producer"]
