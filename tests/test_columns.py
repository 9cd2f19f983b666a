"""Tests of the column toolkit on real awkward arrays, with property-based tests for routes,
set/remove round trips, overlay and aliases."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from columnar.columns import (
    EMPTY_FLOAT,
    EMPTY_INT,
    Route,
    apply_aliases,
    expand_braces,
    flat_np_view,
    get_ak_routes,
    has_ak_column,
    is_pattern,
    layout_ak_array,
    overlay,
    remove_ak_column,
    resolve_columns,
    set_ak_column,
)


@pytest.fixture
def events() -> ak.Array:
    return ak.Array({
        "run": np.array([1, 1, 2], dtype=np.uint32),
        "Jet": [
            [{"pt": 50.0, "eta": 0.5}, {"pt": 30.0, "eta": -1.0}],
            [],
            [{"pt": 70.0, "eta": 2.0}],
        ],
        "MET": {"pt": [10.0, 20.0, 30.0]},
    })


# -- routes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, fields", [
    ("Jet.pt", ("Jet", "pt")),
    (("Jet", "pt"), ("Jet", "pt")),
    (["Jet", "pt"], ("Jet", "pt")),
    ("Jet_pt", ("Jet", "pt")),
    ("Jet_pt_jec_up", ("Jet", "pt_jec_up")),
    ("MET_pt", ("MET", "pt")),
    ("m_bjj", ("m_bjj",)),
    ("normalization_weight", ("normalization_weight",)),
    ("genWeight", ("genWeight",)),
    ("Jet.pt_jec_up", ("Jet", "pt_jec_up")),
    ("a.b.c", ("a", "b", "c")),
])
def test_route_forms(spec, fields):
    route = Route(spec)
    assert route.fields == fields
    assert route.column == ".".join(fields)
    assert route.nano_column == "_".join(fields)
    assert Route(route) == route
    assert route == ".".join(fields)


def test_route_explicit_constructors():
    assert Route.from_nano("Jet_pt_raw").fields == ("Jet", "pt_raw")
    assert Route.from_nano("run").fields == ("run",)
    assert Route.from_column("HLT_IsoMu24").fields == ("HLT_IsoMu24",)
    assert Route.from_column("Jet.pt[:,0]").index == (slice(None), 0)


def test_route_helpers():
    route = Route("Jet.pt")
    assert route.name == "pt"
    assert route.parent == Route("Jet")
    assert route + "x" == Route("Jet.pt.x")
    assert list(route) == ["Jet", "pt"] and len(route) == 2
    assert route.startswith("Jet") and not route.startswith("Muon")
    assert sorted([Route("b"), Route("a")]) == [Route("a"), Route("b")]
    assert {Route("Jet_pt"), Route("Jet.pt")} == {Route("Jet.pt")}
    assert repr(route) == "Route('Jet.pt')" and str(route) == "Jet.pt"
    assert route != 3 and route != "not.a..route"


@pytest.mark.parametrize("bad", ["Jet..pt", ".pt", "Jet.pt[:,x]", "Jet.pt[1:2:3:4]"])
def test_route_invalid(bad):
    with pytest.raises(ValueError):
        Route(bad)


def test_route_invalid_type():
    with pytest.raises(TypeError, match="cannot interpret"):
        Route(3.5)


def test_route_index_apply(events):
    lead = Route("Jet.pt[:,0]")
    assert lead.column == "Jet.pt[:,0]" and lead.nano_column == "Jet_pt"
    assert lead.without_index() == Route("Jet.pt")
    assert lead.apply(events, null_value=EMPTY_FLOAT).tolist() == [50.0, EMPTY_FLOAT, 70.0]
    assert lead.apply(events).tolist() == [50.0, None, 70.0]
    sub = Route("Jet.pt[:,1]").apply(events, null_value=EMPTY_FLOAT)
    assert sub.tolist() == [30.0, EMPTY_FLOAT, EMPTY_FLOAT]
    assert Route("Jet.pt[:,-1]").apply(events, null_value=0).tolist() == [30.0, 0, 70.0]
    assert Route("Jet.pt[:,0:1]").apply(events).tolist() == [[50.0], [], [70.0]]
    assert Route("Jet.pt[:, ::2]").column == "Jet.pt[:,::2]"
    assert Route("Jet.pt[None]").index == (None,)
    assert Route("run").apply(events).tolist() == [1, 1, 2]


def test_route_apply_missing(events):
    with pytest.raises(KeyError, match="'Jet' has no field 'mass'"):
        Route("Jet.mass").apply(events)


names = st.from_regex(r"[a-z][a-zA-Z0-9]{0,6}", fullmatch=True)


@given(st.lists(names, min_size=1, max_size=4))
def test_route_roundtrip_property(fields):
    route = Route(tuple(fields))
    assert Route(route.column) == route
    assert Route.from_column(route.column) == route
    assert Route(route.fields) == route
    assert hash(Route(route.column)) == hash(route)


@given(st.lists(names, min_size=1, max_size=3), st.integers(-3, 3))
def test_route_index_roundtrip_property(fields, idx):
    route = Route(".".join(fields) + f"[:,{idx}]")
    assert Route(route.column) == route
    assert route.index == (slice(None), idx)


# -- set / remove / has / routes ----------------------------------------------------------------

def test_set_new_top_level_and_nested(events):
    out = set_ak_column(events, "ht", ak.sum(events.Jet.pt, axis=1))
    assert out.ht.tolist() == [80.0, 0.0, 70.0]
    out = set_ak_column(out, "weights.btag.up", np.ones(3), value_type=np.float32)
    assert out.weights.btag.up.type.content.primitive == "float32"
    out = set_ak_column(out, "Jet.pt2", events.Jet.pt * 2)
    assert out.Jet.pt2.tolist() == [[100.0, 60.0], [], [140.0]]
    # a new record inside a jagged collection holds one value per object
    out = set_ak_column(out, "Jet.sf.nominal", events.Jet.pt * 0 + 1)
    assert str(out.Jet.sf.nominal.type) == "3 * var * float64"
    # the input is never changed
    assert not has_ak_column(events, "ht")


def test_set_replaces_and_casts(events):
    out = set_ak_column(events, "Jet.pt", events.Jet.pt + 1, value_type=np.float32)
    assert out.Jet.pt.tolist() == [[51.0, 31.0], [], [71.0]]
    assert str(out.Jet.pt.type) == "3 * var * float32"
    assert out.Jet.eta.tolist() == events.Jet.eta.tolist()


def test_set_errors(events):
    with pytest.raises(ValueError, match="run' is not a record"):
        set_ak_column(events, "run.x.y", np.zeros(3))
    with pytest.raises(ValueError, match="cannot set column 'Jet.bad'"):
        set_ak_column(events, "Jet.bad", ak.Array([[1.0], [], [1.0]]))
    with pytest.raises(ValueError, match="empty route"):
        set_ak_column(events, (), np.zeros(3))


def test_remove(events):
    out = remove_ak_column(events, "Jet.eta")
    assert ak.fields(out.Jet) == ["pt"]
    out = remove_ak_column(out, "MET.pt")
    assert "MET" not in ak.fields(out)  # empty record removed
    kept = remove_ak_column(events, "MET.pt", remove_empty=False)
    assert "MET" in ak.fields(kept)
    assert remove_ak_column(events, "nope", silent=True) is events
    with pytest.raises(KeyError, match="cannot remove column 'nope'"):
        remove_ak_column(events, "nope")


def test_has_column(events):
    assert has_ak_column(events, "Jet.pt")
    assert has_ak_column(events, "Jet")
    assert not has_ak_column(events, "Jet.mass")
    assert not has_ak_column(events, "run.x")


def test_get_ak_routes(events):
    assert [r.column for r in get_ak_routes(events)] == ["run", "Jet.pt", "Jet.eta", "MET.pt"]
    assert [r.column for r in get_ak_routes(events, max_depth=1)] == ["run", "Jet", "MET"]
    assert [r.column for r in get_ak_routes(events, include=["Jet.*"])] == ["Jet.pt", "Jet.eta"]
    assert [r.column for r in get_ak_routes(events, exclude=["Jet"])] == ["run", "MET.pt"]
    strings = ak.Array({"name": ["a", "bc"], "x": [1, 2]})
    assert [r.column for r in get_ak_routes(strings)] == ["name", "x"]
    opt = ak.Array({"a": [{"b": 1}, None]})
    assert [r.column for r in get_ak_routes(opt)] == ["a.b"]


nested_values = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=0, max_size=4)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(nested_values, min_size=1, max_size=8),
    st.lists(names, min_size=1, max_size=3),
)
def test_set_remove_roundtrip_property(jagged, fields):
    base = ak.Array({"Jet": ak.zip({"pt": ak.Array(jagged)}), "run": np.arange(len(jagged))})
    route = Route(("new",) + tuple(fields))
    value = ak.num(base.Jet.pt, axis=1) * 1.5
    out = set_ak_column(base, route, value)
    assert has_ak_column(out, route)
    assert route.apply(out).tolist() == value.tolist()
    back = remove_ak_column(out, route)
    assert back.tolist() == base.tolist()
    assert get_ak_routes(back) == get_ak_routes(base)
    # setting inside the jagged collection and removing again
    inner = Route(("Jet",) + tuple(fields))
    out = set_ak_column(base, inner, base.Jet.pt * 2)
    assert inner.apply(out).tolist() == (base.Jet.pt * 2).tolist()
    assert remove_ak_column(out, inner).tolist() == base.tolist()


# -- flat views -----------------------------------------------------------------------------------

def test_flat_np_view_and_layout(events):
    view = flat_np_view(events.Jet.pt)
    assert view.tolist() == [50.0, 30.0, 70.0]
    scaled = layout_ak_array(view * 1.03, events.Jet.pt)
    assert ak.all(ak.num(scaled, axis=1) == ak.num(events.Jet.pt, axis=1))
    assert np.allclose(flat_np_view(scaled), [51.5, 30.9, 72.1])
    # sliced (non-packed) arrays are laid out correctly as well
    sliced = events.Jet.pt[1:]
    assert layout_ak_array(flat_np_view(sliced) + 1, sliced).tolist() == [[], [71.0]]
    doubly = ak.Array([[[1, 2], []], [[3]]])
    assert layout_ak_array(np.array([4, 5, 6]), doubly).tolist() == [[[4, 5], []], [[6]]]
    with pytest.raises(ValueError, match="cannot lay out 2 values"):
        layout_ak_array(np.zeros(2), events.Jet.pt)


def test_flat_np_view_is_a_view_when_packed():
    arr = ak.Array([[1.0, 2.0], [3.0]])
    view = flat_np_view(arr)
    view[0] = 10.0
    assert arr.tolist() == [[10.0, 2.0], [3.0]]


def test_empty_constants():
    assert EMPTY_FLOAT == -99999.0 and EMPTY_INT == -99999 and isinstance(EMPTY_INT, int)


# -- specs ----------------------------------------------------------------------------------------

def test_expand_braces():
    assert expand_braces("Jet.{pt,eta}") == ["Jet.pt", "Jet.eta"]
    assert expand_braces("plain") == ["plain"]
    assert expand_braces("{Jet,Muon}.{pt,eta}") == ["Jet.pt", "Jet.eta", "Muon.pt", "Muon.eta"]
    assert expand_braces("w{,_up,_down}") == ["w", "w_up", "w_down"]
    assert expand_braces("a.{b,c{1,2}}") == ["a.b", "a.c1", "a.c2"]
    with pytest.raises(ValueError, match="unbalanced"):
        expand_braces("Jet.{pt")


def test_is_pattern():
    assert is_pattern("Jet.*") and is_pattern("x?") and not is_pattern("Jet.pt")


def test_resolve_columns(events):
    avail = get_ak_routes(set_ak_column(events, "cutflow.n_jet", np.zeros(3)))
    cols = lambda specs, **kw: [r.column for r in resolve_columns(specs, avail, **kw)]  # noqa
    assert cols(["Jet.*"]) == ["Jet.pt", "Jet.eta"]
    assert cols(["cutflow.*", "run"]) == ["run", "cutflow.n_jet"]
    assert cols(["Jet"]) == ["Jet.pt", "Jet.eta"]
    assert cols(["Jet.{pt,eta}", "MET.pt"]) == ["Jet.pt", "Jet.eta", "MET.pt"]
    assert cols("*.pt") == ["Jet.pt", "MET.pt"]
    assert cols(["J*"]) == ["Jet.pt", "Jet.eta"]
    assert cols([Route("run")]) == ["run"]
    assert cols(["Muon.*"]) == []
    with pytest.raises(KeyError, match="no column matches Muon.pt"):
        resolve_columns(["Muon.pt", "run"], avail, strict=True)


# -- overlay and aliases --------------------------------------------------------------------------

def test_overlay(events):
    calib = ak.Array({"Jet": ak.zip({"pt": events.Jet.pt * 2, "pt_raw": events.Jet.pt})})
    extra = ak.Array({"ht": [1.0, 2.0, 3.0], "Jet": ak.zip({"pt": events.Jet.pt * 3})})
    out = overlay(events, calib, extra)
    assert out.Jet.pt.tolist() == (events.Jet.pt * 3).tolist()  # last wins
    assert out.Jet.pt_raw.tolist() == events.Jet.pt.tolist()
    assert out.Jet.eta.tolist() == events.Jet.eta.tolist()
    assert out.ht.tolist() == [1.0, 2.0, 3.0]
    assert {r.column for r in get_ak_routes(out)} == {
        "run", "Jet.pt", "Jet.eta", "Jet.pt_raw", "MET.pt", "ht"}
    with pytest.raises(ValueError, match="cannot overlay array 1 with 2 entries"):
        overlay(events, events[:2])
    bad = ak.Array({"Jet": ak.zip({"x": ak.Array([[1.0], [1.0], []])})})
    with pytest.raises(ValueError, match="cannot overlay column 'Jet.x'"):
        overlay(events, bad)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 100), st.floats(0, 100), st.floats(0, 100)),
             min_size=1, max_size=10),
    st.permutations(["a", "b", "c"]),
)
def test_overlay_property(rows, order):
    """Every column of the result comes from the last array that has it."""
    a = ak.Array({"x": [r[0] for r in rows], "rec": {"y": [r[0] for r in rows]}})
    b = ak.Array({"x": [r[1] for r in rows], "z": [r[1] for r in rows]})
    c = ak.Array({"rec": {"y": [r[2] for r in rows], "w": [r[2] for r in rows]}})
    arrays = {"a": a, "b": b, "c": c}
    out = overlay(*(arrays[k] for k in order))
    for route in get_ak_routes(out):
        providers = [k for k in order if has_ak_column(arrays[k], route)]
        assert providers, route
        assert route.apply(out).tolist() == route.apply(arrays[providers[-1]]).tolist()
    expected = set()
    for arr in arrays.values():
        expected |= {r.column for r in get_ak_routes(arr)}
    assert {r.column for r in get_ak_routes(out)} == expected


def test_apply_aliases(events):
    ev = set_ak_column(events, "Jet.pt_up", events.Jet.pt * 1.03)
    out = apply_aliases(ev, {"Jet.pt": "Jet.pt_up"})
    assert out.Jet.pt.tolist() == ev.Jet.pt_up.tolist()
    assert out.Jet.pt_up.tolist() == ev.Jet.pt_up.tolist()
    swapped = apply_aliases(ev, {"Jet.pt": "Jet.pt_up", "Jet.pt_up": "Jet.pt"})
    assert swapped.Jet.pt_up.tolist() == ev.Jet.pt.tolist()
    with pytest.raises(KeyError, match="source column 'Jet.pt_down' not found"):
        apply_aliases(ev, {"Jet.pt": "Jet.pt_down"})


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=10),
       st.sampled_from(["w", "weights.btag", "x_up"]))
def test_alias_property(values, target):
    src = np.array(values)
    ev = ak.Array({"w": np.zeros(len(src)), "src": src, "weights": {"btag": np.ones(len(src))},
                   "x_up": -src})
    out = apply_aliases(ev, {target: "src"})
    assert Route(target).apply(out).tolist() == src.tolist()
    # all other columns untouched
    for route in get_ak_routes(ev):
        if route != Route(target):
            assert route.apply(out).tolist() == route.apply(ev).tolist()
