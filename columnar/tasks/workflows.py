"""Where the branches of a per-file workflow run: ``--workflow local`` (default, in-process),
``slurm`` and ``htcondor`` (law's remote workflows: one batch job per ``--tasks-per-job``
branches) or ``dask`` (branches as tasks of a dask.distributed cluster).

Batch jobs recreate the submitting environment with ``job_bootstrap.sh`` (same virtualenv on a
shared file system unless law.cfg ``[columnar] job_setup`` says otherwise); job files and logs go
to ``[columnar] job_dir``. Resources come from law.cfg ``[columnar]`` and the command line::

    law run cf.ReduceEvents --version v1 --dataset tt --workflow slurm \\
        --slurm-partition short --max-runtime 1h --job-memory 3000 --tasks-per-job 2
"""

from __future__ import annotations

import math
import os
import sys
import threading
from typing import Any

import law
import luigi
from law.workflow.base import BaseWorkflowProxy

from columnar import settings

law.contrib.load("slurm", "htcondor")

BOOTSTRAP_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "job_bootstrap.sh")

#: parameters of the workflow that configure jobs and must not reach the branch tasks
JOB_PARAMS = {"max_runtime", "job_memory", "htcondor_universe", "htcondor_requirements",
              "dask_scheduler"}


def software_setup() -> str:
    """Shell line that sets up on a batch node the python that runs this process."""
    custom = settings.job_setup()
    if custom:
        return custom
    if sys.prefix != sys.base_prefix:  # a virtualenv
        return f'source "{os.path.join(sys.prefix, "bin", "activate")}"'
    return f'export PATH="{os.path.dirname(sys.executable)}:${{PATH}}"'


def bootstrap_variables() -> dict[str, str]:
    """Values of the ``{{...}}`` variables of ``job_bootstrap.sh`` for this process."""
    config_file = law.config.Config.instance().config_file or ""
    python_path = [os.getcwd(), *filter(None, os.environ.get("PYTHONPATH", "").split(":"))]
    return {
        "columnar_setup": software_setup(),
        "law_config_file": os.path.abspath(config_file) if config_file else "",
        "columnar_store": settings.store_root(),
        "columnar_pythonpath": ":".join(dict.fromkeys(python_path)),
        "columnar_workdir": os.getcwd(),
    }


class BatchJobMixin:
    """Resources and job files shared by the batch workflows."""

    max_runtime = law.DurationParameter(
        default=settings.job_max_runtime(),
        unit="h",
        significant=False,
        description="maximum runtime of a batch job, e.g. 2h or 30m; default from law.cfg "
                    "[columnar] job_max_runtime",
    )
    job_memory = luigi.IntParameter(
        default=settings.job_memory(),
        significant=False,
        description="memory of a batch job in MB; default from law.cfg [columnar] job_memory",
    )
    # poll more often than law's default (1 min): the per-file steps take seconds to minutes
    poll_interval = law.DurationParameter(
        default=0.25,
        unit="m",
        significant=False,
        description="time between status polls of the jobs, e.g. 15s; default: 15s",
    )

    transfer_logs = luigi.BoolParameter(
        default=True,
        significant=False,
        description="write the log of each job (stdout and stderr) next to the job files; "
                    "default: True",
    )

    exclude_params_branch = {*JOB_PARAMS}

    def job_directory(self, kind: str) -> law.LocalDirectoryTarget:
        """``<job_dir>/<store parts>/<version>/<kind>`` (always local: job files and logs)."""
        return law.LocalDirectoryTarget(os.path.join(settings.job_dir(), self.store_relpath(),
                                                     kind))

    def bootstrap_file(self) -> law.JobInputFile:
        return law.JobInputFile(BOOTSTRAP_FILE, copy=True, render_local=True)

    def add_bootstrap_variables(self, config: Any) -> None:
        config.render_variables.update(bootstrap_variables())

    @property
    def max_runtime_seconds(self) -> int:
        return int(math.ceil(self.max_runtime * 3600))


class SlurmWorkflow(BatchJobMixin, law.slurm.SlurmWorkflow):
    """``--workflow slurm``: one Slurm job per ``--tasks-per-job`` branches."""

    slurm_partition = luigi.Parameter(
        default=settings.slurm_partition() or law.NO_STR,
        significant=False,
        description="Slurm partition; default from law.cfg [columnar] slurm_partition",
    )

    def slurm_output_directory(self) -> law.LocalDirectoryTarget:
        return self.job_directory("slurm")

    def slurm_create_job_file_factory(self, **kwargs):
        # job files next to the logs: on the shared file system, not in a node-local /tmp
        kwargs.setdefault("dir", os.path.join(self.slurm_output_directory().path, "files"))
        kwargs.setdefault("mkdtemp", True)
        return super().slurm_create_job_file_factory(**kwargs)

    def slurm_bootstrap_file(self) -> law.JobInputFile:
        return self.bootstrap_file()

    def slurm_job_config(self, config, job_num: int, branches: list[int]):
        self.add_bootstrap_variables(config)
        minutes = max(1, int(math.ceil(self.max_runtime_seconds / 60)))
        config.custom_content.append(("time", f"{minutes // 60:02d}:{minutes % 60:02d}:00"))
        config.custom_content.append(("mem", f"{self.job_memory}M"))
        config.custom_content.append(("cpus-per-task", "1"))
        return config


class HTCondorWorkflow(BatchJobMixin, law.htcondor.HTCondorWorkflow):
    """``--workflow htcondor``: one HTCondor job per ``--tasks-per-job`` branches."""

    htcondor_universe = luigi.Parameter(
        default=settings.htcondor_universe(),
        significant=False,
        description="HTCondor universe; default from law.cfg [columnar] htcondor_universe",
    )
    htcondor_requirements = luigi.Parameter(
        default="",
        significant=False,
        description="ClassAd requirements expression of the jobs, e.g. 'OpSysMajorVer == 9'",
    )

    def htcondor_output_directory(self) -> law.LocalDirectoryTarget:
        return self.job_directory("htcondor")

    def htcondor_create_job_file_factory(self, **kwargs):
        kwargs.setdefault("dir", os.path.join(self.htcondor_output_directory().path, "files"))
        kwargs.setdefault("mkdtemp", True)
        return super().htcondor_create_job_file_factory(**kwargs)

    def htcondor_bootstrap_file(self) -> law.JobInputFile:
        return self.bootstrap_file()

    def htcondor_job_config(self, config, job_num: int, branches: list[int]):
        self.add_bootstrap_variables(config)
        config.universe = self.htcondor_universe
        # law transfers its job scripts and the logs; the software and the store are expected on
        # a shared file system (or set up by [columnar] job_setup)
        config.custom_content.append(("request_cpus", 1))
        config.custom_content.append(("request_memory", f"{self.job_memory}"))
        config.custom_content.append(("+MaxRuntime", self.max_runtime_seconds))
        config.custom_content.append(("periodic_remove",
                                      f"(JobStatus == 2) && (time() - EnteredCurrentStatus > "
                                      f"{self.max_runtime_seconds})"))
        if self.htcondor_requirements:
            config.custom_content.append(("requirements", self.htcondor_requirements))
        return config


# -- dask ------------------------------------------------------------------------------------

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def dask_client(address: str):
    """A dask.distributed client for *address*: a scheduler address (``tcp://host:8786``) or
    ``local``/``local:N`` for a LocalCluster of N worker processes started once per process."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as e:
        raise ImportError("--workflow dask needs dask.distributed: pip install "
                          "'columnar[dask]'") from e
    with _clients_lock:
        client = _clients.get(address)
        if client is not None and client.status == "running":
            return client
        if address == "local" or address.startswith("local:"):
            n = int(address.split(":", 1)[1]) if ":" in address else (os.cpu_count() or 1)
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=":0")
            client = Client(cluster)
        else:
            client = Client(address)
        _clients[address] = client
        return client


def close_dask_clients() -> None:
    """Close the clients (and LocalClusters) started by :func:`dask_client`."""
    with _clients_lock:
        for client in _clients.values():
            cluster = client.cluster
            client.close()
            if cluster is not None:
                cluster.close()
        _clients.clear()


def run_branch(module: str, family: str, params: dict[str, str], env: dict[str, str]) -> str:
    """Run one branch task on a dask worker (imported by *module*, created from its string
    parameters); returns the task id. *env* carries the store of the submitting process."""
    import importlib

    os.environ.update(env)
    importlib.import_module(module)
    task_cls = luigi.task_register.Register.get_task_cls(family)
    task = task_cls.from_str_params(params)
    # no luigi scheduler here: messages and progress go to the worker's log only
    task.set_status_message = task.set_progress_percentage = lambda *args: None
    if not task.complete():
        task.run()
    return task.task_id


class DaskWorkflowProxy(BaseWorkflowProxy):
    """Runs the incomplete branches of a workflow as tasks on a dask.distributed cluster."""

    workflow_type = "dask"

    def run(self):
        super().run()
        task = self.task
        todo = [b for b in task.get_branch_tasks().values() if not b.complete()]
        if not todo:
            return
        client = dask_client(task.dask_scheduler)
        env = {"COLUMNAR_STORE": settings.store_root()}
        task.publish_message(f"submitting {len(todo)} branches to dask scheduler "
                             f"{client.scheduler.address}")
        futures = client.map(run_branch, [b.__class__.__module__ for b in todo],
                             [b.task_family for b in todo], [b.to_str_params() for b in todo],
                             [env] * len(todo), key=[f"{b.task_id}" for b in todo], pure=False)
        failed = []
        for branch_task, future in zip(todo, futures):
            try:
                future.result()
                task.publish_message(f"branch {branch_task.branch} done")
            except Exception as e:  # report all failures, not only the first
                failed.append(f"branch {branch_task.branch}: {type(e).__name__}: {e}")
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(todo)} branches of {task.task_id} failed "
                               "on dask:\n" + "\n".join(failed))


class DaskWorkflow(law.BaseWorkflow):
    """``--workflow dask``: branches run on the dask.distributed cluster ``--dask-scheduler``."""

    workflow_proxy_cls = DaskWorkflowProxy

    dask_scheduler = luigi.Parameter(
        default=settings.dask_scheduler(),
        significant=False,
        description="dask.distributed scheduler address (tcp://host:8786), or local / local:N "
                    "for a LocalCluster of N processes; default from $DASK_SCHEDULER_ADDRESS or "
                    "law.cfg [columnar] dask_scheduler",
    )

    exclude_params_branch = {"dask_scheduler"}
