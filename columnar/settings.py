"""Settings read from law.cfg (section ``[columnar]``) and the environment.

- ``default_analysis``: import path ``module.attribute`` of the ``order.Analysis``
  (default ``columnar.demo.analysis.analysis_inst``)
- ``store``: root of the output store (default ``./store``); ``COLUMNAR_STORE`` overrides it;
  a URL (``root://host:1094//dir``, ``file:///dir``, any fsspec URL) makes it a remote store
  (see :mod:`columnar.store`)
- ``store_cache``: local cache of files read from a remote store (default
  ``~/.cache/columnar/store``); ``COLUMNAR_STORE_CACHE`` overrides it
- ``store_cache_max_mb`` (default 20000): size limit of that cache, least recently used files
  go first; ``store_retries`` (default 2) and ``store_retry_delay`` (seconds, default 2):
  retries of failed remote operations
- ``chunk_size``: events per chunk when reading columns (default 100000)
- ``merge_target_mb``: target size of merged reduced files in MB (default 256)
- ``workflow``: how the branches of the per-file steps run by default: ``local`` (default),
  ``slurm``, ``htcondor`` or ``dask``; ``COLUMNAR_WORKFLOW`` overrides it
- ``job_dir``: where batch job files and logs go (default ``<store>/jobs``, ``./store/jobs``
  for a remote store); ``COLUMNAR_JOB_DIR`` overrides it
- ``job_max_runtime`` (hours, default 2), ``job_memory`` (MB, default 2000),
  ``slurm_partition``, ``htcondor_universe`` (default vanilla): batch job defaults
- ``job_setup``: shell line that sets up the software on a batch node (default: activate the
  virtualenv law runs in)
- ``dask_scheduler``: address of a dask.distributed scheduler for ``--workflow dask``
  (``local`` or ``local:N`` starts a LocalCluster of N processes); ``DASK_SCHEDULER_ADDRESS``
  overrides it
"""

from __future__ import annotations

import os
import re

import law

SECTION = "columnar"


def _get(option: str, default: str) -> str:
    value = law.config.get_expanded(SECTION, option, default=default)
    return str(value) if value not in (None, "") else default


def default_analysis() -> str:
    return _get("default_analysis", "columnar.demo.analysis.analysis_inst")


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(path: str) -> bool:
    """Whether *path* has a scheme (``root://...``, ``file:///...``)."""
    return bool(_URL.match(str(path)))


def store_root() -> str:
    """Root of the store: ``$COLUMNAR_STORE``, else law.cfg ``store``, else ./store. A local
    path is returned absolute, a URL (``root://host//dir``, ``file:///dir``) unchanged."""
    env = os.environ.get("COLUMNAR_STORE")
    path = env if env else _get("store", "store")
    if "$" in path:  # an unset variable in law.cfg
        path = "store"
    if is_url(path):
        return path.rstrip("/") if not path.endswith(":///") else path
    return os.path.abspath(os.path.expanduser(path))


def store_is_remote(root: str | None = None) -> bool:
    """Whether the store (or *root*) is a URL, written and read through :mod:`columnar.store`
    (also ``file://`` URLs, which go through fsspec's local file system)."""
    return is_url(store_root() if root is None else root)


def local_store_root() -> str:
    """A local directory for files that must be local (e.g. a generated input campaign): the
    store root if it is a local path or a ``file://`` URL, else ./store."""
    root = store_root()
    if not is_url(root):
        return root
    if root.startswith("file://"):
        return os.path.abspath(root[len("file://"):])
    return os.path.abspath("store")


def _local_dir(env: str, option: str, default: str) -> str:
    """An absolute local directory: ``$<env>``, else law.cfg *option*, else *default*."""
    path = os.environ.get(env) or _get(option, "")
    if not path or "$" in path:  # unset, or an unset variable in law.cfg
        path = default
    return os.path.abspath(os.path.expanduser(path))


def store_cache_dir() -> str:
    """Local cache of files read from a remote store: ``$COLUMNAR_STORE_CACHE``, else law.cfg
    ``store_cache``, else ``<user cache dir>/columnar/store``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return _local_dir("COLUMNAR_STORE_CACHE", "store_cache", os.path.join(base, "columnar",
                                                                          "store"))


def store_cache_max_mb() -> float:
    return float(_get("store_cache_max_mb", "20000"))


def store_retries() -> int:
    return int(_get("store_retries", "2"))


def store_retry_delay() -> float:
    return float(_get("store_retry_delay", "2"))


def chunk_size() -> int:
    return int(_get("chunk_size", "100000"))


def merge_target_mb() -> float:
    return float(_get("merge_target_mb", "256"))


def default_workflow() -> str:
    return os.environ.get("COLUMNAR_WORKFLOW") or _get("workflow", "local")


def job_dir() -> str:
    """Local directory of batch job files and logs: ``$COLUMNAR_JOB_DIR``, else law.cfg
    ``job_dir``, else ``jobs`` in the local store directory."""
    return _local_dir("COLUMNAR_JOB_DIR", "job_dir", os.path.join(local_store_root(), "jobs"))


def job_max_runtime() -> float:
    return float(_get("job_max_runtime", "2"))


def job_memory() -> int:
    return int(_get("job_memory", "2000"))


def slurm_partition() -> str:
    return _get("slurm_partition", "")


def htcondor_universe() -> str:
    return _get("htcondor_universe", "vanilla")


def job_setup() -> str:
    return _get("job_setup", "")


def dask_scheduler() -> str:
    return os.environ.get("DASK_SCHEDULER_ADDRESS") or _get("dask_scheduler", "local")
