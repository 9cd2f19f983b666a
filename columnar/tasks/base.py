"""Base tasks: analysis, config, dataset and shift levels, and the store layout.

Every task lives in the law namespace ``cf``. Its outputs go to::

    <store>/<analysis>/<task family>/<config>/<dataset>/<shift>/calib__<..>/sel__<..>/red__<..>/
        prod__<..>/<version>/<file>

with only the parts the task depends on. Parameters are resolved before a task is created
(config defaults, name patterns, shift resolution), so that equal tasks are equal objects.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib
import logging
import os
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

import law
import luigi
import order as od

from columnar import settings
from columnar.config import get_default
from columnar.tasks.passes import PassMixin
from columnar.tasks.targets import SiblingCollection
from columnar.tasks.workflows import DaskWorkflow, HTCondorWorkflow, SlurmWorkflow

logger = logging.getLogger("columnar.tasks")

_analysis_cache: dict[str, od.Analysis] = {}
_params_cache: dict[type, list] = {}

#: order of the parts of the store path (parts not listed come last, in insertion order)
STORE_PART_ORDER = ["analysis", "task_family", "config", "dataset", "shift", "calibrator",
                    "calibrators", "selector", "reducer", "producer", "producers",
                    "hist_producer"]


class ColumnarTaskError(Exception):
    """A task-level error with a message for the user (bad parameter, missing input)."""


def load_analysis(path: str) -> od.Analysis:
    """Import the ``order.Analysis`` at *path* (``module.attribute`` or ``module:attribute``)."""
    if path in _analysis_cache:
        return _analysis_cache[path]
    module_name, sep, attr = path.replace(":", ".").rpartition(".")
    if not sep:
        raise ColumnarTaskError(f"invalid analysis '{path}', expected 'module.attribute'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ColumnarTaskError(f"cannot import the module '{module_name}' of analysis '{path}': "
                                f"{e}") from e
    analysis = getattr(module, attr, None)
    if not isinstance(analysis, od.Analysis):
        raise ColumnarTaskError(f"'{path}' is not an order.Analysis (got {type(analysis)})")
    _analysis_cache[path] = analysis
    return analysis


def match_names(
    patterns: Iterable[str],
    valid: Sequence[str],
    what: str,
    where: str,
) -> list[str]:
    """Names in *valid* matching *patterns* (fnmatch, order of *valid*); a pattern matching
    nothing is an error listing the valid names."""
    out: list[str] = []
    for pattern in patterns:
        matched = [v for v in valid if fnmatch.fnmatchcase(v, pattern)]
        if not matched:
            raise ColumnarTaskError(f"unknown {what} '{pattern}' in {where}; valid {what}s: "
                                    f"{', '.join(valid) or 'none'}")
        out.extend(m for m in matched if m not in out)
    return out


def join_names(prefix: str, names: Sequence[str], max_len: int = 60) -> str:
    """Store path part for a list of names, shortened to ``<n>_<hash>`` when long."""
    if not names:
        return f"{prefix}__none"
    joined = "__".join(names)
    if len(joined) > max_len:
        joined = f"{len(names)}_{hashlib.sha1(joined.encode()).hexdigest()[:10]}"
    return f"{prefix}__{joined}"


class AnalysisTask(law.Task):
    """Base of all columnar tasks: the analysis, the version and the store."""

    task_namespace = "cf"

    analysis = luigi.Parameter(
        default=settings.default_analysis(),
        description="import path of the order.Analysis (module.attribute); default from law.cfg "
                    "[columnar] default_analysis",
    )
    version = luigi.Parameter(
        description="version of the outputs, e.g. v1; results of other versions are kept",
    )

    workflow = luigi.Parameter(
        default="",
        significant=False,
        description="where the branches of the per-file steps run: local (in-process), slurm, "
                    "htcondor or dask; passed on to all of them; default: as configured for each "
                    "(--cf.ReduceEvents-workflow, $COLUMNAR_WORKFLOW, law.cfg [columnar] "
                    "workflow), else local",
    )

    exclude_params_index = {"analysis"}

    #: modules this task's run imports lazily: imported in the main process before luigi forks
    #: a process for it (``--workers > 1``), so that all task processes inherit them
    preload_modules: tuple[str, ...] = ()
    #: whether the run is bookkeeping only (fast), so that it needs no process of its own
    light_run = False

    def runs_in_main_process(self) -> bool:
        """With ``--workers > 1``: run this task in the main process instead of forking one
        for it (see :mod:`columnar.tasks.processes`)."""
        return self.light_run

    # -- parameter resolution ------------------------------------------------------------------

    @classmethod
    def get_params(cls) -> list[tuple[str, luigi.Parameter]]:
        # luigi walks dir(cls) on every call (each task creation, req and parameter lookup);
        # the parameters of a task class are fixed once it is defined
        params = _params_cache.get(cls)
        if params is None:
            params = _params_cache[cls] = super().get_params()
        return list(params)

    @classmethod
    def req_params(cls, inst: law.Task, **kwargs: Any) -> dict:
        params = super().req_params(inst, **kwargs)
        # an unset workflow is not passed on: the required task takes its configured default
        if "workflow" not in kwargs and not params.get("workflow"):
            params.pop("workflow", None)
        return params

    @classmethod
    def modify_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().modify_param_values(params)
        params = cls.resolve_param_values(params)
        return params

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        """Hook of the parameter mixins (each calls super first)."""
        return params

    @classmethod
    def analysis_from_params(cls, params: dict) -> od.Analysis:
        return load_analysis(params["analysis"])

    @property
    def analysis_inst(self) -> od.Analysis:
        return load_analysis(self.analysis)

    # -- store ---------------------------------------------------------------------------------

    def store_parts(self) -> OrderedDict:
        """Ordered parts of the output directory, extended by subclasses and mixins."""
        return OrderedDict([("analysis", self.analysis_inst.name),
                            ("task_family", self.task_family)])

    def store_relpath(self, *path: str) -> str:
        """Path of an output relative to the store root."""
        store_parts = self.store_parts()
        keys = sorted(store_parts, key=lambda k: (STORE_PART_ORDER.index(k)
                                                  if k in STORE_PART_ORDER else 99))
        parts = [*(store_parts[k] for k in keys), str(self.version), *path]
        return os.path.join(*[str(p) for p in parts])

    def local_path(self, *path: str) -> str:
        """Location of an output: a local path, or a URL for a remote store."""
        return os.path.join(settings.store_root(), self.store_relpath(*path))

    def local_target(self, *path: str, dir: bool = False) -> law.FileSystemTarget:
        """The target of an output in the store: a ``law.LocalFileTarget`` (or directory) for a
        local store, a :class:`columnar.store.StoreFileTarget` for a remote one (store root with
        a scheme, e.g. ``root://host//dir``). Read and write it with the helpers of
        :mod:`columnar.tasks.targets`."""
        root = settings.store_root()
        if settings.store_is_remote(root):
            from columnar.store import store_target

            return store_target(root, self.store_relpath(*path), dir=dir)
        cls = law.LocalDirectoryTarget if dir else law.LocalFileTarget
        return cls(os.path.join(root, self.store_relpath(*path)))

    def req_task(self, family: str, **kwargs: Any) -> law.Task:
        """Require another task by its family (``"cf.MergeSelectionStats"``) with this task's
        parameters; TAF ``requires`` hooks use this instead of importing task modules."""
        family = family if "." in family else f"cf.{family}"
        task_cls = luigi.task_register.Register.get_task_cls(family)
        return task_cls.req(self, **kwargs)


class ConfigTask(AnalysisTask):
    """A task of one config of the analysis."""

    config = luigi.Parameter(
        default="",
        description="name of the config; default: the first config of the analysis",
    )

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        analysis = cls.analysis_from_params(params)
        names = [c.name for c in analysis.configs]
        if not params.get("config"):
            if not names:
                raise ColumnarTaskError(f"analysis '{analysis.name}' has no configs")
            params["config"] = names[0]
        elif params["config"] not in names:
            raise ColumnarTaskError(f"unknown config '{params['config']}' of analysis "
                                    f"'{analysis.name}'; valid configs: {', '.join(names)}")
        return params

    @classmethod
    def config_from_params(cls, params: dict) -> od.Config:
        return cls.analysis_from_params(params).get_config(params["config"])

    @property
    def config_inst(self) -> od.Config:
        return self.analysis_inst.get_config(self.config)

    def store_parts(self) -> OrderedDict:
        parts = super().store_parts()
        parts["config"] = self.config
        return parts


class DatasetTask(ConfigTask):
    """A task of one dataset."""

    dataset = luigi.Parameter(
        default="",
        description="name of the dataset; default: the first default dataset of the config",
    )

    @classmethod
    def resolve_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().resolve_param_values(params)
        config = cls.config_from_params(params)
        valid = [d.name for d in config.datasets]
        if not params.get("dataset"):
            defaults = get_default(config, "datasets") or valid
            params["dataset"] = defaults[0]
        elif params["dataset"] not in valid:
            raise ColumnarTaskError(f"unknown dataset '{params['dataset']}' in config "
                                    f"'{config.name}'; valid datasets: {', '.join(valid)}")
        return params

    @classmethod
    def dataset_from_params(cls, params: dict) -> od.Dataset:
        return cls.config_from_params(params).get_dataset(params["dataset"])

    @property
    def dataset_inst(self) -> od.Dataset:
        return self.config_inst.get_dataset(self.dataset)

    def store_parts(self) -> OrderedDict:
        parts = super().store_parts()
        parts["dataset"] = self.dataset
        return parts


class ShiftTask(ConfigTask):
    """A task under a systematic shift, resolved as in DESIGN.md §5.

    ``--shift`` is what the user asks for. After resolution, ``shift`` is the requested shift
    if this task or a task upstream implements it (otherwise ``nominal``), and ``local_shift`` is
    the shift that this task's own TAFs run with.
    """

    shift = luigi.Parameter(
        default="nominal",
        description="systematic shift, e.g. jec_up; resolved to nominal where neither this task "
                    "nor an upstream task implements it",
    )
    local_shift = luigi.Parameter(
        default="",
        significant=False,
        description="(internal) the shift this task's own TAFs run with",
    )
    sibling_shifts = law.CSVParameter(
        default=(),
        significant=False,
        description="(internal) the shifts requested together with this one; per-file tasks of "
                    "these shifts that read the same inputs run as one pass over them",
    )

    exclude_params_req_get = {"local_shift"}
    exclude_params_index = {"local_shift", "sibling_shifts"}

    @classmethod
    def modify_param_values(cls, params: OrderedDict) -> OrderedDict:
        params = super().modify_param_values(params)
        return cls.resolve_shift(params)

    @classmethod
    def get_known_shifts(cls, params: dict) -> tuple[set[str], set[str]]:
        """Shifts implemented by this task's own TAFs and by tasks upstream."""
        return set(), set()

    @classmethod
    def resolve_shift(cls, params: OrderedDict) -> OrderedDict:
        config = cls.config_from_params(params)
        requested = params.get("shift") or "nominal"
        if not config.has_shift(requested):
            raise ColumnarTaskError(
                f"unknown shift '{requested}' in config '{config.name}'; valid shifts: "
                f"{', '.join(s.name for s in config.shifts)}")
        is_data = "dataset" in params and cls.dataset_from_params(params).is_data
        local, upstream = (set(), set()) if is_data else cls.get_known_shifts(params)
        if requested in local:
            params["shift"], params["local_shift"] = requested, requested
        elif requested in upstream:
            params["shift"], params["local_shift"] = requested, "nominal"
        else:
            params["shift"], params["local_shift"] = "nominal", "nominal"
        return params

    @property
    def shift_inst(self) -> od.Shift:
        return self.config_inst.get_shift(self.shift)

    def store_parts(self) -> OrderedDict:
        parts = super().store_parts()
        parts["shift"] = self.shift
        return parts


class DatasetShiftTask(DatasetTask, ShiftTask):
    """A task of one dataset under a shift."""

    def store_parts(self) -> OrderedDict:
        # order: config / dataset / shift
        parts = AnalysisTask.store_parts(self)
        parts["config"] = self.config
        parts["dataset"] = self.dataset
        parts["shift"] = self.shift
        return parts


class DatasetWorkflow(PassMixin, DatasetShiftTask, law.LocalWorkflow, SlurmWorkflow,
                      HTCondorWorkflow, DaskWorkflow, law.SandboxTask):
    """A per-file workflow of one dataset: one branch per input file, run in-process
    (``--workflow local``, the default), as Slurm or HTCondor jobs or on a dask cluster (see
    :mod:`columnar.tasks.workflows`).

    A branch runs in the law sandbox of the TAF it runs (its ``sandbox`` attribute, e.g.
    ``@producer(..., sandbox="venv::~/venvs/ml")``), and in-process when the TAF sets none.
    Branches of several tasks that read the same inputs may run as one pass
    (:mod:`columnar.tasks.passes`).
    """

    workflow = luigi.Parameter(
        default=settings.default_workflow(),
        description="where the branches run: local (in-process), slurm, htcondor or dask; "
                    "default from $COLUMNAR_WORKFLOW or law.cfg [columnar] workflow, else local",
    )

    # values given for one task family on the command line (--cf.ReduceEvents-job-memory 4000)
    # win over those passed on by the task requiring it
    prefer_params_cli = {"workflow", "max_runtime", "job_memory", "poll_interval",
                         "tasks_per_job", "parallel_jobs", "retries", "slurm_partition",
                         "htcondor_universe", "htcondor_requirements", "htcondor_pool",
                         "htcondor_scheduler", "dask_scheduler"}

    #: name of the property holding the TAF this task runs (whose sandbox the task uses)
    run_taf_attr: str | None = None
    allow_empty_sandbox = True

    preload_modules = ("numpy.ma", "vector._compute.*")

    # one listing per directory to check which branches exist (also for a remote store)
    output_collection_cls = SiblingCollection
    # the branches are known before anything runs: require them statically, which lets luigi
    # schedule all of them at once (instead of a workflow yielding them when it runs)
    local_workflow_require_branches = True

    chunk_size = luigi.IntParameter(
        default=0,
        significant=False,
        description="events per chunk when reading columns; default from law.cfg [columnar] "
                    "chunk_size",
    )

    exclude_params_req_get = {"local_shift"}

    def create_branch_map(self) -> dict[int, int]:
        info = self.dataset_inst.info
        n_files = info[self.shift if self.shift in info else "nominal"].n_files
        if n_files <= 0:
            raise ColumnarTaskError(f"dataset '{self.dataset}' of config '{self.config}' has no "
                                    "files (set keys / n_files in the config)")
        return {i: i for i in range(n_files)}

    def workflow_requires(self) -> dict:
        # what the TAF needs (e.g. merged selection stats) must exist before any branch runs,
        # wherever the branches run
        reqs = super().workflow_requires()
        if self.run_taf_attr is not None:
            taf_reqs = getattr(self, self.run_taf_attr).run_requires(self)
            if taf_reqs:
                reqs["taf_reqs"] = taf_reqs
        reqs.update(self.pass_workflow_requires())
        return reqs

    def runs_in_main_process(self) -> bool:
        # a local workflow only requires its branches; a branch whose outputs exist (written by
        # another pass) has nothing to do
        if self.is_workflow():
            return self.workflow == "local"
        return not self.pass_members()

    @property
    def sandbox(self) -> str:
        if self.run_taf_attr is None:
            return law.NO_STR
        return getattr(self, self.run_taf_attr).required_sandbox or law.NO_STR

    @property
    def effective_chunk_size(self) -> int:
        return self.chunk_size or settings.chunk_size()

    def progress_callback(self, label: str):
        """A reader progress callback logging events done and events/s, and publishing law's
        progress percentage."""
        state = {"last": -1.0}

        def callback(done: int, total: int, elapsed: float) -> None:
            pct = 100.0 * done / total if total else 100.0
            if pct - state["last"] >= 10 or done >= total:
                state["last"] = pct
                rate = done / elapsed if elapsed > 0 else 0.0
                self.publish_message(f"{label}: {done}/{total} events ({pct:.0f}%), "
                                     f"{rate:,.0f} events/s")
                self.publish_progress(pct)

        return callback
