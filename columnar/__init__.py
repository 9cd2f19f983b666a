"""columnar: a columnar high-energy-physics analysis framework built on law, order and awkward."""

__version__ = "0.1.0"
