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

from columnar.array_function import TaskArrayFunction, UnknownTAFError
from columnar.calibrators import Calibrator
from columnar.config import get_default
from columnar.reducers import Reducer
from columnar.selectors import Selector
from columnar.tasks.base import ColumnarTaskError, join_names

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


class CalibratorMixin:
    """``--calibrator``: the one calibrator a task invokes."""

    calibrator = luigi.Parameter(default="", description="name of the calibrator to run")

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        if not params.get("calibrator"):
            defaults = get_default(cls.config_from_params(params), "calibrators") or ()
            if not defaults:
                raise ColumnarTaskError("no --calibrator given and the config has no default "
                                        "calibrators")
            params["calibrator"] = defaults[0]
        _check_names(Calibrator, [params["calibrator"]])
        return params

    @classmethod
    def calibrator_shifts(cls, params: dict) -> set[str]:
        inst = taf_instance(Calibrator, params["calibrator"], cls.config_from_params(params),
                            _dataset(cls, params))
        return inst.all_shifts

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
        if not params.get("calibrators"):
            params["calibrators"] = tuple(
                get_default(cls.config_from_params(params), "calibrators") or ())
        params["calibrators"] = tuple(params["calibrators"])
        _check_names(Calibrator, list(params["calibrators"]))
        return params

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
        if not params.get("selector"):
            default = get_default(cls.config_from_params(params), "selector")
            if not default:
                raise ColumnarTaskError("no --selector given and the config has no default "
                                        "selector")
            params["selector"] = default
        _check_names(Selector, [params["selector"]])
        return params

    @classmethod
    def selector_shifts(cls, params: dict) -> set[str]:
        inst = taf_instance(Selector, params["selector"], cls.config_from_params(params),
                            _dataset(cls, params))
        return inst.all_shifts

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
        if not params.get("reducer"):
            params["reducer"] = get_default(cls.config_from_params(params), "reducer") or "default"
        if params["reducer"] == "default":
            import columnar.reducers.default  # noqa: F401 (registers the default reducer)
        _check_names(Reducer, [params["reducer"]])
        return params

    @classmethod
    def reducer_shifts(cls, params: dict) -> set[str]:
        inst = taf_instance(Reducer, params["reducer"], cls.config_from_params(params),
                            _dataset(cls, params))
        return inst.all_shifts

    @property
    def reducer_inst(self) -> TaskArrayFunction:
        return taf_instance(Reducer, self.reducer, self.config_inst, self.dataset_inst)

    def store_parts(self) -> OrderedDict:
        parts = super().store_parts()
        parts["reducer"] = join_names("red", [self.reducer])
        return parts
