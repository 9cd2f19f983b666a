"""cf.GetDatasetLFNs: the list of input files of a dataset."""

from __future__ import annotations

import os

import law

from columnar.tasks.base import ColumnarTaskError, DatasetTask


def dataset_files(config, dataset) -> list[str]:
    """Input files of *dataset*: the config hook ``config.x.get_dataset_files(config, dataset)``
    if present (e.g. to generate or look them up), else the dataset's ``keys``."""
    hook = config.x("get_dataset_files", None)
    files = list(hook(config, dataset) if hook is not None else dataset.keys)
    return files


class GetDatasetLFNs(DatasetTask):
    """Write the list of input files (local paths or root:// URLs) of a dataset as JSON."""

    def output(self) -> law.LocalFileTarget:
        return self.local_target("lfns.json")

    def run(self) -> None:
        files = dataset_files(self.config_inst, self.dataset_inst)
        n_expected = self.dataset_inst.n_files
        if n_expected > 0 and len(files) != n_expected:
            raise ColumnarTaskError(
                f"dataset '{self.dataset}' should have {n_expected} files (config n_files) but "
                f"{len(files)} were found")
        missing = [f for f in files if "://" not in f and not os.path.exists(f)]
        if missing:
            raise ColumnarTaskError(f"input files of dataset '{self.dataset}' not found: "
                                    f"{', '.join(missing)}")
        self.output().dump({"dataset": self.dataset, "files": files}, formatter="json",
                           indent=1)
        self.publish_message(f"dataset '{self.dataset}': {len(files)} files")
