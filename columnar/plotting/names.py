"""File names of plots that say what a plot shows (no matplotlib needed)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

__all__ = ["plot_file_name"]


def _name(obj: Any) -> str:
    if isinstance(obj, (list, tuple)):
        return "-".join(_name(o) for o in obj)
    return str(getattr(obj, "name", obj))


def _join(names: Sequence[Any], max_len: int = 40) -> str:
    """Names joined with "_", shortened to ``<n>_<hash>`` when longer than *max_len*."""
    joined = "_".join(_name(n) for n in names)
    if len(joined) > max_len:
        joined = f"{len(names)}_{hashlib.sha1(joined.encode()).hexdigest()[:10]}"
    return joined


def plot_file_name(
    kind: str,
    variable: Any,
    category: Any,
    processes: Sequence[Any],
    shift_sources: Sequence[Any] = (),
    ext: str = "png",
) -> str:
    """A file name saying what a plot shows, e.g.
    ``plot__ht__cat_4j1b__proc_data_tt_wjets_dy__unc_jec_btag.png``; names or order objects are
    accepted, a pair of variables becomes ``ht-met``, long lists become ``<n>_<hash>``."""
    parts = [kind, _name(variable), f"cat_{_name(category)}", f"proc_{_join(processes)}"]
    if shift_sources:
        parts.append(f"unc_{_join(shift_sources)}")
    return "__".join(parts) + "." + ext.lstrip(".")
