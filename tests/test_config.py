"""Tests of the config helpers on order objects."""

from __future__ import annotations

import awkward as ak
import numpy as np
import order as od
import pytest

from columnar.columns import EMPTY_FLOAT
from columnar.config import (
    ConfigError,
    add_category,
    add_category_combinations,
    add_shift_group,
    add_shift_source,
    add_variable,
    category_categorizers,
    expand_shift_sources,
    get_default,
    get_keep_columns,
    get_shift_aliases,
    get_shift_sources,
    get_shifts_from_sources,
    lumi_pb,
    set_defaults,
    set_keep_columns,
    variable_values,
)


@pytest.fixture
def config() -> od.Config:
    analysis = od.Analysis("cfg_test", 1)
    return analysis.add_config(name="c", id=1, campaign=od.Campaign("camp", 1, ecm=13))


def test_shift_sources_and_aliases(config):
    up, down = add_shift_source(config, "jec", 2, aliases={"Jet.pt": "Jet.pt_{name}",
                                                           "Jet_mass": "Jet.mass_{name}"})
    add_shift_source(config, "btag", 4, type=od.Shift.RATE,
                     aliases={"btag_weight": "btag_weight_{direction}"})
    assert (up.name, up.id, down.name, down.id) == ("jec_up", 2, "jec_down", 3)
    assert up.source == "jec" and up.is_up and down.is_down
    assert config.get_shift("nominal").id == 0
    assert get_shift_aliases(up) == {"Jet.pt": "Jet.pt_jec_up", "Jet.mass": "Jet.mass_jec_up"}
    assert get_shift_aliases(config.get_shift("btag_down")) == {
        "btag_weight": "btag_weight_down"}
    assert get_shift_aliases(config.get_shift("nominal")) == {}
    assert get_shift_sources(config) == ["jec", "btag"]
    assert [s.name for s in get_shifts_from_sources(config, "btag", "jec")] == [
        "btag_up", "btag_down", "jec_up", "jec_down"]
    with pytest.raises(ConfigError, match="already has a shift 'jec_up'"):
        add_shift_source(config, "jec", 10)


def test_shift_groups(config):
    add_shift_source(config, "jec", 2)
    add_shift_source(config, "jer", 4)
    add_shift_source(config, "mu", 6)
    add_shift_group(config, "jet", ["jec", "jer"])
    assert expand_shift_sources(config, ["jet", "mu", "jec"]) == ["jec", "jer", "mu"]
    assert len(get_shifts_from_sources(config, "jet")) == 4
    with pytest.raises(ConfigError, match="unknown shift source 'pdf'.*valid sources: jec, jer, "
                                          "mu; groups: jet"):
        expand_shift_sources(config, ["pdf"])
    with pytest.raises(ConfigError, match="shift group 'bad' .* unknown sources pdf"):
        add_shift_group(config, "bad", ["pdf"])


def test_variables(config):
    events = ak.Array({"ht": [100.0, 200.0], "Jet": [[{"pt": 40.0}], []], "MET": {"pt": [1, 2]}})
    ht = add_variable(config, "ht", binning=(25, 50, 550), x_title=r"$H_T$", unit="GeV")
    assert ht.binning == (25, 50.0, 550.0) and ht.even_binning
    assert ht.get_full_x_title() == r"$H_T$ / GeV"
    assert variable_values(ht, events).tolist() == [100.0, 200.0]
    lead = add_variable(config, "jet1_pt", "Jet.pt[:,0]", binning=[0, 50, 100, 400])
    assert lead.bin_edges == [0.0, 50.0, 100.0, 400.0] and not lead.even_binning
    assert variable_values(lead, events).tolist() == [40.0, EMPTY_FLOAT]
    met = add_variable(config, "met", "MET_pt", binning=(10, 0, 100))
    assert variable_values(met, events).tolist() == [1, 2]
    ratio = add_variable(config, "ratio", lambda ev: ev.ht / 100, binning=(4, 0, 4))
    assert np.allclose(variable_values(ratio, events).to_numpy(), [1.0, 2.0])
    opt = add_variable(config, "opt", lambda ev: ak.firsts(ev.Jet.pt), binning=(4, 0, 4),
                       null_value=-1.0)
    assert variable_values(opt, events).tolist() == [40.0, -1.0]
    assert add_variable(config, "plain").x_title == "plain"
    for bad in [(0, 0, 1), (5, 1, 1), [1.0], [0, 2, 1]]:
        with pytest.raises(ConfigError, match="variable 'bad'"):
            add_variable(config, "bad", binning=bad)


def test_categories_and_combinations(config):
    add_category(config, "e", 1, "cat_e")
    add_category(config, "mu", 2, "cat_mu", label=r"$\mu$")
    add_category(config, "1b", 10, ["cat_4j", "cat_1b"])
    add_category(config, "2b", 20, "cat_2b")
    assert category_categorizers(config.get_category("1b")) == ["cat_4j", "cat_1b"]
    assert config.get_category("mu").label == r"$\mu$"
    combos = add_category_combinations(config, {"lepton": ["e", "mu"], "btag": ["1b", "2b"]})
    assert [(c.name, c.id) for c in combos] == [
        ("e__1b", 11), ("e__2b", 21), ("mu__1b", 12), ("mu__2b", 22)]
    e_1b = config.get_category("e__1b")
    assert category_categorizers(e_1b) == ["cat_e", "cat_4j", "cat_1b"]
    assert e_1b.label == "e, 1b"
    assert config.get_category("e").has_category("e__1b")
    assert config.get_category("1b").has_category("e__1b")
    # adding them again is a no-op
    assert add_category_combinations(config, {"lepton": ["e"], "btag": ["1b"]}) == []
    with pytest.raises(ConfigError, match="needs at least one categorizer"):
        add_category(config, "none", 99, [])
    with pytest.raises(ConfigError, match="group 'x' names unknown categories nope"):
        add_category_combinations(config, {"x": ["nope"]})
    add_category(config, "a", 3, "cat_a")
    add_category(config, "b", 8, "cat_b")
    with pytest.raises(ConfigError, match="would get id 11, which is taken by 'e__1b'"):
        add_category_combinations(config, {"x": ["a"], "y": ["b"]})


def test_defaults_and_keep_columns(config):
    set_defaults(config, selector="default", producers=["features", "weights"])
    assert get_default(config, "selector") == "default"
    assert get_default(config, "producers") == ("features", "weights")
    assert get_default(config, "variables", ("ht",)) == ("ht",)
    with pytest.raises(ConfigError, match="unknown default\\(s\\) selectors; valid: "):
        set_defaults(config, selectors="x")
    with pytest.raises(ConfigError, match="unknown default 'nope'"):
        get_default(config, "nope")
    set_keep_columns(config, "cf.ReduceEvents", ["Jet.{pt,eta}", "run"])
    assert get_keep_columns(config, "cf.ReduceEvents") == {"Jet.{pt,eta}", "run"}
    with pytest.raises(ConfigError, match="no entry keep_columns\\['cf.Other'\\]"):
        get_keep_columns(config, "cf.Other")


def test_lumi(config):
    with pytest.raises(ConfigError, match="config 'c' has no luminosity"):
        lumi_pb(config)
    config.x.luminosity = 3378.0
    assert lumi_pb(config) == 3378.0
