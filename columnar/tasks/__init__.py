"""law tasks of columnar, in the namespace ``cf`` (``law run cf.ReduceEvents --version v1``)."""

import gc
import os

# luigi forks one process per task with --workers > 1; without this, the garbage collector of
# each child walks (and so copies, page by page) the whole heap it shares with the parent
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=gc.freeze, after_in_parent=gc.unfreeze)

from columnar.tasks import processes  # noqa: E402

# before the task modules import the column libraries: the manager is a fork of this process
processes.start_law_manager()

# register every task family whichever module is imported first: a batch job runs
# "law run columnar.tasks.<module>.<Task>" with the command line of the submitting run, which
# may name parameters of other families (--cf.SelectEvents-job-memory 4000)
from columnar.tasks import (  # noqa: E402, F401
    calibration,
    external,
    histograms,
    plotting,
    production,
    reduction,
    selection,
)

processes.install()
