"""Four-vector behaviour for collections, attached only where a TAF asks for it."""

from __future__ import annotations

import awkward as ak
import vector

vector.register_awkward()

__all__ = ["lorentz_vectors"]


def lorentz_vectors(collection: ak.Array) -> ak.Array:
    """The pt/eta/phi/mass of a collection as ``vector`` Lorentz vectors.

    >>> jets = lorentz_vectors(events.Jet)
    >>> (jets[:, 0] + jets[:, 1]).mass
    """
    return ak.zip(
        {"pt": collection.pt, "eta": collection.eta, "phi": collection.phi,
         "mass": collection.mass},
        with_name="Momentum4D",
    )
