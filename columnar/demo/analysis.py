"""The demo analysis module: ``analysis_ttbar_lite`` with its config ``demo``.

Importing it registers the demo's calibrators, selectors and producers.
"""

from __future__ import annotations

import order as od

from columnar.demo import calibration, production, selection  # noqa: F401 (register the TAFs)
from columnar.demo.config import create_config
from columnar.reducers import default as default_reducer  # noqa: F401

analysis_ttbar_lite = od.Analysis("ttbar_lite", 1)
config_demo = create_config(analysis_ttbar_lite)

#: what law.cfg names as the analysis
analysis_inst = analysis_ttbar_lite
