"""Reading and writing task outputs that are local files or files in a remote store.

Task ``run()`` methods use these helpers instead of ``target.path``, so that they work with
both kinds of targets (:meth:`columnar.tasks.base.AnalysisTask.local_target` returns a
``law.LocalFileTarget`` for a local store and a :class:`columnar.store.StoreFileTarget` for a
remote one). For local targets they cost nothing: the path is the target's path.

- :func:`localized_input` / :func:`localized_inputs`: local path(s) to read a target from
  (remote: fetched once into the local cache of the store, then read from there)
- :func:`localized_output`: local path to write a target to; a remote target is copied to its
  location only when the block succeeds (local targets: writers such as ``ParquetWriter`` are
  atomic by themselves)
- :func:`load_pickle` / :func:`dump_pickle`
- :func:`file_sizes`: sizes of the files in a directory target from one listing
- :class:`SiblingCollection`: law's sibling file collection, whose existence check is one
  listing per directory also for a remote directory that may not exist yet
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Iterable, Iterator
from typing import Any

import law

from columnar.io import atomic_path


def is_remote(target: Any) -> bool:
    """Whether *target* is in a remote store (not a plain local file or directory)."""
    return not isinstance(target, law.LocalTarget) and isinstance(target, law.FileSystemTarget)


@contextlib.contextmanager
def localized_input(target: law.FileSystemFileTarget) -> Iterator[str]:
    """A local path from which *target* can be read."""
    if not is_remote(target):
        yield target.path
        return
    with target.localize("r") as local:
        yield local.path


@contextlib.contextmanager
def localized_inputs(targets: Iterable[law.FileSystemFileTarget]) -> Iterator[list[str]]:
    """Local paths of several targets (see :func:`localized_input`)."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(localized_input(t)) for t in targets]


@contextlib.contextmanager
def localized_output(target: law.FileSystemFileTarget) -> Iterator[str]:
    """A local path to write *target* to. Local: the target's path (the writer must be atomic,
    as ``ParquetWriter``, ``dump_pickle`` and ``save_figure`` are). Remote: a local temporary
    file, copied to the target's location only if the block raises no exception."""
    if not is_remote(target):
        yield target.path
        return
    with target.localize("w") as local:
        yield local.path


def dump_pickle(obj: Any, path: str) -> None:
    """Pickle *obj* to the local file *path* atomically."""
    tmp = atomic_path(path)
    try:
        with open(tmp, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def dump_pickle_target(obj: Any, target: law.FileSystemFileTarget) -> None:
    """Pickle *obj* to *target* (local or remote) atomically."""
    with localized_output(target) as path:
        dump_pickle(obj, path)


def load_pickle(target: law.FileSystemFileTarget) -> Any:
    """Unpickle the content of *target* (local or remote)."""
    with localized_input(target) as path, open(path, "rb") as f:
        return pickle.load(f)


def file_sizes(directory: law.FileSystemDirectoryTarget) -> dict[str, int]:
    """``{name: size in bytes}`` of the entries of *directory*, from one listing."""
    if not is_remote(directory):
        return {entry.name: entry.stat().st_size for entry in os.scandir(directory.path)}
    return {name: st.st_size for name, st in directory.fs.listdir_stat(directory.path).items()}


class SiblingCollection(law.SiblingFileCollection):
    """law's :class:`~law.SiblingFileCollection` (existence of all files from one listing of
    their directory); for a remote directory, the listing tells also whether the directory
    exists, instead of a separate request."""

    def _iter_state(self, existing=True, **kwargs):
        if (existing is not None and kwargs.get("exists_func") is None
                and kwargs.get("basenames") is None and is_remote(self.dir)
                and hasattr(self.dir.fs, "listdir_if_exists")):
            kwargs["basenames"] = self.dir.fs.listdir_if_exists(self.dir.path)
        return super()._iter_state(existing=existing, **kwargs)


__all__ = ["is_remote", "localized_input", "localized_inputs", "localized_output",
           "dump_pickle", "dump_pickle_target", "load_pickle", "file_sizes",
           "SiblingCollection"]
