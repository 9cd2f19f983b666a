"""Tests of the task array function machinery: declarations, dependency trees, hooks, column
and shift resolution, registry, run-time checks and selection results."""

from __future__ import annotations

import awkward as ak
import numpy as np
import order as od
import pytest

from columnar.array_function import (
    DuplicateTAFError,
    MissingColumnsError,
    SelectionResult,
    TAFError,
    TaskArrayFunction,
    UnknownTAFError,
    resolve_taf_names,
)
from columnar.calibrators import Calibrator, calibrator
from columnar.categorizers import categorizer
from columnar.columns import Route, get_ak_routes, set_ak_column
from columnar.hist_producers import hist_producer
from columnar.producers import Producer, producer
from columnar.reducers import Reducer, reducer
from columnar.selectors import Selector, selector

# -- a three-level tree: tree_top uses tree_mid (which uses tree_leaf) and the mc-only weight --


@producer(uses={"Jet.pt"}, produces={"ht"})
def tree_leaf(self, events, **kwargs):
    return set_ak_column(events, "ht", ak.sum(events.Jet.pt, axis=1))


@producer(uses={tree_leaf, "Jet.eta"}, produces={tree_leaf, "n_central"})
def tree_mid(self, events, **kwargs):
    events = self[tree_leaf](events, **kwargs)
    return set_ak_column(events, "n_central", ak.sum(abs(events.Jet.eta) < 2.4, axis=1))


@producer(uses={"genWeight"}, produces={"weight.{nominal,up,down}"}, mc_only=True,
          shifts={"wscale_{up,down}"})
def tree_weight(self, events, **kwargs):
    for name, factor in (("nominal", 1.0), ("up", 1.1), ("down", 0.9)):
        events = set_ak_column(events, f"weight.{name}", events.genWeight * factor)
    return events


@producer(uses={tree_mid, tree_weight, "MET.pt"}, produces={tree_mid, tree_weight, "st"},
          shifts={"met_{up,down}"})
def tree_top(self, events, **kwargs):
    events = self[tree_mid](events, **kwargs)
    events = self[tree_weight](events, **kwargs)
    return set_ak_column(events, "st", events.ht + events.MET.pt)


@pytest.fixture(scope="module")
def config():
    analysis = od.Analysis("test_analysis", 1)
    return analysis.add_config(name="test_config", id=1, campaign=od.Campaign("test_camp", 1))


@pytest.fixture(scope="module")
def mc_dataset():
    return od.Dataset("mc_ds", 1, is_data=False)


@pytest.fixture(scope="module")
def data_dataset():
    return od.Dataset("data_ds", 2, is_data=True)


@pytest.fixture
def events() -> ak.Array:
    return ak.Array({
        "genWeight": np.array([1.0, -2.0, 0.5], dtype=np.float32),
        "Jet": [[{"pt": 50.0, "eta": 0.5}, {"pt": 30.0, "eta": -3.0}], [],
                [{"pt": 70.0, "eta": 2.0}]],
        "MET": {"pt": [10.0, 20.0, 30.0]},
    })


def cols(routes) -> set[str]:
    return {Route(r).column for r in routes}


def test_tree_resolution_mc(config, mc_dataset, events):
    inst = tree_top(config_inst=config, dataset_inst=mc_dataset)
    assert inst.config_inst is config and inst.dataset_inst is mc_dataset
    assert inst.analysis_inst is config.analysis
    assert cols(inst.used_columns) == {"Jet.pt", "Jet.eta", "genWeight", "MET.pt"}
    assert cols(inst.produced_columns) == {
        "ht", "n_central", "weight.nominal", "weight.up", "weight.down", "st"}
    assert inst.all_shifts == {"met_up", "met_down", "wscale_up", "wscale_down"}
    # calling it produces exactly the declared columns
    out = inst(events)
    new = cols(get_ak_routes(out)) - cols(get_ak_routes(events))
    assert new == cols(inst.produced_columns)
    assert out.st.tolist() == [90.0, 20.0, 100.0]
    assert out.n_central.tolist() == [1, 0, 1]
    assert np.allclose(out.weight.up.to_numpy(), [1.1, -2.2, 0.55])


def test_tree_resolution_data(config, data_dataset, events):
    inst = tree_top(config_inst=config, dataset_inst=data_dataset)
    assert inst[tree_weight].skipped
    assert cols(inst.used_columns) == {"Jet.pt", "Jet.eta", "MET.pt"}
    assert cols(inst.produced_columns) == {"ht", "n_central", "st"}
    assert inst.all_shifts == {"met_up", "met_down"}
    data_events = events[["Jet", "MET"]]
    out = inst(data_events)
    new = cols(get_ak_routes(out)) - cols(get_ak_routes(data_events))
    assert new == {"ht", "n_central", "st"}
    assert [i.cls_name for i in inst.walk()] == ["tree_top", "tree_mid", "tree_leaf"]


def test_dependencies_shared_within_tree(config, mc_dataset):
    @producer(uses={tree_leaf, tree_mid}, produces={tree_leaf})
    def shares_leaf(self, events, **kwargs):
        return self[tree_mid](events)

    inst = shares_leaf(config_inst=config, dataset_inst=mc_dataset)
    assert inst[tree_leaf] is inst[tree_mid][tree_leaf]
    assert inst["tree_leaf"] is inst[tree_leaf]
    with pytest.raises(TAFError, match="producer 'shares_leaf' has no dependency 'tree_top'"):
        inst[tree_top]
    with pytest.raises(TypeError):
        inst[3]


def test_dependency_in_uses_only_contributes_used_columns():
    @producer(uses={tree_leaf}, produces={"ht_squared"})
    def squares(self, events, **kwargs):
        events = self[tree_leaf](events)
        return set_ak_column(events, "ht_squared", events.ht ** 2)

    inst = squares()
    assert cols(inst.used_columns) == {"Jet.pt"}
    assert cols(inst.produced_columns) == {"ht_squared"}
    assert inst.is_mc is None


def test_hooks_order_and_init_changes(config, mc_dataset):
    calls = []

    @producer(uses={"Jet.pt"}, produces={"base"})
    def hooked(self, events, **kwargs):
        calls.append("call")
        events = set_ak_column(events, "base", events.Jet.pt[:, :1])
        return set_ak_column(events, self.extra_column, ak.num(events.Jet.pt, axis=1))

    @hooked.init
    def hooked_init(self):
        calls.append("init")
        assert self.config_inst is config
        self.extra_column = f"n_{self.config_inst.name}"
        self.produces.add(self.extra_column)
        self.uses.add(tree_leaf)

    @hooked.requires
    def hooked_requires(self, task, reqs):
        calls.append("requires")
        reqs["stats"] = f"stats_of_{task}"

    @hooked.setup
    def hooked_setup(self, task, inputs):
        calls.append("setup")
        self.factor = inputs["factor"]

    @hooked.teardown
    def hooked_teardown(self, task):
        calls.append("teardown")
        del self.factor

    inst = hooked(config_inst=config, dataset_inst=mc_dataset)
    assert calls == ["init"]
    # class-level declarations are untouched by the init hook
    assert hooked.produces == {"base"}
    assert cols(inst.produced_columns) == {"base", "n_test_config"}
    assert tree_leaf in inst.deps
    reqs = inst.run_requires("task_x")
    assert reqs == {"stats": "stats_of_task_x"}
    inst.run_setup("task_x", {"factor": 2})
    assert inst.factor == 2
    out = inst(ak.Array({"Jet": [[{"pt": 1.0}], []]}))
    assert out.n_test_config.tolist() == [1, 0]
    inst.run_teardown("task_x")
    assert calls == ["init", "requires", "setup", "call", "teardown"]
    assert not hasattr(inst, "factor")


def test_skip_hook_and_data_only(config, mc_dataset, data_dataset, events):
    @calibrator(uses={"Jet.pt"}, produces={"Jet.pt_raw"}, data_only=True)
    def data_calib(self, events, **kwargs):
        return set_ak_column(events, "Jet.pt_raw", events.Jet.pt)

    assert data_calib(dataset_inst=mc_dataset).skipped
    assert not data_calib(dataset_inst=data_dataset).skipped
    assert data_calib(dataset_inst=mc_dataset)(events) is events

    @producer(uses={"Jet.pt"}, produces={"flag"})
    def maybe(self, events, **kwargs):
        return set_ak_column(events, "flag", ak.num(events.Jet.pt, axis=1) > 0)

    @maybe.skip
    def maybe_skip(self):
        return self.dataset_inst.name.startswith("data")

    assert maybe(dataset_inst=data_dataset).skipped
    assert maybe(dataset_inst=data_dataset).used_columns == set()
    assert not maybe(dataset_inst=mc_dataset).skipped


def test_specialisation(events):
    @producer(collection="Jet")
    def n_objects(self, events, **kwargs):
        return set_ak_column(events, f"n_{self.collection}",
                             ak.num(events[self.collection], axis=1))

    @n_objects.init
    def n_objects_init(self):
        self.uses.add(f"{self.collection}.pt")
        self.produces.add(f"n_{self.collection}")

    n_muons = n_objects.derive("n_muons", cls_dict={"collection": "Muon"})
    assert issubclass(n_muons, n_objects) and Producer.get_cls("n_muons") is n_muons
    ev = set_ak_column(events, "Muon", ak.zip({"pt": ak.Array([[1.0], [], [2.0, 3.0]])}))
    assert cols(n_muons().used_columns) == {"Muon.pt"}
    assert n_muons()(ev).n_Muon.tolist() == [1, 0, 2]
    assert n_objects()(ev).n_Jet.tolist() == [2, 0, 1]
    # decorator form with bases
    n_jets_again = producer(lambda self, events, **kw: n_objects.call_func(self, events),
                            bases=(n_objects,), name="n_jets_again", collection="Jet")
    assert n_jets_again()(ev).n_Jet.tolist() == [2, 0, 1]


def test_registry_and_names():
    assert Producer.get_cls("tree_top") is tree_top
    assert "tree_top" in Producer.registered_names()
    assert resolve_taf_names(Producer, "tree_top, tree_leaf") == [tree_top, tree_leaf]
    assert resolve_taf_names(Producer, ["tree_mid"]) == [tree_mid]
    with pytest.raises(UnknownTAFError, match="unknown producer 'nope'; valid names: .*tree_top"):
        resolve_taf_names(Producer, "tree_top,nope")
    # kinds have separate registries
    with pytest.raises(UnknownTAFError, match="unknown calibrator 'tree_top'"):
        Calibrator.get_cls("tree_top")


def test_duplicate_name_is_an_error():
    with pytest.raises(DuplicateTAFError, match="producer 'tree_leaf' .* different producer"):
        @producer(name="tree_leaf")
        def another_leaf(self, events, **kwargs):
            return events
    # re-registering the same definition (e.g. a module imported again) is fine
    Producer.register(tree_leaf)
    assert Producer.get_cls("tree_leaf") is tree_leaf


def test_missing_used_column_error(events):
    with pytest.raises(MissingColumnsError,
                       match="producer 'tree_weight' uses columns that did not arrive: genWeight"):
        tree_weight()(events[["Jet", "MET"]])
    with pytest.raises(MissingColumnsError,
                       match="producer 'tree_leaf' uses columns that did not arrive: Jet.pt"):
        tree_mid()(ak.Array({"Jet": ak.zip({"eta": events.Jet.eta})}))

    @producer(uses={"Muon.*"}, produces={"x"})
    def pattern_user(self, events, **kwargs):
        return set_ak_column(events, "x", np.zeros(len(events)))

    with pytest.raises(MissingColumnsError, match="'pattern_user' uses .*: Muon.\\*"):
        pattern_user()(events)


def test_missing_produced_column_error(events):
    @producer(uses={"Jet.pt"}, produces={"ht", "forgotten"})
    def forgetful(self, events, **kwargs):
        return set_ak_column(events, "ht", ak.sum(events.Jet.pt, axis=1))

    with pytest.raises(MissingColumnsError,
                       match="producer 'forgetful' declares produced columns that it did not "
                             "write: forgotten"):
        forgetful()(events)

    @producer(uses={tree_leaf}, produces={tree_leaf})
    def lazy_parent(self, events, **kwargs):
        return events  # never calls its dependency

    with pytest.raises(MissingColumnsError, match="'lazy_parent' .* did not write: ht"):
        lazy_parent()(events)

    @producer(produces={"x"})
    def wrong_type(self, events, **kwargs):
        return {"x": 1}

    with pytest.raises(TAFError, match="'wrong_type' must return an awkward array"):
        wrong_type()(events)


def test_checks_can_be_disabled(events):
    @producer(uses={"missing"}, produces={"also_missing"}, check_used_columns=False,
              check_produced_columns=False)
    def unchecked(self, events, **kwargs):
        return events

    assert unchecked()(events) is events


def test_no_function():
    class Bare(Producer):
        pass

    with pytest.raises(TAFError, match="has no function to call"):
        Bare()


def test_decorator_without_arguments(events):
    @producer
    def plain(self, events, **kwargs):
        """Docstring kept."""
        return events

    assert plain.__doc__ == "Docstring kept."
    assert plain()(events) is events
    assert repr(plain()) == "<plain producer 'plain'>"


# -- kinds returning tuples ------------------------------------------------------------------------

@selector(uses={"Jet.pt"}, produces={"n_sel_jet"})
def jet_sel(self, events, **kwargs):
    mask = events.Jet.pt > 40
    events = set_ak_column(events, "n_sel_jet", ak.sum(mask, axis=1))
    idx = ak.argsort(events.Jet.pt, ascending=False)
    return events, SelectionResult(steps={"jet": events.n_sel_jet >= 1},
                                   objects={"Jet": idx[mask[idx]]})


@selector(uses={jet_sel, "MET.pt"}, produces={jet_sel}, exposed=True)
def top_sel(self, events, **kwargs):
    events, result = self[jet_sel](events)
    result += SelectionResult(steps={"met": events.MET.pt > 15}, aux={"note": 1})
    result.event = result.steps["jet"] & result.steps["met"]
    return events, result


def test_selector_result(events):
    out, result = top_sel()(events)
    assert result.event.tolist() == [False, False, True]
    assert sorted(result.steps) == ["jet", "met"]
    assert result.objects == {"Jet": {"Jet": result.objects["Jet"]["Jet"]}}
    assert result.objects["Jet"]["Jet"].tolist() == [[0], [], [0]]
    stored = result.to_ak()
    assert ak.fields(stored) == ["event", "steps", "objects"]
    assert stored.objects.Jet.Jet.tolist() == [[0], [], [0]]
    assert "steps=['jet', 'met']" in repr(result)


def test_selection_result_merging():
    a = SelectionResult(event=ak.Array([True, True, False]), steps={"a": ak.Array([1, 1, 0]) > 0},
                        objects={"Jet": {"Jet": ak.Array([[0], [], []])}}, aux={"x": 1})
    b = SelectionResult(event=ak.Array([True, False, True]),
                        objects={"Jet": {"BJet": ak.Array([[], [], [1]])}}, aux={"x": 2})
    c = a + b
    assert c.event.tolist() == [True, False, False]
    assert sorted(c.objects["Jet"]) == ["BJet", "Jet"]
    assert c.aux == {"x": 2}
    assert a.event.tolist() == [True, True, False]  # + does not change its operands
    a += SelectionResult()
    assert a.event.tolist() == [True, True, False]
    # without an explicit event mask, the AND of all steps
    d = SelectionResult(steps={"s1": ak.Array([True, False]), "s2": ak.Array([True, True])})
    assert d.event_mask(2).tolist() == [True, False]
    assert SelectionResult().event_mask(2).tolist() == [True, True]
    assert d.to_ak().event.tolist() == [True, False]
    with pytest.raises(ValueError, match="empty SelectionResult"):
        SelectionResult().to_ak()
    with pytest.raises(TypeError):
        a += 1


def test_selector_must_return_result(events, data_dataset):
    @selector(uses={"Jet.pt"})
    def bad_sel(self, events, **kwargs):
        return events

    with pytest.raises(TAFError, match="selector 'bad_sel' must return \\(events, "
                                       "SelectionResult\\)"):
        bad_sel()(events)

    @selector(mc_only=True)
    def mc_sel(self, events, **kwargs):
        raise AssertionError("not called for data")

    out, result = mc_sel(dataset_inst=data_dataset)(events)
    assert out is events and isinstance(result, SelectionResult)


def test_categorizer_and_hist_producer(events, data_dataset):
    @categorizer(uses={"MET.pt"})
    def high_met(self, events, **kwargs):
        return events, events.MET.pt > 15

    assert high_met()(events)[1].tolist() == [False, True, True]

    @categorizer(mc_only=True)
    def mc_cat(self, events, **kwargs):
        return events, None

    assert mc_cat(dataset_inst=data_dataset)(events)[1].tolist() == [True] * 3

    @categorizer
    def broken_cat(self, events, **kwargs):
        return events

    with pytest.raises(TAFError, match="categorizer 'broken_cat' must return"):
        broken_cat()(events)

    @hist_producer(uses={"genWeight"}, mc_only=True)
    def gen_weight(self, events, **kwargs):
        return events, events.genWeight

    assert gen_weight()(events)[1].tolist() == [1.0, -2.0, 0.5]
    assert gen_weight(dataset_inst=data_dataset)(events)[1].tolist() == [1.0, 1.0, 1.0]

    @hist_producer
    def broken_hp(self, events, **kwargs):
        return events

    with pytest.raises(TAFError, match="hist producer 'broken_hp' must return"):
        broken_hp()(events)


def test_reducer_kind(events):
    @reducer(uses={"Jet.pt"}, produces={"Jet.pt"})
    def keep_all(self, events, selection=None, **kwargs):
        return events[selection]

    assert Reducer.get_cls("keep_all") is keep_all
    out = keep_all()(events, selection=ak.Array([True, False, True]))
    assert len(out) == 2


def test_base_classes():
    assert Selector.kind == "selector" and Reducer.kind == "reducer"
    assert issubclass(Calibrator, TaskArrayFunction)
    assert TaskArrayFunction.result_events((1, 2)) == 1
