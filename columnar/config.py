"""Helpers on ``order`` objects that every analysis config needs.

Shifts with column aliases, variables with binnings, categories defined by categorizer TAFs,
and the places where the defaults of the command line live. Example::

    add_shift_source(config, "jec", id=2, aliases={"Jet.pt": "Jet.pt_{name}"})
    add_variable(config, "ht", binning=(25, 50.0, 550.0), x_title=r"$H_T$", unit="GeV")
    add_category(config, "4j2b", id=2, categorizer="cat_4j2b", label="4 jets, 2 b")
    set_defaults(config, selector="default", producers=["features", "weights"])
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import awkward as ak
import order as od

from columnar.columns import EMPTY_FLOAT, Route

__all__ = [
    "ConfigError",
    "add_nominal_shift",
    "add_shift_source",
    "get_shift_aliases",
    "get_shifts_from_sources",
    "get_shift_sources",
    "add_shift_group",
    "expand_shift_sources",
    "add_variable",
    "variable_values",
    "add_category",
    "add_category_combinations",
    "category_categorizers",
    "DEFAULT_KEYS",
    "set_defaults",
    "get_default",
    "set_keep_columns",
    "get_keep_columns",
    "lumi_pb",
]


class ConfigError(ValueError):
    """An invalid or missing config entry; the message names it."""


# -- shifts -----------------------------------------------------------------------------------

def add_nominal_shift(config: od.Config) -> od.Shift:
    """Add the ``nominal`` shift (id 0) unless present."""
    if config.has_shift("nominal"):
        return config.get_shift("nominal")
    return config.add_shift(name="nominal", id=0, label="nominal")


def add_shift_source(
    config: od.Config,
    source: str,
    id: int,
    type: str = od.Shift.SHAPE,
    aliases: Mapping[str, str] | None = None,
    label: str | None = None,
    tags: Iterable[str] = (),
) -> tuple[od.Shift, od.Shift]:
    """Add the shifts ``<source>_up`` (id *id*) and ``<source>_down`` (id *id* + 1).

    *aliases* map routes to the routes that replace them for the shift; ``{name}`` is filled with
    the shift name and ``{direction}`` with ``up``/``down``::

        add_shift_source(config, "jec", 2, aliases={"Jet.pt": "Jet.pt_{name}"})
        # jec_up: Jet.pt -> Jet.pt_jec_up, jec_down: Jet.pt -> Jet.pt_jec_down
    """
    add_nominal_shift(config)
    shifts = []
    for offset, direction in enumerate((od.Shift.UP, od.Shift.DOWN)):
        name = f"{source}_{direction}"
        if config.has_shift(name):
            raise ConfigError(f"config '{config.name}' already has a shift '{name}'")
        shift = config.add_shift(
            name=name, id=id + offset, type=type, tags=set(tags),
            label=f"{label or source} ({direction})",
        )
        shift.x.column_aliases = {
            str(Route(t)): str(Route(s.format(name=name, direction=direction)))
            for t, s in (aliases or {}).items()
        }
        shifts.append(shift)
    return shifts[0], shifts[1]


def get_shift_aliases(shift: od.Shift) -> dict[str, str]:
    """The column aliases of a shift (empty for nominal)."""
    return dict(shift.x("column_aliases", {}))


def get_shift_sources(config: od.Config) -> list[str]:
    """Names of all shift sources of the config, in id order."""
    sources = []
    for shift in sorted(config.shifts, key=lambda s: s.id):
        if not shift.is_nominal and shift.source not in sources:
            sources.append(shift.source)
    return sources


def add_shift_group(config: od.Config, name: str, sources: Sequence[str]) -> None:
    """Name a group of shift sources, usable wherever sources are given (``--shift-sources``)."""
    unknown = [s for s in sources if s not in get_shift_sources(config)]
    if unknown:
        raise ConfigError(f"shift group '{name}' of config '{config.name}' names unknown sources "
                          f"{', '.join(unknown)}; valid: {', '.join(get_shift_sources(config))}")
    groups = dict(config.x("shift_groups", {}))
    groups[name] = list(sources)
    config.x.shift_groups = groups


def expand_shift_sources(config: od.Config, names: Iterable[str]) -> list[str]:
    """Shift sources for names that may be sources or shift groups (order kept, no repeats)."""
    groups = config.x("shift_groups", {})
    valid = get_shift_sources(config)
    out: list[str] = []
    for name in names:
        members = groups.get(name, [name])
        for source in members:
            if source not in valid:
                raise ConfigError(
                    f"unknown shift source '{source}' in config '{config.name}'; valid sources: "
                    f"{', '.join(valid) or 'none'}; groups: {', '.join(sorted(groups)) or 'none'}")
            if source not in out:
                out.append(source)
    return out


def get_shifts_from_sources(config: od.Config, *sources: str) -> list[od.Shift]:
    """The up and down shifts of the given sources (or shift groups)."""
    return [
        config.get_shift(f"{source}_{direction}")
        for source in expand_shift_sources(config, sources)
        for direction in (od.Shift.UP, od.Shift.DOWN)
    ]


# -- variables --------------------------------------------------------------------------------

def add_variable(
    config: od.Config,
    name: str,
    expression: str | Callable[[ak.Array], Any] | None = None,
    binning: tuple[int, float, float] | Sequence[float] = (1, 0.0, 1.0),
    x_title: str = "",
    unit: str = "1",
    id: int | str = "+",
    null_value: float = EMPTY_FLOAT,
    **kwargs: Any,
) -> od.Variable:
    """Add a variable whose values are the column *expression* (default: *name*) or
    ``expression(events)``, histogrammed with *binning* ``(n, lo, hi)`` or bin edges.

    >>> add_variable(config, "jet1_pt", "Jet.pt[:,0]", (40, 0.0, 400.0), r"Leading jet $p_T$",
    ...              unit="GeV")
    """
    if isinstance(binning, tuple) and len(binning) == 3 and isinstance(binning[0], int):
        n, lo, hi = binning
        if n <= 0 or not hi > lo:
            raise ConfigError(f"variable '{name}': invalid binning {binning}, expected "
                              "(n > 0, lo, hi > lo)")
        binning = (int(n), float(lo), float(hi))
    else:
        edges = [float(e) for e in binning]
        if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
            raise ConfigError(f"variable '{name}': bin edges must be at least two increasing "
                              f"numbers, got {list(binning)}")
        binning = edges
    if expression is None:
        expression = name
    if isinstance(expression, str):
        Route(expression)  # validate early
    return config.add_variable(
        name=name, id=id, expression=expression, binning=binning, x_title=x_title or name,
        unit=unit, null_value=null_value, **kwargs,
    )


def variable_values(variable: od.Variable, events: ak.Array) -> ak.Array:
    """Evaluate a variable's expression on *events* (missing values become its null value)."""
    expr = variable.expression
    null = variable.null_value if variable.null_value is not None else EMPTY_FLOAT
    if callable(expr):
        values = expr(events)
    else:
        values = Route(expr).apply(events, null_value=null)
    if isinstance(values, ak.Array) and values.ndim == 1:
        values = ak.fill_none(values, null)
    return values


# -- categories ---------------------------------------------------------------------------------

def add_category(
    config: od.Config,
    name: str,
    id: int,
    categorizer: str | type | Sequence[str | type],
    label: str | None = None,
    **kwargs: Any,
) -> od.Category:
    """Add a category selected by one or several categorizer TAFs (all must accept an event).

    *categorizer* is the registered name or class of a categorizer, or a list of them.
    """
    categorizers = [categorizer] if isinstance(categorizer, (str, type)) else list(categorizer)
    names = [c if isinstance(c, str) else c.__name__ for c in categorizers]
    if not names:
        raise ConfigError(f"category '{name}' needs at least one categorizer")
    return config.add_category(name=name, id=id, selection=names, label=label or name, **kwargs)


def category_categorizers(category: od.Category) -> list[str]:
    """Names of the categorizers selecting *category*."""
    selection = category.selection
    return [selection] if isinstance(selection, str) else list(selection)


def add_category_combinations(
    config: od.Config,
    groups: Mapping[str, Sequence[str]],
) -> list[od.Category]:
    """Add the combinations of categories of several groups as child categories.

    Each group lists category names (e.g. ``{"lepton": ["e", "mu"], "btag": ["4j1b", "4j2b"]}``);
    a combination is called ``e__4j1b``, selected by all categorizers of its parts, with the sum
    of their ids as id (choose ids such that the sums are unique, e.g. 1, 2 and 10, 20).
    """
    created = []
    lists = []
    for group, names in groups.items():
        missing = [n for n in names if not config.has_category(n)]
        if missing:
            raise ConfigError(f"category group '{group}' names unknown categories "
                              f"{', '.join(missing)}")
        lists.append([config.get_category(n) for n in names])
    for parts in itertools.product(*lists):
        name = "__".join(p.name for p in parts)
        if config.has_category(name):
            continue
        cat_id = sum(p.id for p in parts)
        if config.has_category(cat_id):
            raise ConfigError(f"combined category '{name}' would get id {cat_id}, which is taken "
                              f"by '{config.get_category(cat_id).name}'; choose group ids whose "
                              "sums are unique")
        selection = [c for p in parts for c in category_categorizers(p)]
        cat = od.Category(name=name, id=cat_id, selection=selection,
                          label=", ".join(p.label for p in parts))
        for part in parts:
            part.add_category(cat)
        created.append(cat)
    return created


# -- defaults -----------------------------------------------------------------------------------

#: keys of the command-line defaults stored in ``config.x.default_<key>``
DEFAULT_KEYS = (
    "calibrators", "selector", "reducer", "producers", "hist_producer", "variables",
    "variables_2d", "categories", "shift_sources", "datasets", "processes",
)


def set_defaults(config: od.Config, **defaults: Any) -> None:
    """Store command-line defaults, e.g. ``set_defaults(config, selector="default")``."""
    unknown = sorted(set(defaults) - set(DEFAULT_KEYS))
    if unknown:
        raise ConfigError(f"unknown default(s) {', '.join(unknown)}; valid: "
                          f"{', '.join(DEFAULT_KEYS)}")
    for key, value in defaults.items():
        if isinstance(value, (list, tuple, set)):
            value = tuple(value)
        config.set_aux(f"default_{key}", value)


def get_default(config: od.Config, key: str, fallback: Any = None) -> Any:
    """A command-line default stored with :func:`set_defaults`."""
    if key not in DEFAULT_KEYS:
        raise ConfigError(f"unknown default '{key}'; valid: {', '.join(DEFAULT_KEYS)}")
    return config.x(f"default_{key}", fallback)


def set_keep_columns(config: od.Config, task: str, columns: Iterable[str]) -> None:
    """Column specs that a task keeps, e.g. ``set_keep_columns(config, "cf.ReduceEvents", ...)``."""
    keep = dict(config.x("keep_columns", {}))
    keep[task] = set(columns)
    config.x.keep_columns = keep


def get_keep_columns(config: od.Config, task: str) -> set[str]:
    """The column specs a task keeps; a missing entry is an error naming it."""
    keep = config.x("keep_columns", {})
    if task not in keep:
        raise ConfigError(f"config '{config.name}' has no entry keep_columns['{task}'] (set it "
                          "with columnar.config.set_keep_columns)")
    return set(keep[task])


def lumi_pb(config: od.Config) -> float:
    """The integrated luminosity of the config in pb^-1 (``config.x.luminosity``)."""
    lumi = config.x("luminosity", None)
    if lumi is None:
        raise ConfigError(f"config '{config.name}' has no luminosity (set config.x.luminosity)")
    return float(getattr(lumi, "nominal", lumi))
