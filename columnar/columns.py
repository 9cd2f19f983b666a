"""Column toolkit: routes to columns of awkward arrays and helpers to read, set and combine them.

A *route* addresses one column of a (nested) awkward record array, e.g. ``Jet.pt`` for
``events["Jet"]["pt"]``, which is stored as the NanoAOD branch ``Jet_pt``.

Example::

    >>> events = set_ak_column(events, "Jet.pt_x2", events.Jet.pt * 2)
    >>> Route("Jet.pt[:,0]").apply(events, null_value=EMPTY_FLOAT)  # leading jet pt, padded
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Union

import awkward as ak
import numpy as np

__all__ = [
    "EMPTY_FLOAT",
    "EMPTY_INT",
    "Route",
    "RouteLike",
    "set_ak_column",
    "remove_ak_column",
    "has_ak_column",
    "get_ak_routes",
    "flat_np_view",
    "layout_ak_array",
    "expand_braces",
    "is_pattern",
    "resolve_columns",
    "overlay",
    "apply_aliases",
]

#: placeholder for missing floating point values (e.g. the pt of a fifth jet that does not exist)
EMPTY_FLOAT = -99999.0
#: placeholder for missing integer values
EMPTY_INT = -99999

_INDEX_RE = re.compile(r"^(?P<path>[^\[]*)(?P<index>\[.*\])?$")


def _parse_index(text: str) -> tuple[int | slice | None, ...]:
    """Parse an index suffix like ``[:,0]`` or ``[:, 1:3]`` into a tuple of ints and slices."""
    items: list[int | slice | None] = []
    for group in re.findall(r"\[([^\]]*)\]", text):
        for part in group.split(","):
            part = part.strip()
            if part in ("None", "np.newaxis"):
                items.append(None)
            elif ":" in part:
                bounds = [p.strip() for p in part.split(":")]
                if len(bounds) > 3:
                    raise ValueError(f"invalid slice '{part}' in index '{text}'")
                args = [int(b) if b else None for b in bounds]
                items.append(slice(*args))
            else:
                try:
                    items.append(int(part))
                except ValueError:
                    raise ValueError(f"invalid index item '{part}' in '{text}'") from None
    return tuple(items)


def _format_index(index: tuple[int | slice | None, ...]) -> str:
    def fmt(item: int | slice | None) -> str:
        if item is None:
            return "None"
        if isinstance(item, slice):
            parts = ["" if v is None else str(v) for v in (item.start, item.stop, item.step)]
            return ":".join(parts[:2] if item.step is None else parts)
        return str(item)

    return "[" + ",".join(fmt(item) for item in index) + "]" if index else ""


class Route:
    """Address of a column in a nested record array.

    Accepted forms: ``"Jet.pt"``, ``("Jet", "pt")``, another :class:`Route`, or a NanoAOD branch
    name such as ``"Jet_pt"``. A dot-free string is read as a NanoAOD name (split at its first
    underscore) only when it starts with an upper-case letter, so that ``"Jet_pt"`` and
    ``"MET_pt"`` become ``Jet.pt`` and ``MET.pt``, while ``"m_bjj"`` or ``"normalization_weight"``
    stay top-level columns. Use :meth:`from_column` to avoid this rule.

    An index suffix selects elements: ``Route("Jet.pt[:,0]").apply(events, null_value=-1)`` is the
    pt of the leading jet, ``-1`` for events without jets.

    >>> Route("Jet_pt").column, Route("Jet.pt").nano_column, Route(("Jet", "pt")).fields
    ('Jet.pt', 'Jet_pt', ('Jet', 'pt'))
    """

    __slots__ = ("_fields", "_index")

    def __init__(self, route: RouteLike = (), index: tuple[int | slice | None, ...] = ()):
        if isinstance(route, Route):
            fields, parsed_index = route.fields, route.index
        elif isinstance(route, str):
            fields, parsed_index = self._parse_str(route)
        elif isinstance(route, (tuple, list)):
            fields, parsed_index = tuple(str(f) for f in route), ()
        else:
            raise TypeError(f"cannot interpret {route!r} of type {type(route).__name__} as a route")
        if any(not f for f in fields):
            raise ValueError(f"route {route!r} contains an empty field")
        self._fields: tuple[str, ...] = fields
        self._index: tuple[int | slice | None, ...] = tuple(index) or parsed_index

    @staticmethod
    def _parse_str(text: str) -> tuple[tuple[str, ...], tuple[int | slice | None, ...]]:
        text = text.strip()
        m = _INDEX_RE.match(text)
        if not m:
            raise ValueError(f"invalid route '{text}'")
        path, index_text = m.group("path"), m.group("index")
        index = _parse_index(index_text) if index_text else ()
        if not path:
            return (), index
        if "." in path:
            return tuple(path.split(".")), index
        if "_" in path and path[0].isupper():
            head, tail = path.split("_", 1)
            return (head, tail), index
        return (path,), index

    @classmethod
    def from_column(cls, column: str) -> Route:
        """Route from a dotted column name, never interpreting underscores."""
        path, _, rest = column.partition("[")
        index = _parse_index("[" + rest) if rest else ()
        return cls(tuple(path.split(".")), index=index)

    @classmethod
    def from_nano(cls, name: str) -> Route:
        """Route from a NanoAOD branch name, split at its first underscore (``Jet_pt_raw``)."""
        head, sep, tail = name.partition("_")
        return cls((head, tail) if sep else (head,))

    @property
    def fields(self) -> tuple[str, ...]:
        """The field names, e.g. ``("Jet", "pt")``."""
        return self._fields

    @property
    def index(self) -> tuple[int | slice | None, ...]:
        """The index suffix as a tuple (empty without suffix)."""
        return self._index

    @property
    def column(self) -> str:
        """Dotted name including an index suffix, e.g. ``"Jet.pt[:,0]"``."""
        return ".".join(self._fields) + _format_index(self._index)

    @property
    def nano_column(self) -> str:
        """NanoAOD branch name, e.g. ``"Jet_pt"`` (without index suffix)."""
        return "_".join(self._fields)

    @property
    def name(self) -> str:
        """The last field."""
        return self._fields[-1]

    @property
    def parent(self) -> Route:
        """The route without its last field."""
        return Route(self._fields[:-1])

    def without_index(self) -> Route:
        return Route(self._fields)

    def startswith(self, other: RouteLike) -> bool:
        """Whether this route lies inside *other* (or equals it)."""
        prefix = Route(other).fields
        return self._fields[: len(prefix)] == prefix

    def apply(self, events: ak.Array, null_value: Any = None) -> ak.Array:
        """Select this column from *events* and apply the index suffix.

        Integer indices into jagged dimensions pad missing entries; with *null_value* given, the
        padded entries are filled with it (otherwise they are ``None``).
        """
        arr = events
        for i, field in enumerate(self._fields):
            try:
                arr = arr[field]
            except Exception as e:
                prefix = ".".join(self._fields[:i]) or "<top level>"
                raise KeyError(f"column '{self.column}' not found: '{prefix}' has no field "
                               f"'{field}'") from e
        if not self._index:
            return arr
        padded = False
        for axis, item in enumerate(self._index):
            if isinstance(item, int) and axis > 0:
                target = item + 1 if item >= 0 else -item
                arr = ak.pad_none(arr, target, axis=axis)
                padded = True
        arr = arr[self._index]
        if padded and null_value is not None:
            arr = ak.fill_none(arr, null_value)
        return arr

    def __add__(self, other: RouteLike) -> Route:
        return Route(self._fields + Route(other).fields, index=self._index)

    def __len__(self) -> int:
        return len(self._fields)

    def __iter__(self):
        return iter(self._fields)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Route):
            return self._fields == other._fields and self._index == other._index
        if isinstance(other, (str, tuple, list)):
            try:
                return self == Route(other)
            except (TypeError, ValueError):
                return False
        return NotImplemented

    def __lt__(self, other: Route) -> bool:
        return self.column < Route(other).column

    def __hash__(self) -> int:
        return hash((self._fields, repr(self._index)))

    def __str__(self) -> str:
        return self.column

    def __repr__(self) -> str:
        return f"Route('{self.column}')"


RouteLike = Union[Route, str, Sequence[str]]  # noqa: UP007 (a runtime alias)


def _fields_of(arr: ak.Array) -> list[str]:
    return ak.fields(arr) if isinstance(arr, ak.Array) else []


def has_ak_column(events: ak.Array, route: RouteLike) -> bool:
    """Whether *events* holds the column at *route* (a leaf or a record)."""
    arr = events
    for field in Route(route).fields:
        if field not in _fields_of(arr):
            return False
        arr = arr[field]
    return True


def set_ak_column(
    events: ak.Array,
    route: RouteLike,
    value: Any,
    value_type: Any = None,
) -> ak.Array:
    """Return *events* with *value* stored at *route*, creating nested records as needed.

    An existing column is replaced. *value_type* (e.g. ``np.float32``) converts the value.

    >>> events = set_ak_column(events, "weights.btag", np.ones(len(events)), np.float32)
    """
    route = Route(route)
    if not route.fields:
        raise ValueError("cannot set a column at an empty route")
    if value_type is not None:
        value = ak.values_astype(value, value_type)
    # find the deepest existing record along the route
    depth = 0
    arr = events
    while depth < len(route) - 1 and route.fields[depth] in _fields_of(arr):
        arr = arr[route.fields[depth]]
        depth += 1
    if depth < len(route) - 1 and depth > 0 and not _fields_of(arr):
        raise ValueError(f"cannot set column '{route}': '{Route(route.fields[:depth])}' is not a "
                         "record")
    # wrap the value into new records for the missing part of the route, at the list depth of
    # the deepest existing record (so that "Jet.new.x" becomes a field of every jet)
    # (a new top-level record takes the structure of the value: "Jet.x" becomes var * {x})
    for field in reversed(route.fields[depth + 1:]):
        value = ak.zip({field: value}, depth_limit=arr.ndim if depth else None)
    where = route.fields[: depth + 1]
    try:
        return ak.with_field(events, value, where=where if len(where) > 1 else where[0])
    except ValueError as e:
        raise ValueError(f"cannot set column '{route}': {e}") from e


def remove_ak_column(
    events: ak.Array,
    route: RouteLike,
    remove_empty: bool = True,
    silent: bool = False,
) -> ak.Array:
    """Return *events* without the column (or record) at *route*.

    Records left without fields are removed too (*remove_empty*). A missing column raises a
    ``KeyError`` unless *silent*.
    """
    route = Route(route)
    if not has_ak_column(events, route):
        if silent:
            return events
        raise KeyError(f"cannot remove column '{route}': not present")
    events = ak.without_field(events, where=route.fields if len(route) > 1 else route.fields[0])
    parent = route.parent
    if remove_empty and len(parent) and not _fields_of(parent.apply(events)):
        events = remove_ak_column(events, parent, remove_empty=True)
    return events


def _form_leaves(form: ak.forms.Form, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Leaf field paths of an awkward form, looking through lists and option types."""
    while not isinstance(form, ak.forms.RecordForm) and hasattr(form, "content"):
        if form.parameter("__array__") in ("string", "bytestring"):
            return [prefix]
        form = form.content
    if isinstance(form, ak.forms.RecordForm) and not form.is_tuple:
        leaves = []
        for field, content in zip(form.fields, form.contents):
            leaves.extend(_form_leaves(content, prefix + (field,)))
        return leaves
    return [prefix]


def get_ak_routes(
    events: ak.Array,
    max_depth: int = 0,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
) -> list[Route]:
    """All leaf routes of *events* in storage order (from the form, no data is touched).

    *max_depth* > 0 cuts routes after that many fields; *include* / *exclude* are column specs
    (with braces and wildcards) filtering the result.
    """
    paths = _form_leaves(ak.to_layout(events).form, ())
    if max_depth > 0:
        paths = list(dict.fromkeys(p[:max_depth] for p in paths))
    routes = [Route(p) for p in paths if p]
    if include is not None:
        routes = [r for r in routes if _matches_any(r, _expand_all(include))]
    if exclude is not None:
        routes = [r for r in routes if not _matches_any(r, _expand_all(exclude))]
    return routes


def flat_np_view(arr: ak.Array) -> np.ndarray:
    """Flat numpy array of all values of a (jagged) numeric array.

    For packed arrays (as read from disk) this is a view on the array's buffer; pass a modified
    copy to :func:`layout_ak_array` to bring back the jagged structure.

    >>> pt = flat_np_view(events.Jet.pt) * 1.03
    >>> events = set_ak_column(events, "Jet.pt", layout_ak_array(pt, events.Jet.pt))
    """
    return np.asarray(ak.flatten(arr, axis=None))


def layout_ak_array(data: np.ndarray, layout_like: ak.Array) -> ak.Array:
    """Give the flat *data* the (jagged) structure of *layout_like*."""
    data = np.asarray(data)
    template = ak.to_layout(ak.to_packed(layout_like))
    size = len(flat_np_view(layout_like))
    if len(data) != size:
        raise ValueError(f"cannot lay out {len(data)} values like an array with {size} values")

    def replace(layout, **kwargs):
        if isinstance(layout, ak.contents.NumpyArray):
            return ak.contents.NumpyArray(data)
        return None

    return ak.transform(replace, template)


# -- column specs -----------------------------------------------------------------------------

def expand_braces(spec: str) -> list[str]:
    """Expand shell-like braces: ``"Jet.{pt,eta}"`` -> ``["Jet.pt", "Jet.eta"]`` (nestable)."""
    start = spec.find("{")
    if start < 0:
        return [spec]
    depth = 0
    for end in range(start, len(spec)):
        if spec[end] == "{":
            depth += 1
        elif spec[end] == "}":
            depth -= 1
            if depth == 0:
                break
    else:
        raise ValueError(f"unbalanced braces in column spec '{spec}'")
    # split the brace content at top-level commas
    body, options, level, current = spec[start + 1:end], [], 0, ""
    for ch in body:
        if ch == "," and level == 0:
            options.append(current)
            current = ""
            continue
        level += ch == "{"
        level -= ch == "}"
        current += ch
    options.append(current)
    head, tail = spec[:start], spec[end + 1:]
    return [s for opt in options for s in expand_braces(head + opt + tail)]


def is_pattern(spec: str) -> bool:
    """Whether a column spec contains wildcards (after brace expansion)."""
    return any(ch in spec for ch in "*?[")


def _expand_all(specs: Iterable[str] | str) -> list[str]:
    if isinstance(specs, (str, Route)):
        specs = [specs]
    out: list[str] = []
    for spec in specs:
        if isinstance(spec, Route):
            out.append(spec.column)
        else:
            out.extend(expand_braces(spec))
    return out


def _matches(route: Route, spec: str) -> bool:
    """A route matches a spec equal to it, to one of its parents, or a wildcard pattern."""
    column = route.without_index().column
    if is_pattern(spec):
        return fnmatch.fnmatchcase(column, spec) or any(
            fnmatch.fnmatchcase(".".join(route.fields[:n]), spec) for n in range(1, len(route))
        )
    spec_fields = Route(spec).fields
    return route.fields[: len(spec_fields)] == spec_fields


def _matches_any(route: Route, specs: Sequence[str]) -> bool:
    return any(_matches(route, s) for s in specs)


def resolve_columns(
    specs: Iterable[RouteLike],
    available: Iterable[RouteLike],
    strict: bool = False,
) -> list[Route]:
    """Resolve column specs against the leaf routes that an array or a file actually has.

    Specs are expanded (``"Jet.{pt,eta}"``), wildcards matched (``"Jet.*"``, ``"cutflow.*"``),
    and a record name selects all its leaves (``"Jet"``). With *strict*, a spec that matches
    nothing raises a ``KeyError`` naming it. The result keeps the order of *available*.
    """
    available = [Route(r) for r in available]
    specs = _expand_all(specs)
    if strict:
        missing = [s for s in specs if not any(_matches(r, s) for r in available)]
        if missing:
            raise KeyError(f"no column matches {', '.join(sorted(missing))}")
    return [r for r in available if _matches_any(r, specs)]


# -- combining arrays -------------------------------------------------------------------------

def overlay(base: ak.Array, *others: ak.Array) -> ak.Array:
    """One array with the union of the columns of *base* and *others*.

    All arrays describe the same events (same length); on a route present in several arrays,
    the later array wins.

    >>> events = overlay(nano_events, calibrated, selected)
    """
    for i, other in enumerate(others):
        if len(other) != len(base):
            raise ValueError(f"cannot overlay array {i + 1} with {len(other)} entries onto one "
                             f"with {len(base)} entries")
        for route in get_ak_routes(other):
            try:
                base = set_ak_column(base, route, route.apply(other))
            except ValueError as e:
                raise ValueError(f"cannot overlay column '{route}' of array {i + 1}: its "
                                 f"structure differs from the base array ({e})") from e
    return base


def apply_aliases(events: ak.Array, aliases: Mapping[RouteLike, RouteLike]) -> ak.Array:
    """Replace columns by others, e.g. ``{"Jet.pt": "Jet.pt_jec_up"}`` for a shift.

    All sources are read before any target is set, so aliases may swap columns.
    """
    values = {}
    for target, source in aliases.items():
        source = Route(source)
        if not has_ak_column(events, source):
            raise KeyError(f"alias '{Route(target)}' -> '{source}': source column '{source}' "
                           "not found")
        values[Route(target)] = source.apply(events)
    for target, value in values.items():
        events = set_ak_column(events, target, value)
    return events
