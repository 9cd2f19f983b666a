"""cf.GetDatasetLFNs: the list of input files of a dataset."""

from __future__ import annotations

import os

import law

from columnar.tasks.base import ColumnarTaskError, DatasetShiftTask


def dataset_variations(dataset) -> set[str]:
    """Shifts for which a dataset has files of its own (``dataset.info["tune_up"]``)."""
    return set(dataset.info) - {"nominal"}


def dataset_files(config, dataset, shift: str = "nominal") -> list[str]:
    """Input files of *dataset* (of its variation for *shift*, if it has one): the config hook
    ``config.x.get_dataset_files(config, dataset, info_key)`` if present (e.g. to generate or
    look them up), else the ``keys`` of the dataset info."""
    key = shift if shift in dataset.info else "nominal"
    hook = config.x("get_dataset_files", None)
    if hook is not None:
        return list(hook(config, dataset, key))
    return list(dataset.get_info(key).keys)


class GetDatasetLFNs(DatasetShiftTask):
    """Write the list of input files (local paths or root:// URLs) of a dataset as JSON.

    A shift that is a *dataset variation* (the dataset has an ``info`` entry of that name, e.g.
    ``tune_up`` with other files) is implemented here: everything downstream reads those files.
    """

    light_run = True

    @classmethod
    def get_known_shifts(cls, params: dict) -> tuple[set[str], set[str]]:
        return dataset_variations(cls.dataset_from_params(params)), set()

    def output(self) -> law.LocalFileTarget:
        return self.local_target("lfns.json")

    def run(self) -> None:
        files = dataset_files(self.config_inst, self.dataset_inst, self.shift)
        n_expected = self.dataset_inst.get_info(
            self.shift if self.shift in self.dataset_inst.info else "nominal").n_files
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
