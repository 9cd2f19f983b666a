"""Calibrators of the analysis.

Calibrators run first, per NanoAOD file (cf.CalibrateEvents). They read the columns they
declare in ``uses`` (nothing else is read) and write the columns they declare in ``produces``
(nothing else is written) to a file of their own; later steps see them overlaid on NanoAOD.

TAF names are global per kind (``--calibrators <name>`` picks one), so the TAFs of this
analysis are registered with names starting with ``{{ cookiecutter.short_name }}_``
(``name=`` in the decorator; the Python name is free).
"""

from __future__ import annotations

import awkward as ak
import numpy as np
from columnar.calibrators import calibrator
from columnar.columns import set_ak_column


@calibrator(
    name="{{ cookiecutter.short_name }}_jes",
    uses={"Jet.{pt,eta,mass}"},
    produces={"Jet.{pt,mass}_jes_{up,down}"},
    # variations are only needed for simulation: for data the calibrator is skipped (it reads
    # and writes nothing), and data is always analysed with the nominal shift
    mc_only=True,
    # further keywords become class attributes (self.barrel_unc); a variant with other values:
    # jes.derive("{{ cookiecutter.short_name }}_jes_wide", cls_dict={"endcap_unc": 0.06})
    barrel_unc=0.02,
    endcap_unc=0.04,
)
def jes(self, events: ak.Array, **kwargs) -> ak.Array:
    """Jet energy scale variations: pt and mass scaled by 1 ± 2 % (|eta| < 1.3) or 1 ± 4 %.

    The nominal ``Jet.pt`` is not changed. The shifts ``jes_up`` / ``jes_down`` of the config
    alias ``Jet.pt`` to ``Jet.pt_jes_up`` / ``Jet.pt_jes_down``, so that the selection and
    everything after it see the varied jets without any change to their code.
    """
    jet = events.Jet
    unc = ak.where(abs(jet.eta) < 1.3, self.barrel_unc, self.endcap_unc)
    for direction, sign in (("up", 1.0), ("down", -1.0)):
        factor = 1.0 + sign * unc
        events = set_ak_column(events, f"Jet.pt_jes_{direction}", jet.pt * factor,
                               value_type=np.float32)
        events = set_ak_column(events, f"Jet.mass_jes_{direction}", jet.mass * factor,
                               value_type=np.float32)
    return events
