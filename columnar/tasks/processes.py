"""Where luigi runs tasks when ``--workers > 1``.

luigi forks one process per task. A fork of the main process costs tens of milliseconds, and a
forked process imports again every module its task imports lazily (vector's compute functions,
``numpy.ma``, matplotlib, ...). So:

- tasks whose run is bookkeeping (workflows, merges of statistics or histograms, branches whose
  outputs the pass of another branch wrote) run in the main process, without a fork
  (:meth:`AnalysisTask.runs_in_main_process`);
- before the first fork for a task, the main process imports what that task will need
  (:attr:`AnalysisTask.preload_modules`), so that every later task process inherits it.

:func:`install` adds both to luigi's worker; it is called when :mod:`columnar.tasks` is
imported, as is :func:`start_law_manager`.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import pkgutil

import law
import luigi.worker

logger = logging.getLogger("columnar.tasks")

_preloaded: set[str] = set()


def preload(names: tuple[str, ...] | list[str]) -> None:
    """Import the modules *names* (``package.*``: all modules of the package) once."""
    for name in names:
        if name in _preloaded:
            continue
        _preloaded.add(name)
        try:
            if name.endswith(".*"):
                package = importlib.import_module(name[:-2])
                for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
                    importlib.import_module(info.name)
            else:
                importlib.import_module(name)
        except ImportError as e:  # an optional module: the task imports (or fails) itself
            logger.debug(f"cannot preload {name}: {e}")


def _create_task_process(self, task):
    process = _original_create_task_process(self, task)
    if process.use_multiprocessing:
        if getattr(task, "runs_in_main_process", lambda: False)():
            process.use_multiprocessing = False
        else:
            preload(getattr(task, "preload_modules", ()))
    return process


_original_create_task_process = luigi.worker.Worker._create_task_process


def start_law_manager() -> None:
    """Start law's multiprocessing manager (a server process holding the state of local
    workflows that yield their branches) now, while this process is small.

    law starts it on first use by forking the current process; in the middle of a run that is
    a copy of a process of hundreds of MB, whose pages count again in the memory of the run.
    Only in a main process (``law run``, a job, a test session), not in the worker processes
    of a pool (e.g. dask's), which run single branches.
    """
    if multiprocessing.parent_process() is not None or multiprocessing.current_process().daemon:
        return
    law.util.mp_manager.get("local_workflow_tasks_yielded", "dict")


def install() -> None:
    """Patch :class:`luigi.worker.Worker` (once)."""
    if luigi.worker.Worker._create_task_process is not _create_task_process:
        luigi.worker.Worker._create_task_process = _create_task_process
