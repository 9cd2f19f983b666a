"""The demo's muon scale factor as a correctionlib JSON, written from code.

``muon_sf(abseta, pt, syst)`` is binned in |eta| and pt (ANALYSIS.md), ``syst`` is one of
``nominal``, ``up``, ``down``; values outside the binning are clamped to the edge bins.
"""

from __future__ import annotations

import os
import tempfile

import correctionlib.schemav2 as cs

ABSETA_EDGES = [0.0, 0.9, 1.2, 2.1, 2.4]
PT_EDGES: list = [30.0, 40.0, 60.0, 120.0, "inf"]  # correctionlib spells infinity "inf"

#: nominal values (rows: |eta| bins, columns: pt bins) and their uncertainties
SF_NOMINAL = [
    [0.990, 0.992, 0.995, 0.997],
    [0.985, 0.988, 0.991, 0.994],
    [0.980, 0.984, 0.988, 0.992],
    [0.970, 0.975, 0.980, 0.985],
]
SF_UNCERTAINTY = [
    [0.005, 0.004, 0.004, 0.006],
    [0.007, 0.006, 0.006, 0.008],
    [0.008, 0.007, 0.007, 0.010],
    [0.012, 0.010, 0.010, 0.015],
]


def _binning(sign: float) -> cs.MultiBinning:
    content = [
        round(nom + sign * unc, 6)
        for nom_row, unc_row in zip(SF_NOMINAL, SF_UNCERTAINTY)
        for nom, unc in zip(nom_row, unc_row)
    ]
    return cs.MultiBinning(
        nodetype="multibinning",
        inputs=["abseta", "pt"],
        edges=[ABSETA_EDGES, PT_EDGES],
        content=content,
        flow="clamp",
    )


def muon_sf_correction_set() -> cs.CorrectionSet:
    """The correction set holding ``muon_sf``."""
    correction = cs.Correction(
        name="muon_sf",
        description="Demo muon identification and isolation scale factor",
        version=1,
        inputs=[
            cs.Variable(name="abseta", type="real", description="|eta| of the muon"),
            cs.Variable(name="pt", type="real", description="pt of the muon in GeV"),
            cs.Variable(name="syst", type="string", description="nominal, up or down"),
        ],
        output=cs.Variable(name="weight", type="real", description="scale factor"),
        data=cs.Category(
            nodetype="category",
            input="syst",
            content=[
                cs.CategoryItem(key="nominal", value=_binning(0.0)),
                cs.CategoryItem(key="up", value=_binning(+1.0)),
                cs.CategoryItem(key="down", value=_binning(-1.0)),
            ],
        ),
    )
    return cs.CorrectionSet(schema_version=2, description="columnar demo corrections",
                            corrections=[correction])


def write_muon_sf(path: str) -> str:
    """Write the correction set JSON to *path* atomically (if it does not exist yet)."""
    if os.path.exists(path):
        return path
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".json.tmp")
    with os.fdopen(fd, "w") as f:
        f.write(muon_sf_correction_set().model_dump_json(exclude_unset=True, indent=1))
    os.replace(tmp, path)
    return path
