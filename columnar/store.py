"""A remote store through law's remote targets on top of fsspec.

When the store root (law.cfg ``[columnar] store`` or ``$COLUMNAR_STORE``) is a URL, every task
output is a :class:`StoreFileTarget` of a :class:`FsspecFileSystem`, so that any location fsspec
can reach works as the store::

    root://eos.example.org:1094//eos/user/a/alice/store   (XRootD, through fsspec-xrootd)
    file:///data/store                                     (fsspec's local file system)
    webdav://... , s3://... , ...                          (if the fsspec backend is installed)

Layout of the pieces (as law's gfal/wlcg contribs do it):

- :class:`FsspecFileInterface`: the atomic operations (stat, listdir, mkdir, copy, ...) on
  paths relative to the store root, each retried on transient failures (law's retry decorator;
  ``[columnar] store_retries``, ``store_retry_delay``).
- :class:`FsspecFileSystem`: law's remote file system with its local read cache enabled (law.cfg
  ``[columnar] store_cache``, ``store_cache_max_mb``): a file a task reads is fetched once and
  read from the cache as long as its modification time at the remote location does not change;
  a file a task writes is also put into the cache, so the next task reads it locally.
- :class:`StoreFileTarget` / :class:`StoreDirectoryTarget`: the targets.

Uploads are atomic: a file is copied to a hidden temporary name next to its destination and
renamed, so a failed or interrupted copy leaves no partial file under the final name.

The helpers tasks use to read and write either kind of target are in
:mod:`columnar.tasks.targets` (which does not import this module for a local store).
"""

from __future__ import annotations

import datetime
import os
import shutil
import stat as _stat
import threading
import uuid
from typing import Any

import fsspec.core
from fsspec.dircache import DirCache
from law.logger import get_logger
from law.target.file import get_scheme, remove_scheme
from law.target.remote import (
    RemoteDirectoryTarget,
    RemoteFileInterface,
    RemoteFileSystem,
    RemoteFileTarget,
    RemoteTarget,
)
from law.target.remote.interface import RetryException

from columnar import settings

logger = get_logger(__name__)

#: bytes per block when a backend has no put/get/copy of its own and files are streamed
STREAM_BLOCK = 8 * 1024 ** 2


def _is_not_found(exc: BaseException) -> bool:
    """Whether *exc* says that a path does not exist (as far as its type or message tell)."""
    if isinstance(exc, FileNotFoundError):
        return True
    msg = str(exc).lower()
    return "no such file" in msg or "not found" in msg or "[3011]" in msg


def _to_timestamp(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def stat_from_info(info: dict) -> os.stat_result:
    """An ``os.stat_result`` (st_mode, st_size, st_mtime, ...) from an fsspec info dict."""
    is_dir = info.get("type") == "directory"
    mode = info.get("mode")
    perm = _stat.S_IMODE(mode) if isinstance(mode, int) else (0o755 if is_dir else 0o644)
    mode = perm | (_stat.S_IFDIR if is_dir else _stat.S_IFREG)
    size = int(info.get("size") or 0)
    mtime = 0.0
    for key in ("mtime", "modified", "last_modified", "LastModified", "updated", "created"):
        ts = _to_timestamp(info.get(key))
        if ts is not None:
            mtime = ts
            break
    return os.stat_result((mode, 0, 0, 1, 0, 0, size, mtime, mtime, mtime))


class FsspecFileInterface(RemoteFileInterface):
    """law's remote file interface on top of an fsspec file system.

    Paths are relative to a base URL (the store root); a path with the ``file`` scheme is a
    local file (the other end of a copy). fsspec file systems are created per process and base
    (``fsspec.core.url_to_fs``), with fsspec's listing cache disabled: law decides what to
    cache, and stale listings would hide files written by other processes.
    """

    def __init__(self, base: str | list[str], storage_options: dict | None = None,
                 **kwargs: Any) -> None:
        super().__init__(base=base, **kwargs)
        self.storage_options = dict(storage_options or {})
        self._fs_cache: dict[tuple[int, str], tuple[Any, str]] = {}
        self._lock = threading.Lock()

    # -- fsspec file systems and paths ---------------------------------------------------------

    def _fs_root(self, url: str) -> tuple[Any, str]:
        """The fsspec file system of *url* and the path of *url* in it (one per process)."""
        key = (os.getpid(), url)
        with self._lock:
            if key not in self._fs_cache:
                fs, root = fsspec.core.url_to_fs(url, skip_instance_cache=True,
                                                 **self.storage_options)
                if isinstance(getattr(fs, "dircache", None), DirCache):
                    fs.dircache = DirCache(use_listings_cache=False)
                self._fs_cache[key] = (fs, root.rstrip("/"))
            return self._fs_cache[key]

    def fs_path(self, path: str, base: str | None = None) -> tuple[Any, str]:
        """The fsspec file system and the path in it of *path*: relative to *base* (default:
        the first base), or a full URL (law passes those, e.g. for copies between targets)."""
        path = str(path)
        if get_scheme(path):
            for b in self.base:
                if path == b or path.startswith(b.rstrip("/") + "/"):
                    base, path = b, path[len(b.rstrip("/")):]
                    break
            else:
                fs, p = fsspec.core.url_to_fs(path, **self.storage_options)
                return fs, p.rstrip("/")
        fs, root = self._fs_root(base or self.get_base())
        return fs, f"{root}/{path.lstrip('/')}"

    @staticmethod
    def _invalidate(fs: Any, *paths: str) -> None:
        for path in paths:
            try:
                fs.invalidate_cache(path)
            except Exception:  # noqa: BLE001 (only a cache)
                pass

    def _missing(self, fs: Any, path: str, exc: BaseException) -> bool:
        """After *exc* from an operation on *path*: does *path* not exist? Raises
        :class:`RetryException` when that cannot be told (a transient failure)."""
        if isinstance(exc, FileNotFoundError):
            return True
        try:
            return not fs.exists(path)
        except Exception as e:  # noqa: BLE001
            if _is_not_found(e):
                return True
            raise RetryException(exc=(type(exc), exc, exc.__traceback__)) from exc

    def _info(self, path: str, base: str | None) -> dict | None:
        """fsspec info of *path*, None when it does not exist."""
        fs, p = self.fs_path(path, base)
        try:
            return fs.info(p)
        except Exception as e:  # noqa: BLE001
            if self._missing(fs, p, e):
                return None
            raise RetryException() from e

    # -- law's interface -----------------------------------------------------------------------

    @RemoteFileInterface.retry(uri_base_name="stat")
    def exists(self, path, base=None, stat=False, **kwargs):
        info = self._info(path, base)
        if info is None:
            return None if stat else False
        return stat_from_info(info) if stat else True

    @RemoteFileInterface.retry(uri_base_name="stat")
    def stat(self, path, base=None, **kwargs):
        info = self._info(path, base)
        if info is None:
            raise FileNotFoundError(f"no such file or directory: {self.uri(path, base=base)}")
        return stat_from_info(info)

    def isdir(self, path, stat=None, base=None, **kwargs):
        if stat is None:
            stat = self.exists(path, stat=True, base=base)
        return bool(stat) and _stat.S_ISDIR(stat.st_mode)

    def isfile(self, path, stat=None, base=None, **kwargs):
        if stat is None:
            stat = self.exists(path, stat=True, base=base)
        return bool(stat) and not _stat.S_ISDIR(stat.st_mode)

    def chmod(self, path, perm, base=None, silent=False, **kwargs):
        # permissions are the remote storage's business
        return True

    def _remove_one(self, path, base, silent: bool, method: str, what: str) -> bool:
        fs, p = self.fs_path(path, base)
        try:
            getattr(fs, method)(p)
        except Exception as e:  # noqa: BLE001
            if self._missing(fs, p, e):
                if silent:
                    return False
                raise FileNotFoundError(f"cannot remove missing {what} {p}") from e
            raise RetryException() from e
        finally:
            self._invalidate(fs, p)
        return True

    @RemoteFileInterface.retry(uri_base_name="unlink")
    def unlink(self, path, base=None, silent=True, **kwargs):
        return self._remove_one(path, base, silent, "rm_file", "file")

    @RemoteFileInterface.retry(uri_base_name="rmdir")
    def rmdir(self, path, base=None, silent=True, **kwargs):
        return self._remove_one(path, base, silent, "rmdir", "directory")

    def _remove_tree(self, fs: Any, path: str) -> None:
        # files one by one, then the directory (fsspec's recursive rm is not reliable for all
        # backends, e.g. it unlinks directories on XRootD)
        for entry in fs.ls(path, detail=True):
            name = entry["name"].rstrip("/")
            if entry.get("type") == "directory":
                self._remove_tree(fs, name)
            else:
                fs.rm_file(name)
        fs.rmdir(path)

    @RemoteFileInterface.retry(uri_base_name="unlink")
    def remove(self, path, base=None, silent=True, **kwargs):
        info = self._info(path, base)
        fs, p = self.fs_path(path, base)
        if info is None:
            if silent:
                return False
            raise FileNotFoundError(f"cannot remove missing path {p}")
        try:
            if info.get("type") == "directory":
                self._remove_tree(fs, p)
            else:
                fs.rm_file(p)
        except Exception as e:  # noqa: BLE001
            raise RetryException() from e
        finally:
            self._invalidate(fs, p)
        return True

    @RemoteFileInterface.retry(uri_base_name="mkdir")
    def mkdir(self, path, perm, base=None, silent=True, **kwargs):
        info = self._info(path, base)
        fs, p = self.fs_path(path, base)
        if info is not None:
            if silent and info.get("type") == "directory":
                return False
            raise FileExistsError(f"cannot create directory {p}: it exists")
        try:
            fs.mkdir(p, create_parents=False)
        except Exception as e:  # noqa: BLE001
            raise RetryException() from e
        return True

    @RemoteFileInterface.retry(uri_base_name=["mkdir_rec", "mkdir"])
    def mkdir_rec(self, path, perm, base=None, silent=True, **kwargs):
        fs, p = self.fs_path(path, base)
        try:
            fs.makedirs(p, exist_ok=True)
        except Exception as e:  # noqa: BLE001
            raise RetryException() from e
        return True

    def _listdir(self, path, base=None, missing_ok=False, detail=False):
        fs, p = self.fs_path(path, base)
        try:
            entries = fs.ls(p, detail=True)
        except Exception as e:  # noqa: BLE001
            if self._missing(fs, p, e):
                if missing_ok:
                    return {} if detail else []
                raise FileNotFoundError(f"no such directory: {p}") from e
            raise RetryException() from e
        names = [os.path.basename(entry["name"].rstrip("/")) for entry in entries]
        if detail:
            return {name: stat_from_info(entry) for name, entry in zip(names, entries)}
        return names

    @RemoteFileInterface.retry(uri_base_name="listdir")
    def listdir(self, path, base=None, missing_ok=False, **kwargs):
        """Names in the directory *path*; with *missing_ok*, an empty list when it does not
        exist (one request instead of a stat and a listing)."""
        return self._listdir(path, base=base, missing_ok=missing_ok)

    @RemoteFileInterface.retry(uri_base_name="listdir")
    def listdir_stat(self, path, base=None, missing_ok=False, **kwargs):
        """``{name: stat}`` of the directory *path*, from one listing."""
        return self._listdir(path, base=base, missing_ok=missing_ok, detail=True)

    # -- copies --------------------------------------------------------------------------------

    @staticmethod
    def _stream(fsrc: Any, fdst: Any) -> None:
        shutil.copyfileobj(fsrc, fdst, STREAM_BLOCK)

    def _upload(self, lpath: str, fs: Any, rpath: str) -> None:
        """Copy the local file *lpath* to *rpath* atomically (temporary name + rename)."""
        directory, name = rpath.rsplit("/", 1)
        tmp = f"{directory}/.{name}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            try:
                fs.put_file(lpath, tmp)
            except NotImplementedError:
                with open(lpath, "rb") as fsrc, fs.open(tmp, "wb") as fdst:
                    self._stream(fsrc, fdst)
            self._rename(fs, tmp, rpath)
        except BaseException:
            try:
                fs.rm_file(tmp)
            except Exception:  # noqa: BLE001 (it may not exist)
                pass
            raise
        finally:
            self._invalidate(fs, tmp, rpath)

    def _rename(self, fs: Any, src: str, dst: str) -> None:
        try:
            fs.mv(src, dst)
        except NotImplementedError:
            self._remote_copy(fs, src, fs, dst)
            fs.rm_file(src)
        except OSError:
            # some servers do not rename onto an existing file
            if not fs.exists(dst):
                raise
            fs.rm_file(dst)
            fs.mv(src, dst)

    def _download(self, fs: Any, rpath: str, lpath: str) -> None:
        """Copy *rpath* to the local file *lpath* atomically."""
        os.makedirs(os.path.dirname(lpath) or ".", exist_ok=True)
        tmp = os.path.join(os.path.dirname(lpath), f".{os.path.basename(lpath)}."
                                                   f"{uuid.uuid4().hex[:12]}.tmp")
        try:
            try:
                fs.get_file(rpath, tmp)
            except NotImplementedError:
                with fs.open(rpath, "rb") as fsrc, open(tmp, "wb") as fdst:
                    self._stream(fsrc, fdst)
            os.replace(tmp, lpath)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def _remote_copy(self, fs_src: Any, src: str, fs_dst: Any, dst: str) -> None:
        if fs_src is fs_dst:
            try:
                fs_src.copy(src, dst)
                return
            except NotImplementedError:
                pass
        with fs_src.open(src, "rb") as fsrc, fs_dst.open(dst, "wb") as fdst:
            self._stream(fsrc, fdst)

    def _endpoint(self, path: str, base: str | None) -> tuple[str, Any, str]:
        """(kind, fs, path) of a copy end: ``local`` (file scheme) or ``remote``."""
        if get_scheme(path) == "file":
            return "local", None, os.path.abspath(remove_scheme(path))
        fs, p = self.fs_path(path, base)
        return "remote", fs, p

    def _uri(self, path: str, base: str | None) -> str:
        scheme = get_scheme(path)
        if scheme:
            return str(path)
        return self.uri(path, base=base)

    @RemoteFileInterface.retry(uri_base_name="filecopy")
    def filecopy(self, src, dst, base=None, **kwargs):
        src_kind, src_fs, src_path = self._endpoint(src, base)
        dst_kind, dst_fs, dst_path = self._endpoint(dst, base)
        try:
            if src_kind == "local" and dst_kind == "local":
                shutil.copyfile(src_path, dst_path)
            elif src_kind == "local":
                self._upload(src_path, dst_fs, dst_path)
            elif dst_kind == "local":
                self._download(src_fs, src_path, dst_path)
            else:
                directory, name = dst_path.rsplit("/", 1)
                tmp = f"{directory}/.{name}.{uuid.uuid4().hex[:12]}.tmp"
                self._remote_copy(src_fs, src_path, dst_fs, tmp)
                self._rename(dst_fs, tmp, dst_path)
        except Exception as e:  # noqa: BLE001
            if src_kind == "remote" and self._missing(src_fs, src_path, e):
                raise FileNotFoundError(f"cannot copy missing file {self._uri(src, base)}") \
                    from e
            if src_kind == "local" and not os.path.exists(src_path):
                raise
            raise RetryException() from e
        return self._uri(src, base), self._uri(dst, base)


class FsspecFileSystem(RemoteFileSystem):
    """law's remote file system on an fsspec URL, with law's local cache of what is read.

    :param base: the root URL
    :param cache_root: directory of the local cache (None: no cache)
    :param cache_max_size: size limit of the cache in MB (0: 90% of the free disk space)
    :param storage_options: keyword arguments of the fsspec file system
    """

    file_interface_cls = FsspecFileInterface

    def __init__(self, base: str, cache_root: str | None = None, cache_max_size: float = 0,
                 retries: int = 2, retry_delay: float = 2.0,
                 storage_options: dict | None = None, **kwargs: Any) -> None:
        file_interface = self.file_interface_cls(base=base, retries=retries,
                                                 retry_delay=retry_delay, random_base=False,
                                                 storage_options=storage_options)
        cache_config = None
        if cache_root:
            cache_config = {
                "root": cache_root,
                "cleanup": False,
                "max_size": cache_max_size,
                "mtime_patience": 1.0,
                # a file being fetched by another process: poll often, give up after ~2 min
                # without progress
                "wait_delay": 0.2,
                "max_waits": 600,
            }
        kwargs.setdefault("name", "columnar_store")
        kwargs["has_permissions"] = False
        super().__init__(file_interface, use_cache=bool(cache_root), cache_config=cache_config,
                         **kwargs)

    def listdir_stat(self, path: str, missing_ok: bool = False) -> dict[str, os.stat_result]:
        """``{name: stat}`` of a directory from one listing."""
        return self.file_interface.listdir_stat(self.abspath(path), missing_ok=missing_ok)

    def listdir_if_exists(self, path: str) -> list[str]:
        """Names in a directory, empty when it does not exist; one request."""
        return self.file_interface.listdir(self.abspath(path), missing_ok=True)


class StoreTarget(RemoteTarget):
    """A target in the remote store (default file system: that of the store root)."""

    def __init__(self, path: str, fs: FsspecFileSystem | None = None, **kwargs: Any) -> None:
        RemoteTarget.__init__(self, path, fs if fs is not None else store_file_system(),
                              **kwargs)


class StoreFileTarget(StoreTarget, RemoteFileTarget):
    pass


class StoreDirectoryTarget(StoreTarget, RemoteDirectoryTarget):
    pass


StoreTarget.file_class = StoreFileTarget
StoreTarget.directory_class = StoreDirectoryTarget

_file_systems: dict[tuple, FsspecFileSystem] = {}
_file_systems_lock = threading.Lock()


def store_file_system(root: str | None = None) -> FsspecFileSystem:
    """The (shared) file system of the store root *root* (default: the configured one), with
    the configured cache and retries."""
    root = settings.store_root() if root is None else root
    key = (root, settings.store_cache_dir(), settings.store_cache_max_mb(),
           settings.store_retries(), settings.store_retry_delay())
    with _file_systems_lock:
        if key not in _file_systems:
            _file_systems[key] = FsspecFileSystem(
                root, cache_root=key[1], cache_max_size=key[2], retries=key[3],
                retry_delay=key[4])
        return _file_systems[key]


def store_target(root: str, path: str, dir: bool = False) -> StoreFileTarget:
    """A file (or directory) target at *path* (relative to the store root *root*)."""
    cls = StoreDirectoryTarget if dir else StoreFileTarget
    return cls("/" + path.lstrip("/"), store_file_system(root))


__all__ = ["FsspecFileInterface", "FsspecFileSystem", "StoreTarget", "StoreFileTarget",
           "StoreDirectoryTarget", "store_file_system", "store_target", "stat_from_info"]
