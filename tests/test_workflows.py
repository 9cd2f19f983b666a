"""The per-file steps run elsewhere: as Slurm jobs on a one-node cluster, on a dask LocalCluster,
in a law sandbox; HTCondor job files. Each gives the histograms of the in-process run."""

from __future__ import annotations

import base64
import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import warnings

import awkward as ak
import numpy as np
import pytest

from tests.taskutil import make_task, run_task

CHUNK = 1000
VARIABLES = ("ht", "n_jet", "met")
SERVICES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "services")
REPO = os.path.dirname(os.path.dirname(SERVICES))


def task(name: str, analysis: str, **kwargs):
    if name in ("CreateHistograms", "MergeHistograms"):
        kwargs.setdefault("variables", VARIABLES)
    return make_task(name, analysis, chunk_size=CHUNK, dataset="tt", **kwargs)


def histograms(merge_task) -> dict:
    return {v: merge_task.output()[v].load(formatter="pickle") for v in VARIABLES}


def assert_same_histograms(got: dict, expected: dict) -> None:
    for variable, h in expected.items():
        assert got[variable].axes == h.axes, variable
        np.testing.assert_allclose(got[variable].values(flow=True), h.values(flow=True),
                                   rtol=1e-10, err_msg=variable)
        np.testing.assert_allclose(got[variable].variances(flow=True), h.variances(flow=True),
                                   rtol=1e-10, err_msg=variable)
    assert sum(h.sum(flow=True).value for h in got.values()) > 0


@pytest.fixture(scope="module")
def local_histograms(batch_analysis, store) -> dict:
    merge = task("MergeHistograms", batch_analysis, version="local")
    assert run_task(merge)
    return histograms(merge)


def run_then_merge(analysis: str, version: str, **workflow_params) -> dict:
    """Run the per-file steps up to CreateHistograms with *workflow_params*, then merge
    in-process."""
    create = task("CreateHistograms", analysis, version=version, **workflow_params)
    assert run_task(create)
    merge = task("MergeHistograms", analysis, version=version)
    assert run_task(merge)
    return histograms(merge)


# -- Slurm ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def slurm_cluster():
    """A one-node Slurm cluster on this machine, started by tests/services/slurm.sh."""
    missing = [exe for exe in ("sbatch", "slurmctld", "slurmd", "munged")
               if shutil.which(exe) is None and not os.path.exists(f"/usr/sbin/{exe}")]
    if missing:
        message = (f"SLURM TEST SKIPPED: {', '.join(missing)} not installed (Debian: apt-get "
                   "install slurm-wlm munge); the Slurm workflow is NOT tested on this machine")
        warnings.warn(message, stacklevel=1)
        print(f"\n{'!' * 80}\n{message}\n{'!' * 80}", file=sys.stderr)
        pytest.skip(message)
    result = subprocess.run(["bash", os.path.join(SERVICES, "slurm.sh"), "start"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"cannot start Slurm:\n{result.stdout}\n{result.stderr}"


def slurm_jobs() -> dict[str, tuple[str, str]]:
    """All jobs Slurm knows (finished ones included): {id: (name, state)}."""
    out = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i %j %T"],
                         capture_output=True, text=True, check=True).stdout
    return {i: (name, state) for i, name, state in (line.split() for line in out.splitlines()
                                                     if line.strip())}


def law_run(family: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``law run`` in a subprocess, as a user runs it (the task given by its module)."""
    module = {"CreateHistograms": "histograms", "CalibrateEvents": "calibration",
              "ProduceColumns": "production"}[family]
    cmd = ["law", "run", f"columnar.tasks.{module}.{family}", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def test_slurm_workflow(slurm_cluster, batch_analysis, store, local_histograms):
    jobs_before = slurm_jobs()
    law_run("CreateHistograms", "--analysis", batch_analysis, "--version", "slurm",
            "--dataset", "tt", "--variables", ",".join(VARIABLES), "--chunk-size", str(CHUNK),
            "--workflow", "slurm", "--poll-interval", "3sec")
    merge = task("MergeHistograms", batch_analysis, version="slurm")
    assert run_task(merge)
    assert_same_histograms(histograms(merge), local_histograms)

    # every per-file step ran as Slurm jobs (one per branch), which Slurm reports as completed;
    # calibration and selection ran in the passes of ReduceEvents (which wrote their outputs)
    jobs = {i: job for i, job in slurm_jobs().items() if i not in jobs_before}
    families = [name.split("_", 1)[0] for name, _ in jobs.values()]
    assert sorted(families) == sorted(
        ["cf.ReduceEvents"] * 2 + ["cf.MergeReducedEvents"] + ["cf.ProduceColumns"] * 2
        + ["cf.CreateHistograms"])
    for family in ("CalibrateEvents", "SelectEvents"):
        assert task(family, batch_analysis, version="slurm").complete()
    assert {state for _, state in jobs.values()} == {"COMPLETED"}
    # the jobs' logs are next to the job files
    logs = glob.glob(os.path.join(store, "jobs", "**", "slurm", "stdall_*.txt"), recursive=True)
    assert logs and all("job exit code : 0" in open(p).read() for p in logs)


# -- dask ----------------------------------------------------------------------------------------

def test_dask_workflow(batch_analysis, store, local_histograms):
    pytest.importorskip("dask.distributed")
    from columnar.tasks.workflows import close_dask_clients

    try:
        got = run_then_merge(batch_analysis, "dask", workflow="dask", dask_scheduler="local:2")
    finally:
        close_dask_clients()
    assert_same_histograms(got, local_histograms)


# -- HTCondor (job files only: no pool on these machines) ---------------------------------------

FAKE_CONDOR_SUBMIT = """#!/usr/bin/env python3
# stands for condor_submit: keeps the submit files and answers like HTCondor does
import os, re, shutil, sys
capture = os.environ["FAKE_CONDOR_CAPTURE"]
os.makedirs(capture, exist_ok=True)
n = 0
for name in sys.argv[1:]:
    if name.startswith("-"):
        continue
    shutil.copy(name, capture)
    text = open(name).read()
    grouped = re.search(r"^queue .* from \\((.*?)^\\)", text, re.S | re.M)
    n += len(grouped.group(1).strip().splitlines()) if grouped else text.count("\\nqueue")
print(f"{n} job(s) submitted to cluster 4242.")
"""


def test_htcondor_job_files(batch_analysis, store, tmp_path):
    bin_dir, capture = tmp_path / "bin", tmp_path / "submitted"
    bin_dir.mkdir()
    (bin_dir / "condor_submit").write_text(FAKE_CONDOR_SUBMIT)
    (bin_dir / "condor_submit").chmod(0o755)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "FAKE_CONDOR_CAPTURE": str(capture)}
    law_run("CalibrateEvents", "--analysis", batch_analysis, "--version", "condor", "--dataset",
            "tt", "--workflow", "htcondor", "--job-memory", "3000", "--max-runtime", "90min",
            "--htcondor-requirements", "OpSysMajorVer == 9", "--no-poll", env=env)

    (submit_file,) = capture.glob("*.jdl")
    submit = submit_file.read_text()
    lines = dict(line.split(" = ", 1) for line in submit.splitlines() if " = " in line)
    assert lines["universe"] == "vanilla"
    assert lines["request_memory"] == "3000"
    assert lines["+MaxRuntime"] == "5400"
    assert lines["requirements"] == "OpSysMajorVer == 9"
    # jobs start in the job directory, and their logs come back there
    job_dir = os.path.join(store, "jobs", "ttbar_lite_batch", "cf.CalibrateEvents")
    assert lines["initialdir"].startswith(job_dir)
    remaps = lines["transfer_output_remaps"]
    assert f"= {lines['initialdir']}/stdall$(law_job_postfix).txt" in remaps
    # one job per file of the dataset, each running law's job script for its branch
    assert re.search(r"queue law_job_postfix, arguments from \(\s+_0To1, .*\n\s+_1To2, .*\n\)",
                     submit)
    inputs = lines["transfer_input_files"].split(",")
    executable = os.path.join(os.path.dirname(inputs[0]), lines["executable"])
    with open(executable) as f:
        wrapper = f.read()
    for branch in (0, 1):
        assert re.search(r"columnar\.tasks\.calibration CalibrateEvents \S+ "
                         + base64.b64encode(str(branch).encode()).decode(), wrapper)
    # the bootstrap sets up this virtualenv, the law config and the store
    (bootstrap,) = [p for p in inputs if "bootstrap" in p]
    with open(bootstrap) as f:
        text = f.read()
    assert "{{" not in text
    assert f'export COLUMNAR_STORE="{store}"' in text
    if sys.prefix != sys.base_prefix:
        assert os.path.join(sys.prefix, "bin", "activate") in text


# -- sandboxes -----------------------------------------------------------------------------------

def test_producer_runs_in_its_sandbox(batch_analysis, store, local_histograms):
    # the library exists only in the sandbox of the producer
    assert importlib.util.find_spec("columnar_fake_ml") is None
    produce = task("ProduceColumns", batch_analysis, version="local", producer="ml_score")
    assert produce.sandbox.startswith("bash::")
    result = law_run("ProduceColumns", "--analysis", batch_analysis, "--version", "local",
                     "--dataset", "tt", "--producer", "ml_score", "--chunk-size", str(CHUNK))
    assert "entering sandbox" in result.stdout + result.stderr
    assert produce.complete()

    events_task = task("MergeReducedEvents", batch_analysis, version="local")
    for branch, target in produce.output()["collection"].targets.items():
        events = ak.from_parquet(events_task.req(events_task, branch=branch).output().path)
        produced = ak.from_parquet(target.path)
        expected = ak.sum(events.Jet.pt, axis=1) / 1000.0
        np.testing.assert_allclose(ak.to_numpy(produced.ml_score), ak.to_numpy(expected))
