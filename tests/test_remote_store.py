"""The store root as a remote location (columnar.store): the chain on the small campaign with the
store at a ``file://`` URL (the remote code path through fsspec's local file system) and, if an
XRootD server can be started, at a ``root://`` URL; both compared with a plain local store."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess

import awkward as ak
import law
import luigi
import numpy as np
import pytest

from columnar.columns import set_ak_column
from columnar.producers import producer
from columnar.tasks.targets import load_pickle
from tests.taskutil import make_task, run_task, store_files

CHUNK = 1000
DATASETS = ("tt", "data")
VARIABLES = ("ht", "n_jet")
XROOTD_SCRIPT = os.path.join(os.path.dirname(__file__), "services", "xrootd.sh")

#: calls of the failing producer (fails from its second chunk on)
_failing_calls = {"n": 0}


@producer(uses={"Jet.pt"}, produces={"remote_fail_col"})
def remote_store_failing(self, events, **kwargs):
    """Writes its first chunk, then fails."""
    _failing_calls["n"] += 1
    if _failing_calls["n"] > 1:
        raise RuntimeError("failing on purpose after the first chunk")
    return set_ak_column(events, "remote_fail_col", ak.num(events.Jet.pt, axis=1))


def task(name: str, analysis: str, **kwargs):
    return make_task(name, analysis, chunk_size=CHUNK, **kwargs)


@contextlib.contextmanager
def store_env(root: str, cache: str | None = None):
    """COLUMNAR_STORE (and COLUMNAR_STORE_CACHE) set to *root* (and *cache*) in the block."""
    names = ("COLUMNAR_STORE", "COLUMNAR_STORE_CACHE")
    old = {n: os.environ.get(n) for n in names}
    os.environ["COLUMNAR_STORE"] = root
    if cache:
        os.environ["COLUMNAR_STORE_CACHE"] = cache
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def record_runs():
    """Task ids of the columnar tasks that start running in the block."""
    started: list[str] = []

    def on_start(t):
        started.append(t.task_id)

    from columnar.tasks.base import AnalysisTask

    AnalysisTask.event_handler(luigi.Event.START)(on_start)
    try:
        yield started
    finally:
        AnalysisTask._event_callbacks[AnalysisTask][luigi.Event.START].discard(on_start)


def chain_tasks(analysis: str, datasets=DATASETS) -> dict:
    return {d: task("MergeHistograms", analysis, dataset=d, variables=VARIABLES)
            for d in datasets}


def load_hists(tasks: dict) -> dict:
    return {d: {v: load_pickle(t.output()[v]) for v in VARIABLES} for d, t in tasks.items()}


def assert_hists_equal(got: dict, expected: dict) -> None:
    for d, per_var in got.items():
        for v, h in per_var.items():
            e = expected[d][v]
            assert [list(ax) for ax in h.axes[:3]] == [list(ax) for ax in e.axes[:3]], (d, v)
            np.testing.assert_array_equal(h.values(flow=True), e.values(flow=True),
                                          err_msg=f"{d} {v}")
            np.testing.assert_array_equal(h.variances(flow=True), e.variances(flow=True),
                                          err_msg=f"{d} {v}")


def stray_files(directory: str) -> list[str]:
    """Temporary files left below *directory*."""
    return [p for p in store_files(directory) if os.path.basename(p).startswith(".")
            or p.endswith(".tmp")]


@pytest.fixture(scope="module")
def dirs(tmp_path_factory) -> dict[str, str]:
    return {name: str(tmp_path_factory.mktemp(name))
            for name in ("local_store", "remote_store", "store_cache")}


@pytest.fixture(scope="module")
def local_hists(analysis, dirs) -> dict:
    """Merged histograms of a run with a plain local store."""
    with store_env(dirs["local_store"]):
        tasks = chain_tasks(analysis)
        for t in tasks.values():
            assert run_task(t)
        assert isinstance(tasks["tt"].output()["ht"], law.LocalFileTarget)
        return load_hists(tasks)


@pytest.fixture(scope="module")
def remote(analysis, dirs, local_hists) -> dict:
    """The chain (and a plot) run with the store at a file:// URL."""
    url = "file://" + dirs["remote_store"]
    with store_env(url, dirs["store_cache"]):
        tasks = chain_tasks(analysis)
        plot = task("PlotVariables1D", analysis, datasets=DATASETS, variables=("ht",),
                    categories=("incl",), file_types=("png",))
        for t in [*tasks.values(), plot]:
            assert run_task(t)
    return {"url": url, "tasks": tasks, "plot": plot}


def test_store_root_local_or_url(dirs):
    from columnar import settings

    with store_env("root://host.example:1094//store/dir/"):
        assert settings.store_root() == "root://host.example:1094//store/dir"
        assert settings.store_is_remote()
        assert settings.local_store_root() == os.path.abspath("store")
    with store_env("file://" + dirs["remote_store"]):
        assert settings.store_is_remote()
        assert settings.local_store_root() == dirs["remote_store"]
    with store_env("some/relative/dir"):
        assert settings.store_root() == os.path.abspath("some/relative/dir")
        assert not settings.store_is_remote()
    with store_env(dirs["local_store"], "~/some_cache"):
        assert settings.store_cache_dir() == os.path.expanduser("~/some_cache")


def test_remote_histograms_equal_local(remote, local_hists, analysis, dirs):
    from columnar.store import StoreFileTarget

    with store_env(remote["url"], dirs["store_cache"]):
        target = remote["tasks"]["tt"].output()["ht"]
        assert isinstance(target, StoreFileTarget)
        assert target.uri() == remote["url"] + "/" + remote["tasks"]["tt"].store_relpath(
            "hist_ht.pickle")
        assert_hists_equal(load_hists(remote["tasks"]), local_hists)


def test_outputs_at_remote_location(remote, dirs):
    rel = remote["tasks"]["tt"].store_relpath("hist_ht.pickle")
    assert os.path.isfile(os.path.join(dirs["remote_store"], rel))
    with store_env(remote["url"], dirs["store_cache"]):
        plots = law.util.flatten(remote["plot"].output())
        assert plots and all(t.exists() for t in plots)
    for plot in plots:
        with open(os.path.join(dirs["remote_store"], plot.path.lstrip("/")), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    families = {os.path.relpath(p, dirs["remote_store"]).split(os.sep)[1]
                for p in store_files(dirs["remote_store"])}
    assert {"cf.GetDatasetLFNs", "cf.CalibrateEvents", "cf.SelectEvents",
            "cf.MergeSelectionStats", "cf.ReduceEvents", "cf.MergeReductionStats",
            "cf.MergeReducedEvents", "cf.ProduceColumns", "cf.CreateHistograms",
            "cf.MergeHistograms", "cf.PlotVariables1D"} <= families
    assert not stray_files(dirs["remote_store"])


def test_second_run_is_a_noop(remote, dirs):
    before = store_files(dirs["remote_store"])
    with store_env(remote["url"], dirs["store_cache"]), record_runs() as started:
        for t in [*remote["tasks"].values(), remote["plot"]]:
            assert run_task(t)
    assert started == []
    assert store_files(dirs["remote_store"]) == before


def test_read_cache_used(remote, dirs, monkeypatch):
    from columnar.store import FsspecFileInterface

    cached = glob.glob(os.path.join(dirs["store_cache"], "FsspecFileSystem_*", "*"))
    names = {os.path.basename(p).split("_", 1)[1] for p in cached}
    assert {"events_0.parquet", "hist_ht.pickle", "stats.json"} <= names
    # reading an output again is served by the cache: a stat, no copy
    calls = {"filecopy": 0}
    original = FsspecFileInterface.filecopy

    def counting(self, *args, **kwargs):
        calls["filecopy"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FsspecFileInterface, "filecopy", counting)
    with store_env(remote["url"], dirs["store_cache"]):
        h = load_pickle(remote["tasks"]["tt"].output()["ht"])
    assert h.sum(flow=True).value > 0
    assert calls["filecopy"] == 0


@pytest.mark.parametrize("family", ["SelectEvents", "ReduceEvents", "CreateHistograms"])
def test_workflow_existence_is_one_listing(remote, dirs, analysis, family, monkeypatch):
    from columnar.store import FsspecFileInterface

    calls = {"listdir": 0, "stat": 0, "exists": 0}
    for name in calls:
        original = getattr(FsspecFileInterface, name)

        def counting(self, *args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(FsspecFileInterface, name, counting)
    with store_env(remote["url"], dirs["store_cache"]):
        kwargs = {"variables": VARIABLES} if family == "CreateHistograms" else {}
        workflow = task(family, analysis, dataset="tt", **kwargs)
        assert workflow.is_workflow()
        collection = workflow.output()["collection"]
        assert len(law.util.flatten(collection.targets)) >= 2  # files to check
        calls.update(listdir=0, stat=0, exists=0)
        assert workflow.complete()
    assert calls == {"listdir": 1, "stat": 0, "exists": 0}


def test_failing_task_leaves_no_partial_output(remote, dirs, analysis):
    _failing_calls["n"] = 0
    with store_env(remote["url"], dirs["store_cache"]):
        t = make_task("ProduceColumns", analysis, chunk_size=50, dataset="tt",
                      producer="remote_store_failing", branch=0)
        assert not run_task(t)
        assert _failing_calls["n"] > 1  # the first chunk was written, then it failed
        assert not t.output().exists()
    local = os.path.join(dirs["remote_store"], t.store_relpath())
    assert not os.path.exists(local) or os.listdir(local) == []
    assert not stray_files(dirs["remote_store"])


# -- the file interface on its own ---------------------------------------------------------------

@pytest.fixture
def fs(tmp_path):
    from columnar.store import FsspecFileSystem

    (tmp_path / "remote").mkdir()
    return FsspecFileSystem("file://" + str(tmp_path / "remote"),
                            cache_root=str(tmp_path / "cache"), retries=1, retry_delay=0)


def test_interface_operations(fs, tmp_path):
    import stat

    from columnar.store import StoreDirectoryTarget, StoreFileTarget

    target = StoreFileTarget("/a/b/x.json", fs)
    assert not target.exists()
    target.dump({"x": 1}, formatter="json")
    assert (tmp_path / "remote" / "a" / "b" / "x.json").is_file()
    st = target.stat()
    assert stat.S_ISREG(st.st_mode) and st.st_size > 0 and st.st_mtime > 0
    assert target.load(formatter="json") == {"x": 1}
    directory = StoreDirectoryTarget("/a/b", fs)
    assert directory.exists() and stat.S_ISDIR(directory.stat().st_mode)
    assert directory.listdir() == ["x.json"]
    assert set(fs.listdir_stat("/a/b")) == {"x.json"}
    assert fs.listdir_if_exists("/a/missing") == []
    with pytest.raises(FileNotFoundError):
        fs.file_interface.listdir("/a/missing", retries=0)
    copy = StoreFileTarget("/a/c/y.json", fs)
    target.copy_to(copy)
    assert copy.load(formatter="json") == {"x": 1}
    StoreDirectoryTarget("/a", fs).remove()
    assert not (tmp_path / "remote" / "a").exists()


def test_interface_retries_transient_failures(fs, monkeypatch):
    from columnar.store import StoreFileTarget

    target = StoreFileTarget("/x.txt", fs)
    target.dump("hello", formatter="text")
    fsspec_fs, _ = fs.file_interface.fs_path("/x.txt")
    original = type(fsspec_fs).info
    failures = {"n": 0}

    def flaky_info(self, path, **kwargs):
        if failures["n"] < 1:
            failures["n"] += 1
            raise OSError("connection reset (transient)")
        return original(self, path, **kwargs)

    monkeypatch.setattr(type(fsspec_fs), "info", flaky_info)
    assert target.exists()
    assert failures["n"] == 1


def test_interrupted_upload_leaves_no_partial_file(fs, tmp_path, monkeypatch):
    from columnar.store import StoreFileTarget

    fsspec_fs, _ = fs.file_interface.fs_path("/")

    def broken_put_file(self, lpath, rpath, **kwargs):
        with open(rpath, "wb") as f:
            f.write(b"partial")
        raise OSError("connection lost during upload")

    monkeypatch.setattr(type(fsspec_fs), "put_file", broken_put_file)
    target = StoreFileTarget("/d/out.bin", fs)
    with pytest.raises(OSError, match="connection lost"):
        with target.localize("w") as tmp:
            with open(tmp.path, "wb") as f:
                f.write(b"complete content")
    assert not (tmp_path / "remote" / "d" / "out.bin").exists()
    assert not stray_files(str(tmp_path / "remote"))


# -- XRootD --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def xrootd_store(tmp_path_factory):
    """A root:// store served by a local XRootD server (started and stopped here)."""
    if shutil.which("xrootd") is None:
        pytest.skip("the XRootD server binary 'xrootd' is not installed (Debian: apt-get install "
                    "xrootd-server)")
    if not os.path.exists(XROOTD_SCRIPT):
        pytest.skip("tests/services/xrootd.sh is missing")
    if os.geteuid() != 0:
        pytest.skip("tests/services/xrootd.sh must run as root")
    pytest.importorskip("fsspec_xrootd", reason="fsspec-xrootd is not installed")
    port = os.environ.get("COLUMNAR_TEST_XROOTD_PORT", "1095")
    directory = str(tmp_path_factory.mktemp("xrootd_store"))
    proc = subprocess.run([XROOTD_SCRIPT, "start", directory, port], capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail(f"cannot start the XRootD server:\n{proc.stdout}\n{proc.stderr}")
    try:
        yield {"url": f"root://localhost:{port}/{directory}", "dir": directory,
               "cache": str(tmp_path_factory.mktemp("xrootd_cache"))}
    finally:
        subprocess.run([XROOTD_SCRIPT, "stop", port], capture_output=True, text=True,
                       timeout=60)


def test_chain_with_xrootd_store(xrootd_store, local_hists, analysis):
    from columnar.store import StoreFileTarget

    with store_env(xrootd_store["url"], xrootd_store["cache"]):
        tasks = chain_tasks(analysis, datasets=("tt",))
        assert run_task(tasks["tt"])
        target = tasks["tt"].output()["ht"]
        assert isinstance(target, StoreFileTarget) and target.exists()
        assert_hists_equal(load_hists(tasks), {"tt": local_hists["tt"]})
        with record_runs() as started:
            assert run_task(tasks["tt"])
        assert started == []
        select = task("SelectEvents", analysis, dataset="tt")
        assert select.complete()
    rel = tasks["tt"].store_relpath("hist_ht.pickle")
    assert os.path.isfile(os.path.join(xrootd_store["dir"], rel))
    assert not stray_files(xrootd_store["dir"])
