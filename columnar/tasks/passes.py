"""Several tasks computed in one pass over the same inputs.

Per-file tasks that differ only in a shift (``nominal``, ``jec_up``, ``jec_down`` of
cf.ReduceEvents: the same NanoAOD file), or in the producer (``features`` and ``weights`` of
cf.ProduceColumns: the same reduced events), read the same inputs. The tasks requested together
(:attr:`ShiftTask.sibling_shifts`, passed down by the task that fans out over shifts; likewise
``sibling_producers``) form a *pass group* per branch, made of those with equal
:meth:`PassMixin.pass_key`. Its first task, the *leader*, reads the inputs once and writes the
outputs of all incomplete tasks of the group; the others require the leader and find their
outputs written (``law run ... --print-deps`` shows it).
"""

from __future__ import annotations

from typing import Any

import law


def task_ids(struct: Any) -> frozenset[str]:
    """The ids of all tasks in a (nested) structure of tasks."""
    return frozenset(t.task_id for t in law.util.flatten(struct))


class PassMixin:
    """Pass groups of the branches of a :class:`~columnar.tasks.base.DatasetWorkflow`."""

    #: whether branches of this family form pass groups
    shares_pass = False

    def pass_requires(self) -> dict:
        """The requirements of this branch's own computation (a pass requires those of all its
        tasks)."""
        return {}

    def pass_key(self) -> frozenset[str]:
        """What must be equal for tasks to share a pass: by default the ids of the tasks of
        :meth:`pass_requires`."""
        return task_ids(self.pass_requires())

    def pass_candidates(self) -> list[law.Task]:
        """Tasks that may share this branch's pass: the same branch under the shifts of
        ``sibling_shifts``."""
        if len(self.sibling_shifts) < 2:
            return []
        return [self.req(self, shift=shift) for shift in self.sibling_shifts]

    def _cached_pass_key(self) -> frozenset[str]:
        if "_pass_key" not in self.__dict__:
            self._pass_key = self.pass_key()
        return self._pass_key

    def requires(self) -> dict:
        reqs = self.pass_requires()
        group = self.pass_group()
        if group[0] is not self:
            reqs["pass_leader"] = group[0]
        elif len(group) > 1:  # what the other tasks of the pass need
            reqs["pass_tasks"] = [task.pass_requires() for task in group[1:]]
        return reqs

    def pass_workflow_requires(self) -> dict:
        """Of a workflow: its branches start when the leader's workflow is done (so that they
        find their outputs written and need not run at all), and a leader's when what the other
        tasks of the pass need exists. Not needed where luigi sees all branches from the start
        (local workflows that require their branches)."""
        if not self.shares_pass or (self.workflow == "local"
                                    and self.local_workflow_require_branches):
            return {}
        if "_pass_workflow_reqs" not in self.__dict__:
            first = self.req(self, branch=0)
            group = first.pass_group()
            self._pass_workflow_reqs = (
                {"pass_leader": group[0].req(group[0], branch=-1)} if group[0] is not first
                else {"pass_tasks": [getattr(task, task.run_taf_attr).run_requires(task)
                                     for task in group[1:] if task.run_taf_attr]})
        return self._pass_workflow_reqs

    def pass_group(self) -> list[law.Task]:
        """The tasks of this branch's pass, leader first (this task included, no duplicates)."""
        if not self.shares_pass or self.is_workflow():
            return [self]
        if "_pass_group" in self.__dict__:  # built once per task: the graph asks many times
            return self._pass_group
        key = self._cached_pass_key()
        group: dict[str, law.Task] = {}
        for task in self.pass_candidates():
            if task.task_id == self.task_id:
                group[task.task_id] = self
            elif task.task_id not in group and task._cached_pass_key() == key:
                group[task.task_id] = task
        self._pass_group = list(group.values()) if self.task_id in group else [self]
        return self._pass_group

    def pass_members(self) -> list[law.Task]:
        """The tasks whose outputs this branch's run writes: itself (unless its pass leader
        already did) and, for a leader, the incomplete tasks of its pass group."""
        group = self.pass_group()
        members = [] if self.complete() else [self]
        if group[0] is self:
            members += [task for task in group[1:] if not task.complete()]
        return members

    def skip_if_complete(self, by: str) -> bool:
        """True (with a message) when this branch's outputs exist already, written by *by*."""
        if not self.complete():
            return False
        self.publish_message(f"outputs of branch {self.branch} written by {by}")
        return True
