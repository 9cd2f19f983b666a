"""Helpers to run columnar tasks in-process on the small test campaign."""

from __future__ import annotations

import os
import sys
import types

import awkward as ak
import luigi
import order as od
import uproot

from columnar.io import read_nano

#: name under which the test analysis module is registered in sys.modules
TEST_ANALYSIS_MODULE = "columnar_test_analysis"
TEST_ANALYSIS = f"{TEST_ANALYSIS_MODULE}.analysis_inst"


def register_analysis(analysis: od.Analysis, module_name: str = TEST_ANALYSIS_MODULE) -> str:
    """Make *analysis* importable as ``<module_name>.analysis_inst`` (in this process)."""
    module = types.ModuleType(module_name)
    module.analysis_inst = analysis
    sys.modules[module_name] = module
    from columnar.tasks import base

    path = f"{module_name}.analysis_inst"
    base._analysis_cache.pop(path, None)
    return path


def run_task(task: luigi.Task, workers: int = 1) -> bool:
    """Run *task* and its requirements with the local scheduler; True on success.

    law remembers per process which workflows yielded their branches; forget it, so that
    every call behaves like a new ``law run``.
    """
    from law.util import mp_manager

    mp_manager.get("local_workflow_tasks_yielded", "dict").clear()
    return luigi.build([task], local_scheduler=True, workers=workers, log_level="WARNING")


def write_empty_nano(source: str, target: str) -> str:
    """Write a NanoAOD file with the branches and types of *source* and zero events."""
    events = read_nano(source, ["*"], entry_stop=0)
    branches = {field: events[field] for field in ak.fields(events)}
    with uproot.recreate(target) as f:
        f.mktree("Events", {k: v.type.content for k, v in branches.items()},
                 counter_name=lambda c: "n" + c, field_name=lambda o, f: o + "_" + f)
        f["Events"].extend(branches)
    return target


def store_files(root: str) -> dict[str, float]:
    """All files below *root* with their modification times."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            out[path] = os.stat(path).st_mtime_ns
    return out


def make_task(cls_name: str, analysis: str, chunk_size: int | None = None, **kwargs):
    """An instance of the task ``cf.<cls_name>`` of *analysis* (version v1 unless given)."""
    import columnar.tasks.histograms  # noqa: F401 (imports all task modules up to here)
    import columnar.tasks.plotting  # noqa: F401
    from columnar.tasks.base import AnalysisTask

    cls = AnalysisTask.get_task_cls(f"cf.{cls_name}")
    if chunk_size and "chunk_size" in dict(cls.get_params()):
        kwargs.setdefault("chunk_size", chunk_size)
    kwargs.setdefault("version", "v1")
    return cls(analysis=analysis, **kwargs)
