"""Settings read from law.cfg (section ``[columnar]``) and the environment.

- ``default_analysis``: import path ``module.attribute`` of the ``order.Analysis``
  (default ``columnar.demo.analysis.analysis_inst``)
- ``store``: root of the output store (default ``./store``); ``COLUMNAR_STORE`` overrides it
- ``chunk_size``: events per chunk when reading columns (default 100000)
- ``merge_target_mb``: target size of merged reduced files in MB (default 256)
"""

from __future__ import annotations

import os

import law

SECTION = "columnar"


def _get(option: str, default: str) -> str:
    value = law.config.get_expanded(SECTION, option, default=default)
    return str(value) if value not in (None, "") else default


def default_analysis() -> str:
    return _get("default_analysis", "columnar.demo.analysis.analysis_inst")


def store_root() -> str:
    """Absolute path of the store: ``$COLUMNAR_STORE``, else law.cfg ``store``, else ./store."""
    env = os.environ.get("COLUMNAR_STORE")
    path = env if env else _get("store", "store")
    if "$" in path:  # an unset variable in law.cfg
        path = "store"
    return os.path.abspath(os.path.expanduser(path))


def chunk_size() -> int:
    return int(_get("chunk_size", "100000"))


def merge_target_mb() -> float:
    return float(_get("merge_target_mb", "256"))
