"""Task array functions (TAFs): decorated functions over awkward arrays that declare their columns.

A TAF is a class wrapping one function. It declares which columns it ``uses`` (read from disk),
which it ``produces`` (written to disk) and which ``shifts`` it implements. Other TAFs listed in
these sets are dependencies, created together with the TAF and called as ``self[dep](events)``::

    @producer(uses={"Jet.pt"}, produces={"ht"})
    def ht(self, events, **kwargs):
        return set_ak_column(events, "ht", ak.sum(events.Jet.pt, axis=1))

    @producer(uses={ht, "Jet.pt"}, produces={ht, "n_jet"})
    def features(self, events, **kwargs):
        events = self[ht](events, **kwargs)
        return set_ak_column(events, "n_jet", ak.num(events.Jet.pt, axis=1))

    inst = features(config_inst=config, dataset_inst=dataset)
    inst.used_columns      # {Route('Jet.pt')}
    inst.produced_columns  # {Route('ht'), Route('n_jet')}
    events = inst(events)

A dependency in ``uses`` contributes its used columns, one in ``produces`` its produced columns
(list it in both when the caller keeps its outputs). Hooks, registered on the class with
decorators (``@features.init``), run in the order ``init`` (at construction; may change the sets),
``requires`` and ``setup`` (once per task), the call (once per chunk) and ``teardown``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import awkward as ak
import numpy as np

from columnar.columns import (
    Route,
    expand_braces,
    get_ak_routes,
    is_pattern,
    resolve_columns,
)

__all__ = [
    "TaskArrayFunction",
    "TAFError",
    "MissingColumnsError",
    "UnknownTAFError",
    "DuplicateTAFError",
    "resolve_taf_names",
    "SelectionResult",
]


class TAFError(Exception):
    """Base class of errors raised by task array functions."""


class MissingColumnsError(TAFError):
    """A used column did not arrive or a declared produced column was not written."""


class UnknownTAFError(TAFError, KeyError):
    """A TAF name that is not registered; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DuplicateTAFError(TAFError):
    """Two different TAFs registered under the same name."""


def _is_taf(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, TaskArrayFunction)


def _origin(cls: type) -> str:
    func = cls.call_func
    if func is not None:
        return f"{func.__module__}.{func.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


class TaskArrayFunction:
    """Base class of calibrators, selectors, producers, reducers, hist producers, categorizers.

    Subclasses are normally made by the decorators (``@producer``) or by :meth:`derive`; every
    attribute given there becomes a class attribute, so a TAF can be specialised::

        fatjet_features = jet_features.derive("fatjet_features", cls_dict={"collection": "FatJet"})
    """

    #: kind of TAF, e.g. "producer"; each kind has its own registry of names
    kind: ClassVar[str] = "array_function"
    #: registry of the kind, created for each direct subclass defining a new kind
    _registry: ClassVar[dict[str, type[TaskArrayFunction]]] = {}

    # declarations (column specs, TAF classes, shift names)
    uses: ClassVar[set] = set()
    produces: ClassVar[set] = set()
    shifts: ClassVar[set] = set()
    mc_only: ClassVar[bool] = False
    data_only: ClassVar[bool] = False
    #: law sandbox the task running this TAF needs, e.g. ``"venv::~/venvs/ml"`` or
    #: ``"bash::setup_ml.sh"`` (a TAF needing a library the analysis environment lacks)
    sandbox: ClassVar[str | None] = None
    #: check columns before and after each call
    check_used_columns: ClassVar[bool] = True
    check_produced_columns: ClassVar[bool] = True

    # the wrapped function and the hooks
    call_func: ClassVar[Callable | None] = None
    init_func: ClassVar[Callable | None] = None
    requires_func: ClassVar[Callable | None] = None
    setup_func: ClassVar[Callable | None] = None
    teardown_func: ClassVar[Callable | None] = None
    skip_func: ClassVar[Callable | None] = None

    # -- class level: registry, decorators, derivation ----------------------------------------

    def __init_subclass__(cls, new_kind: bool = False, **kwargs):
        super().__init_subclass__(**kwargs)
        if new_kind:
            cls._registry = {}

    @classmethod
    def register(cls, taf_cls: type[TaskArrayFunction]) -> None:
        """Register *taf_cls* under its name; another TAF of the same name is an error."""
        name = taf_cls.__name__
        existing = cls._registry.get(name)
        if existing is not None and existing is not taf_cls:
            if _origin(existing) != _origin(taf_cls):
                raise DuplicateTAFError(
                    f"cannot register {cls.kind} '{name}' defined in {_origin(taf_cls)}: a "
                    f"different {cls.kind} of that name is defined in {_origin(existing)}")
        cls._registry[name] = taf_cls

    @classmethod
    def get_cls(cls, name: str) -> type[TaskArrayFunction]:
        """The registered TAF class of this kind called *name*."""
        try:
            return cls._registry[name]
        except KeyError:
            valid = ", ".join(sorted(cls._registry)) or "none registered"
            raise UnknownTAFError(f"unknown {cls.kind} '{name}'; valid names: {valid}") from None

    @classmethod
    def registered_names(cls) -> list[str]:
        return sorted(cls._registry)

    @classmethod
    def derive(
        cls,
        name: str,
        bases: tuple[type, ...] = (),
        cls_dict: dict[str, Any] | None = None,
        register: bool = True,
    ) -> type[TaskArrayFunction]:
        """A subclass called *name* with the attributes in *cls_dict*, registered by name."""
        attrs = dict(cls_dict or {})
        for key in ("call_func", "init_func", "requires_func", "setup_func", "teardown_func",
                    "skip_func"):
            if key in attrs and attrs[key] is not None:
                attrs[key] = staticmethod(attrs[key]) if not isinstance(
                    attrs[key], staticmethod) else attrs[key]
        for key in ("uses", "produces", "shifts"):
            if key in attrs:
                attrs[key] = set(attrs[key])
        attrs.setdefault("__module__", _caller_module())
        new_cls = type(name, bases or (cls,), attrs)
        if register:
            new_cls.register(new_cls)
        return new_cls

    @classmethod
    def decorator(
        cls,
        func: Callable | None = None,
        bases: tuple[type, ...] = (),
        name: str | None = None,
        **cls_dict: Any,
    ) -> Any:
        """Decorator making a TAF of this kind from a function, with or without arguments.

        >>> @producer(uses={"Jet.pt"}, produces={"ht"})
        ... def ht(self, events, **kwargs): ...
        """
        def wrap(f: Callable) -> type[TaskArrayFunction]:
            attrs = dict(cls_dict, call_func=f, __doc__=f.__doc__, __module__=f.__module__)
            return cls.derive(name or f.__name__, bases=bases, cls_dict=attrs)

        return wrap(func) if func is not None else wrap

    @classmethod
    def _hook_decorator(cls, attr: str, func: Callable) -> Callable:
        setattr(cls, attr, staticmethod(func))
        return func

    @classmethod
    def init(cls, func: Callable) -> Callable:
        """Register the init hook ``func(self)``; it may change ``self.uses`` and the like."""
        return cls._hook_decorator("init_func", func)

    @classmethod
    def requires(cls, func: Callable) -> Callable:
        """Register the requires hook ``func(self, task, reqs: dict)`` adding task requirements."""
        return cls._hook_decorator("requires_func", func)

    @classmethod
    def setup(cls, func: Callable) -> Callable:
        """Register the setup hook ``func(self, task, inputs: dict)``, run once per task."""
        return cls._hook_decorator("setup_func", func)

    @classmethod
    def teardown(cls, func: Callable) -> Callable:
        """Register the teardown hook ``func(self, task)``."""
        return cls._hook_decorator("teardown_func", func)

    @classmethod
    def skip(cls, func: Callable) -> Callable:
        """Register the skip hook ``func(self) -> bool``; a skipped TAF reads, writes and does
        nothing."""
        return cls._hook_decorator("skip_func", func)

    # -- instances ----------------------------------------------------------------------------

    def __init__(
        self,
        analysis_inst: Any = None,
        config_inst: Any = None,
        dataset_inst: Any = None,
        inst_dict: dict[str, Any] | None = None,
        _deps_cache: dict[type, TaskArrayFunction] | None = None,
    ):
        if type(self).call_func is None and type(self).__call__ is TaskArrayFunction.__call__:
            raise TAFError(f"{self.kind} '{self.cls_name}' has no function to call")
        self.analysis_inst = analysis_inst
        self.config_inst = config_inst
        self.dataset_inst = dataset_inst
        for key, value in (inst_dict or {}).items():
            setattr(self, key, value)
        if analysis_inst is None and config_inst is not None:
            self.analysis_inst = getattr(config_inst, "analysis", None)
        # instance copies of the declarations, free to change in the init hook
        self.uses = set(type(self).uses)
        self.produces = set(type(self).produces)
        self.shifts = set(type(self).shifts)
        self.skipped = self._decide_skip()
        if not self.skipped and self.init_func is not None:
            self.init_func(self)
        # dependencies, one instance per class within a tree
        self._deps_cache = {} if _deps_cache is None else _deps_cache
        self._deps_cache.setdefault(type(self), self)
        self.deps: dict[type, TaskArrayFunction] = {}
        if not self.skipped:
            for dep_cls in self._dep_classes():
                if dep_cls not in self._deps_cache:
                    self._deps_cache[dep_cls] = dep_cls(
                        analysis_inst=self.analysis_inst, config_inst=config_inst,
                        dataset_inst=dataset_inst, inst_dict=inst_dict,
                        _deps_cache=self._deps_cache)
                self.deps[dep_cls] = self._deps_cache[dep_cls]

    @property
    def cls_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind} '{self.cls_name}'>"

    @property
    def is_mc(self) -> bool | None:
        """Whether the bound dataset is simulation (``None`` without a dataset)."""
        if self.dataset_inst is None:
            return None
        return bool(getattr(self.dataset_inst, "is_mc", not getattr(
            self.dataset_inst, "is_data", False)))

    def _decide_skip(self) -> bool:
        if self.is_mc is not None:
            if self.mc_only and not self.is_mc:
                return True
            if self.data_only and self.is_mc:
                return True
        if self.skip_func is not None:
            return bool(self.skip_func(self))
        return False

    def _dep_classes(self) -> list[type[TaskArrayFunction]]:
        seen: dict[type, None] = {}
        for decl in (self.uses, self.produces, self.shifts):
            for obj in sorted(decl, key=_sort_key):
                if _is_taf(obj):
                    seen.setdefault(obj, None)
                elif isinstance(obj, TaskArrayFunction):
                    seen.setdefault(type(obj), None)
        return list(seen)

    def __getitem__(self, dep: type[TaskArrayFunction] | str) -> TaskArrayFunction:
        """The instance of the dependency *dep* (class or name)."""
        for dep_cls, inst in self.deps.items():
            if dep is dep_cls or dep == dep_cls.__name__:
                return inst
        if isinstance(dep, str) or _is_taf(dep):
            name = dep if isinstance(dep, str) else dep.__name__
            valid = ", ".join(sorted(c.__name__ for c in self.deps)) or "none"
            skipped = " (it may be skipped for this dataset)" if self.skipped else ""
            raise TAFError(f"{self.kind} '{self.cls_name}' has no dependency '{name}'{skipped}; "
                           f"its dependencies: {valid}")
        raise TypeError(f"invalid dependency key {dep!r}")

    def walk(self) -> list[TaskArrayFunction]:
        """This TAF and all its (not skipped) dependencies, depth first, each once."""
        out: dict[int, TaskArrayFunction] = {}

        def visit(inst: TaskArrayFunction) -> None:
            if id(inst) in out or inst.skipped:
                return
            out[id(inst)] = inst
            for dep in inst.deps.values():
                visit(dep)

        visit(self)
        return list(out.values())

    # -- column and shift resolution ----------------------------------------------------------

    def _own_specs(self, decl: set) -> set[str]:
        specs: set[str] = set()
        for obj in decl:
            if isinstance(obj, (str, Route)):
                specs.update(expand_braces(str(obj)))
        return specs

    def _resolve(self, attr: str, visiting: frozenset = frozenset()) -> set[str]:
        if self.skipped or id(self) in visiting:
            return set()
        visiting = visiting | {id(self)}
        decl = getattr(self, attr)
        specs = self._own_specs(decl)
        for obj in decl:
            if _is_taf(obj) or isinstance(obj, TaskArrayFunction):
                dep = self.deps[obj if _is_taf(obj) else type(obj)]
                specs |= dep._resolve(attr, visiting)
        return specs

    @property
    def used_column_specs(self) -> set[str]:
        """All used column specs of the tree (patterns kept as they are)."""
        return self._resolve("uses")

    @property
    def produced_column_specs(self) -> set[str]:
        """All produced column specs of the tree (patterns kept as they are)."""
        return self._resolve("produces")

    @property
    def used_columns(self) -> set[Route]:
        """All used columns of the tree that are not patterns, as routes."""
        return {Route(s) for s in self.used_column_specs if not is_pattern(s)}

    @property
    def produced_columns(self) -> set[Route]:
        """All produced columns of the tree that are not patterns, as routes."""
        return {Route(s) for s in self.produced_column_specs if not is_pattern(s)}

    @property
    def all_shifts(self) -> set[str]:
        """Names of all shifts implemented by this TAF and its dependencies."""
        if self.skipped:
            return set()
        names = self._own_specs(self.shifts)
        for dep in self.deps.values():
            names |= dep.all_shifts
        return names

    @property
    def required_sandbox(self) -> str | None:
        """The sandbox of this TAF or of its dependencies (all that set one must agree)."""
        found = {inst.sandbox: inst for inst in self.walk() if inst.sandbox and not inst.skipped}
        if len(found) > 1:
            details = ", ".join(f"{type(i).__name__}: {s}" for s, i in found.items())
            raise TAFError(f"{self.kind} '{type(self).__name__}' combines TAFs that "
                                     f"need different sandboxes ({details})")
        return next(iter(found), None)

    # -- hooks over the tree ------------------------------------------------------------------

    def run_requires(self, task: Any, reqs: dict | None = None) -> dict:
        """Collect the extra requirements of all TAFs of the tree into *reqs*."""
        reqs = {} if reqs is None else reqs
        for inst in reversed(self.walk()):
            if inst.requires_func is not None:
                inst.requires_func(inst, task, reqs)
        return reqs

    def run_setup(self, task: Any = None, inputs: dict | None = None) -> None:
        """Run the setup hooks of the tree, dependencies first."""
        for inst in reversed(self.walk()):
            if inst.setup_func is not None:
                inst.setup_func(inst, task, {} if inputs is None else inputs)

    def run_teardown(self, task: Any = None) -> None:
        """Run the teardown hooks of the tree."""
        for inst in self.walk():
            if inst.teardown_func is not None:
                inst.teardown_func(inst, task)

    # -- calling ------------------------------------------------------------------------------

    def skipped_result(self, events: ak.Array, **kwargs: Any) -> Any:
        """What a skipped TAF returns (the events unchanged)."""
        return events

    @staticmethod
    def result_events(result: Any) -> ak.Array:
        """The events part of a call result (selectors and categorizers return tuples)."""
        return result[0] if isinstance(result, tuple) else result

    def __call__(self, events: ak.Array, **kwargs: Any) -> Any:
        if self.skipped:
            return self.skipped_result(events, **kwargs)
        if self.check_used_columns:
            self._check_used(events)
        result = self.call_func(self, events, **kwargs)
        if self.check_produced_columns:
            self._check_produced(self.result_events(result))
        return result

    def _check_used(self, events: ak.Array) -> None:
        # own direct uses, less what dependencies produce while this TAF runs
        produced_by_deps: set[str] = set()
        for dep in self.deps.values():
            produced_by_deps |= dep.produced_column_specs
        specs = self._own_specs(self.uses) - produced_by_deps
        if not specs:
            return
        available = get_ak_routes(events)
        avail_cols = {r.column for r in available}
        missing = []
        for spec in sorted(specs):
            if is_pattern(spec):
                if not resolve_columns([spec], available):
                    missing.append(spec)
            elif Route(spec).without_index().column not in avail_cols and not resolve_columns(
                    [Route(spec).without_index().column], available):
                missing.append(spec)
        if missing:
            raise MissingColumnsError(
                f"{self.kind} '{self.cls_name}' uses columns that did not arrive: "
                f"{', '.join(missing)}")

    def _check_produced(self, events: Any) -> None:
        if not isinstance(events, ak.Array):
            raise TAFError(f"{self.kind} '{self.cls_name}' must return an awkward array of "
                           f"events, got {type(events).__name__}")
        specs = sorted(c.column for c in self.produced_columns)
        if not specs:
            return
        available = get_ak_routes(events)
        missing = [s for s in specs if not resolve_columns([s], available)]
        if missing:
            raise MissingColumnsError(
                f"{self.kind} '{self.cls_name}' declares produced columns that it did not "
                f"write: {', '.join(missing)}")


def _sort_key(obj: Any) -> str:
    return obj.__name__ if _is_taf(obj) else str(obj)


def _caller_module() -> str:
    """Module name of the first caller outside this module (for derived classes)."""
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module != __name__:
            return module
        frame = frame.f_back
    return __name__


def resolve_taf_names(
    base: type[TaskArrayFunction],
    names: str | Iterable[str],
) -> list[type[TaskArrayFunction]]:
    """TAF classes of a kind for names given on the command line (``"features,weights"``)."""
    if isinstance(names, str):
        names = [n for n in names.split(",")]
    return [base.get_cls(n.strip()) for n in names if n.strip()]


class SelectionResult:
    """What a selector decides: an event mask, named step masks, object indices and aux data.

    ``objects`` maps a source collection to the indices (per event, in the kept order) of its
    objects that survive, optionally under new collection names::

        SelectionResult(
            event=mask,
            steps={"jet": n_jets >= 4},
            objects={"Jet": {"Jet": sorted_jet_idx, "BJet": bjet_idx}},
            aux={"n_jets": n_jets},  # not stored
        )

    ``objects={"Jet": idx}`` is short for ``{"Jet": {"Jet": idx}}``. Results merge with ``+=``:
    event masks are combined with a logical AND, steps, objects and aux are updated (the right
    side wins on the same name).
    """

    def __init__(
        self,
        event: ak.Array | None = None,
        steps: dict[str, ak.Array] | None = None,
        objects: dict[str, Any] | None = None,
        aux: dict[str, Any] | None = None,
    ):
        self.event = event
        self.steps = dict(steps or {})
        self.objects = {src: self._normalize(src, dst) for src, dst in (objects or {}).items()}
        self.aux = dict(aux or {})

    @staticmethod
    def _normalize(src: str, dst: Any) -> dict[str, ak.Array]:
        return dict(dst) if isinstance(dst, dict) else {src: dst}

    def __iadd__(self, other: SelectionResult) -> SelectionResult:
        if not isinstance(other, SelectionResult):
            return NotImplemented
        if other.event is not None:
            self.event = other.event if self.event is None else (self.event & other.event)
        self.steps.update(other.steps)
        for src, dsts in other.objects.items():
            self.objects.setdefault(src, {}).update(dsts)
        self.aux.update(other.aux)
        return self

    def __add__(self, other: SelectionResult) -> SelectionResult:
        if not isinstance(other, SelectionResult):
            return NotImplemented
        result = SelectionResult(self.event, self.steps, self.objects, self.aux)
        result += other
        return result

    def event_mask(self, n_events: int) -> ak.Array:
        """The event mask; without one, the AND of all steps (all events without steps)."""
        if self.event is not None:
            return self.event
        mask = ak.Array(np.ones(n_events, dtype=bool))
        for step in self.steps.values():
            mask = mask & step
        return mask

    def to_ak(self, n_events: int | None = None) -> ak.Array:
        """The stored part (event, steps, objects) as one record array."""
        n = n_events if n_events is not None else _first_len(self)
        fields: dict[str, Any] = {"event": self.event_mask(n)}
        if self.steps:
            fields["steps"] = ak.zip(self.steps, depth_limit=1)
        if self.objects:
            fields["objects"] = ak.zip(
                {src: ak.zip(dsts, depth_limit=1) for src, dsts in self.objects.items()},
                depth_limit=1)
        return ak.zip(fields, depth_limit=1)

    def __repr__(self) -> str:
        objs = {src: sorted(d) for src, d in self.objects.items()}
        return (f"SelectionResult(event={'set' if self.event is not None else 'unset'}, "
                f"steps={sorted(self.steps)}, objects={objs}, aux={sorted(self.aux)})")


def _first_len(result: SelectionResult) -> int:
    for arr in [result.event, *result.steps.values(),
                *(a for d in result.objects.values() for a in d.values())]:
        if arr is not None:
            return len(arr)
    raise ValueError("cannot tell the number of events of an empty SelectionResult")
