"""Parameter mixins, one per TAF parameter: ``--calibrator(s)``, ``--selector``, ``--reducer``.

Each mixin resolves its parameter (config default, validation against the registry with an
error that lists the valid names), adds its part to the store path and creates the TAF
instances bound to the task's config and dataset.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import law
import luigi

import columnar.hist_producers.default  # noqa: F401 (registers the framework defaults)
import columnar.reducers.default  # noqa: F401
from columnar.array_function import TaskArrayFunction, UnknownTAFError
from columnar.calibrators import Calibrator
from columnar.config import get_default
from columnar.hist_producers import HistProducer
from columnar.producers import Producer
from columnar.reducers import Reducer
from columnar.selectors import Selector
from columnar.tasks.base import ColumnarTaskError, join_names, match_names

_taf_cache: dict[tuple, TaskArrayFunction] = {}


def taf_instance(base: type[TaskArrayFunction], name: str, config: Any,
                 dataset: Any = None) -> TaskArrayFunction:
    """A TAF instance bound to *config* and *dataset*, cached per process."""
    key = (base.kind, name, id(config), getattr(dataset, "name", None))
    if key not in _taf_cache:
        try:
            cls = base.get_cls(name)
        except UnknownTAFError as e:
            raise ColumnarTaskError(str(e)) from None
        _taf_cache[key] = cls(config_inst=config, dataset_inst=dataset)
    return _taf_cache[key]


def _check_names(base: type[TaskArrayFunction], names: list[str]) -> None:
    for name in names:
        try:
            base.get_cls(name)
        except UnknownTAFError as e:
            raise ColumnarTaskError(str(e)) from None


def _dataset(cls: Any, params: dict) -> Any:
    return cls.dataset_from_params(params) if params.get("dataset") else None


def _resolve_one(cls: Any, params: OrderedDict, key: str, base: type[TaskArrayFunction],
                 default_key: str, fallback: str | None = None) -> OrderedDict:
    """Resolve a parameter naming one TAF: given, else the (first) config default, else
    *fallback*; it must be registered."""
    if not params.get(key):
        default = get_default(cls.config_from_params(params), default_key)
        if isinstance(default, (tuple, list)):
            default = default[0] if default else None
        if not (default or fallback):
            raise ColumnarTaskError(f"no --{key.replace('_', '-')} given and the config has no "
                                    f"default {default_key}")
        params[key] = default or fallback
    _check_names(base, [params[key]])
    return params


def _resolve_many(cls: Any, params: OrderedDict, key: str,
                  base: type[TaskArrayFunction]) -> OrderedDict:
    """Resolve a parameter naming several TAFs: given, else the config default."""
    if not params.get(key):
        params[key] = get_default(cls.config_from_params(params), key) or ()
    params[key] = tuple(params[key])
    _check_names(base, list(params[key]))
    return params


def _shifts_of(cls: Any, params: dict, base: type[TaskArrayFunction], name: str) -> set[str]:
    """Shifts implemented by the TAF *name* bound to the task's config and dataset."""
    inst = taf_instance(base, name, cls.config_from_params(params), _dataset(cls, params))
    return inst.all_shifts


class CalibratorMixin:
    """``--calibrator``: the one calibrator a task invokes."""

    calibrator = luigi.Parameter(default="", description="name of the calibrator to run")

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        return _resolve_one(cls, params, "calibrator", Calibrator, "calibrators")

    @classmethod
    def calibrator_shifts(cls, params: dict) -> set[str]:
        return _shifts_of(cls, params, Calibrator, params["calibrator"])

    @property
    def calibrator_inst(self) -> TaskArrayFunction:
        return taf_instance(Calibrator, self.calibrator, self.config_inst, self.dataset_inst)

    def store_parts(self) -> OrderedDict:
        parts = super().store_parts()
        parts["calibrator"] = join_names("calib", [self.calibrator])
        return parts


class CalibratorsMixin:
    """``--calibrators``: the calibrators whose outputs a task reads."""

    calibrators = law.CSVParameter(
        default=(),
        description="comma-separated calibrator names; default from the config",
    )

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        return _resolve_many(cls, params, "calibrators", Calibrator)

    @classmethod
    def calibrators_shifts(cls, params: dict) -> set[str]:
        """Shifts implemented by the calibrators (all upstream of the calibrated events)."""
        from columnar.tasks.calibration import CalibrateEvents

        shifts: set[str] = set()
        for name in params["calibrators"]:
            local, upstream = CalibrateEvents.get_known_shifts({**params, "calibrator": name})
            shifts |= local | upstream
        return shifts

    @property
    def calibrator_insts(self) -> list[TaskArrayFunction]:
        return [taf_instance(Calibrator, n, self.config_inst, self.dataset_inst)
                for n in self.calibrators]

    def store_parts(self) -> OrderedDict:
        parts = super().store_parts()
        parts["calibrators"] = join_names("calib", list(self.calibrators))
        return parts


class SelectorMixin:
    """``--selector``: the selector a task runs or whose results it reads."""

    selector = luigi.Parameter(default="", description="name of the selector; default from the "
                                                       "config")

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        return _resolve_one(cls, params, "selector", Selector, "selector")

    @classmethod
    def selector_shifts(cls, params: dict) -> set[str]:
        return _shifts_of(cls, params, Selector, params["selector"])

    @property
    def selector_inst(self) -> TaskArrayFunction:
        return taf_instance(Selector, self.selector, self.config_inst, self.dataset_inst)

    def store_parts(self) -> OrderedDict:
        parts = super().store_parts()
        parts["selector"] = join_names("sel", [self.selector])
        return parts


class ReducerMixin:
    """``--reducer``: the reducer that turns selected events into reduced events."""

    reducer = luigi.Parameter(default="", description="name of the reducer; default from the "
                                                     "config, else 'default'")

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        return _resolve_one(cls, params, "reducer", Reducer, "reducer", fallback="default")

    @classmethod
    def reducer_shifts(cls, params: dict) -> set[str]:
        return _shifts_of(cls, params, Reducer, params["reducer"])

    @property
    def reducer_inst(self) -> TaskArrayFunction:
        return taf_instance(Reducer, self.reducer, self.config_inst, self.dataset_inst)

    def store_parts(self) -> OrderedDict:
        parts = super().store_parts()
        parts["reducer"] = join_names("red", [self.reducer])
        return parts


class ProducerMixin:
    """``--producer``: the one producer a task runs."""

    producer = luigi.Parameter(default="", description="name of the producer to run")

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        return _resolve_one(cls, params, "producer", Producer, "producers")

    @classmethod
    def producer_shifts(cls, params: dict) -> set[str]:
        return _shifts_of(cls, params, Producer, params["producer"])

    @property
    def producer_inst(self) -> TaskArrayFunction:
        return taf_instance(Producer, self.producer, self.config_inst, self.dataset_inst)

    def store_parts(self) -> OrderedDict:
        parts = super().store_parts()
        parts["producer"] = join_names("prod", [self.producer])
        return parts


class ProducersMixin:
    """``--producers``: the producers whose columns a task reads."""

    producers = law.CSVParameter(
        default=(),
        description="comma-separated producer names; default from the config",
    )

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        return _resolve_many(cls, params, "producers", Producer)

    @classmethod
    def producers_shifts(cls, params: dict) -> set[str]:
        """Shifts known to the production of all producers (their own and upstream)."""
        from columnar.tasks.production import ProduceColumns

        shifts: set[str] = set()
        for name in params["producers"]:
            local, upstream = ProduceColumns.get_known_shifts({**params, "producer": name})
            shifts |= local | upstream
        return shifts

    @property
    def producer_insts(self) -> list[TaskArrayFunction]:
        return [taf_instance(Producer, n, self.config_inst, self.dataset_inst)
                for n in self.producers]

    def store_parts(self) -> OrderedDict:
        parts = super().store_parts()
        parts["producers"] = join_names("prod", list(self.producers))
        return parts


class HistProducerMixin:
    """``--hist-producer``: computes the event weight (and may prepare columns) for histograms."""

    hist_producer = luigi.Parameter(
        default="",
        description="name of the hist producer; default from the config, else 'default' (the "
                    "product of the config's event weight columns)",
    )

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        return _resolve_one(cls, params, "hist_producer", HistProducer, "hist_producer",
                            fallback="default")

    @classmethod
    def hist_producer_shifts(cls, params: dict) -> set[str]:
        return _shifts_of(cls, params, HistProducer, params["hist_producer"])

    @property
    def hist_producer_inst(self) -> TaskArrayFunction:
        return taf_instance(HistProducer, self.hist_producer, self.config_inst, self.dataset_inst)

    def store_parts(self) -> OrderedDict:
        parts = super().store_parts()
        parts["hist_producer"] = f"hist__{self.hist_producer}"
        return parts


def _config_names(cls: Any, params: OrderedDict, key: str, attr: str, what: str) -> tuple:
    """Resolve a CSV parameter of config object names (patterns allowed, default from config)."""
    config = cls.config_from_params(params)
    valid = [obj.name for obj in getattr(config, attr)]
    values = params.get(key) or get_default(config, key) or valid
    return tuple(match_names(values, valid, what, f"config '{config.name}'"))


class VariablesMixin:
    """``--variables``: variables to histogram (patterns; ``ht-m_bjj`` is a 2-D variable)."""

    variables = law.CSVParameter(
        default=(),
        description="comma-separated variable names or patterns; 'a-b' is the 2-D variable of "
                    "a and b; default from the config",
    )

    #: the config default used without --variables
    variables_default_key = "variables"

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        config = cls.config_from_params(params)
        valid = [v.name for v in config.variables]
        requested = params.get("variables") or get_default(config, cls.variables_default_key)
        if not requested:
            if cls.variables_default_key != "variables":
                raise ColumnarTaskError(f"no --variables given and config '{config.name}' has "
                                        f"no default {cls.variables_default_key}")
            requested = valid
        out: list[str] = []
        for name in requested:
            parts = name.split("-")
            if len(parts) > 1:
                for part in parts:
                    match_names([part], valid, "variable", f"config '{config.name}'")
                out.append(name)
            else:
                out.extend(v for v in match_names([name], valid, "variable",
                                                  f"config '{config.name}'") if v not in out)
        params["variables"] = tuple(out)
        return params


class CategoriesMixin:
    """``--categories``: categories to plot (patterns)."""

    categories = law.CSVParameter(
        default=(),
        description="comma-separated category names or patterns; default from the config",
    )

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        params["categories"] = _config_names(cls, params, "categories", "categories",
                                             "category")
        return params


class DatasetsMixin:
    """``--datasets``: the datasets of a multi-dataset task (patterns like ``'t*'``)."""

    datasets = law.CSVParameter(
        default=(),
        description="comma-separated dataset names or patterns; default from the config",
    )

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        params["datasets"] = _config_names(cls, params, "datasets", "datasets", "dataset")
        return params

    @property
    def dataset_insts(self) -> list:
        return [self.config_inst.get_dataset(d) for d in self.datasets]


class ProcessesMixin:
    """``--processes``: the processes shown in a plot (patterns)."""

    processes = law.CSVParameter(
        default=(),
        description="comma-separated process names or patterns; default from the config",
    )

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        params["processes"] = _config_names(cls, params, "processes", "processes", "process")
        return params

    @property
    def process_insts(self) -> list:
        return [self.config_inst.get_process(p) for p in self.processes]


class ShiftSourcesMixin:
    """``--shift-sources``: systematic sources (or groups of them, e.g. ``jet``) whose up and
    down shifts a task collects."""

    shift_sources = law.CSVParameter(
        default=(),
        description="comma-separated shift sources or shift groups of the config (e.g. "
                    "jec,btag or all)",
    )

    #: use the config's default shift sources when none are given
    shift_sources_from_config = True

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        from columnar.config import ConfigError, expand_shift_sources

        params = super().resolve_param_values(params)
        config = cls.config_from_params(params)
        sources = params.get("shift_sources") or ()
        if not sources and cls.shift_sources_from_config:
            sources = get_default(config, "shift_sources") or ()
        try:
            params["shift_sources"] = tuple(expand_shift_sources(config, sources))
        except ConfigError as e:
            raise ColumnarTaskError(str(e)) from None
        return params

    @property
    def shift_names(self) -> list[str]:
        """nominal and the up/down shifts of the sources."""
        return ["nominal"] + [f"{s}_{d}" for s in self.shift_sources for d in ("up", "down")]
