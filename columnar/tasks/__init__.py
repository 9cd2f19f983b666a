"""law tasks of columnar, in the namespace ``cf`` (``law run cf.ReduceEvents --version v1``)."""
