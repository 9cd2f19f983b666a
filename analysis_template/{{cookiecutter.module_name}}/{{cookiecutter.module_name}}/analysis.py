"""The analysis, named in law.cfg ([columnar] default_analysis) so that every task uses it.

Importing this module registers the calibrators, selectors, producers and categorizers of the
analysis: columnar finds them by name, so the modules defining them must be imported here.
"""

from __future__ import annotations

import order as od

from {{ cookiecutter.module_name }} import calibration, production, selection  # noqa: F401
from {{ cookiecutter.module_name }}.config import create_config

#: the analysis; its name is the first directory of all outputs in the store
analysis_inst = od.Analysis("{{ cookiecutter.short_name }}", 1)

#: its config (add more configs, e.g. one per data-taking year, with other names and ids)
config_inst = create_config(analysis_inst)
