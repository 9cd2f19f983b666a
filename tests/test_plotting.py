"""Tests of columnar.plotting on histograms filled from random events (offline, Agg backend).

``python tests/test_plotting.py [directory]`` writes example plots (default:
``<tmp>/columnar_plots``) to look at.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")

import hist  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import order as od  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from columnar.plotting import (  # noqa: E402
    plot_file_name,
    plot_shifted_variable_1d,
    plot_variable_1d,
    plot_variable_2d,
    save_figure,
)

MC = ("tt", "wjets", "dy")
PROCESSES = ("data", *MC)
VARIABLES = ("ht", "n_jet", "met")
SHIFTS = ("nominal", "jec_up", "jec_down", "btag_up", "btag_down", "mu_up", "mu_down")
CATEGORY_IDS = {"incl": 1, "4j1b": 2, "4j2b": 3}

#: per MC process: events generated, event weight, fraction of events with >= 2 b jets
MODELS = {"tt": (24000, 0.8, 0.45), "wjets": (9000, 0.6, 0.06), "dy": (5000, 0.4, 0.04)}


# -- events and histograms ------------------------------------------------------------------------

def _generate(rng: np.random.Generator, process: str, n: int) -> dict[str, np.ndarray]:
    """Random events of a process: ht, n_jet, met, jet1_pt and the number of b jets."""
    if process == "tt":
        ht = 110.0 + rng.gamma(4.0, 55.0, n)
        n_jet = 4 + rng.poisson(1.2, n)
        met = rng.exponential(55.0, n)
    else:
        ht = 60.0 + rng.exponential(120.0 if process == "wjets" else 90.0, n)
        n_jet = 4 + rng.poisson(0.5, n)
        met = rng.exponential(45.0 if process == "wjets" else 20.0, n)
    jet1_pt = 0.4 * ht + rng.normal(0.0, 20.0, n)
    n_b = np.where(rng.random(n) < MODELS[process][2], 2, 1)
    return {"ht": ht, "n_jet": n_jet.astype(float), "met": met, "jet1_pt": jet1_pt, "n_b": n_b}


def _shifted(events: dict[str, np.ndarray], weight: np.ndarray, shift: str
             ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Values and weights of the events for a shift (jec scales ht, btag and mu weights)."""
    values = dict(events)
    if shift.startswith("jec"):
        factor = 1.03 if shift.endswith("up") else 0.97
        values["ht"] = events["ht"] * factor
        values["jet1_pt"] = events["jet1_pt"] * factor
    elif shift.startswith("btag"):
        sign = 1.0 if shift.endswith("up") else -1.0
        weight = weight * np.clip(1.0 + sign * 0.075 * events["jet1_pt"] / 50.0, 0.0, None)
    elif shift.startswith("mu"):
        weight = weight * (1.01 if shift.endswith("up") else 0.99)
    return values, weight


def _in_category(events: dict[str, np.ndarray], category: str) -> np.ndarray:
    """Selection (leading jet pt > 50, moved by jec) and b-jet multiplicity."""
    selected = events["jet1_pt"] > 50.0
    if category == "incl":
        return selected
    return selected & (events["n_b"] == (1 if category == "4j1b" else 2))


def _new_hist(config: od.Config, names: tuple[str, ...]) -> hist.Hist:
    axes = []
    for name in names:
        variable = config.get_variable(name)
        n, lo, hi = variable.binning
        axes.append(hist.axis.Regular(n, lo, hi, name=name, label=variable.get_full_x_title(),
                                      underflow=True, overflow=True))
    return hist.Hist(
        hist.axis.IntCategory([], growth=True, name="category"),
        hist.axis.IntCategory([], growth=True, name="process"),
        hist.axis.StrCategory([], growth=True, name="shift"),
        *axes, storage=hist.storage.Weight(),
    )


def _fill(hists: dict, events: dict[str, dict], weights: dict[str, np.ndarray],
          config: od.Config, processes: tuple[str, ...]) -> None:
    for process in processes:
        is_data = process == "data"
        for shift in ("nominal",) if is_data else SHIFTS:
            values, weight = _shifted(events[process], weights[process], shift)
            for category, cat_id in CATEGORY_IDS.items():
                mask = _in_category(values, category)
                for names, h in hists.items():
                    h.fill(category=cat_id, process=config.get_process(process).id, shift=shift,
                           weight=weight[mask], **{n: values[n][mask] for n in names})


@pytest.fixture(scope="module")
def config() -> od.Config:
    import columnar.demo.analysis  # noqa: F401
    from columnar.demo.config import create_config

    return create_config(od.Analysis("plot_test", 1), campaign_dir=tempfile.gettempdir())


def make_sample(config: od.Config, seed: int = 1, processes: tuple[str, ...] = PROCESSES
                ) -> dict:
    """Events, weights and the filled histograms (1-D per variable and ht-met in 2-D)."""
    rng = np.random.default_rng(seed)
    events, weights = {}, {}
    for process in MC:
        n, weight = MODELS[process][:2]
        events[process] = _generate(rng, process, n)
        weights[process] = np.full(n, weight)
    # pseudo-data: Poisson-distributed number of unweighted events of every process
    data = [_generate(rng, p, rng.poisson(MODELS[p][0] * MODELS[p][1] * 1.02)) for p in MC]
    events["data"] = {k: np.concatenate([d[k] for d in data]) for k in data[0]}
    weights["data"] = np.ones(len(events["data"]["ht"]))
    hists = {(name,): _new_hist(config, (name,)) for name in VARIABLES}
    hists[("ht", "met")] = _new_hist(config, ("ht", "met"))
    _fill(hists, events, weights, config, processes)
    return {"events": events, "weights": weights,
            "hists": {"-".join(k): h for k, h in hists.items()}}


@pytest.fixture(scope="module")
def sample(config: od.Config) -> dict:
    return make_sample(config)


def expected(sample: dict, process: str, variable: str, category: str, shift: str = "nominal",
             edges: np.ndarray | None = None, flow: str = "sum") -> tuple[np.ndarray, np.ndarray]:
    """Independent yields (and sums of squared weights) from the events with numpy."""
    values, weight = _shifted(sample["events"][process], sample["weights"][process], shift)
    mask = _in_category(values, category)
    x, w = values[variable][mask], weight[mask]
    if flow == "sum":
        x = np.clip(x, edges[0], np.nextafter(edges[-1], -np.inf))
    counts = np.histogram(x, bins=edges, weights=w)[0]
    sumw2 = np.histogram(x, bins=edges, weights=w**2)[0]
    return counts, sumw2


def _edges(config: od.Config, variable: str) -> np.ndarray:
    return np.asarray(config.get_variable(variable).bin_edges, dtype=float)


def _procs(config: od.Config, names=PROCESSES) -> list[od.Process]:
    return [config.get_process(n) for n in names]


def _by_gid(ax, gid: str):
    found = [a for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) == 1, f"expected one artist '{gid}', found {len(found)}"
    return found[0]


def _gids(ax) -> set[str]:
    return {a.get_gid() for a in ax.get_children() if a.get_gid()}


def _is_png(path) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


# -- 1-D stack plots ------------------------------------------------------------------------------

def test_stack_data_and_ratio(config, sample, tmp_path):
    edges = _edges(config, "ht")
    fig, axes = plot_variable_1d(sample["hists"]["ht"], config, config.get_variable("ht"),
                                 config.get_category("4j1b"), _procs(config))
    ax, rax = axes
    exp = {p: expected(sample, p, "ht", "4j1b", edges=edges)[0] for p in PROCESSES}
    # stack: dy at the bottom, tt on top
    bottom = np.zeros(len(edges) - 1)
    for process in ("dy", "wjets", "tt"):
        values, stack_edges, baseline = _by_gid(ax, f"stack:{process}").get_data()
        np.testing.assert_allclose(stack_edges, edges)
        np.testing.assert_allclose(baseline, bottom, atol=1e-9)
        np.testing.assert_allclose(values - baseline, exp[process], rtol=1e-9)
        bottom = values
    total = exp["tt"] + exp["wjets"] + exp["dy"]
    np.testing.assert_allclose(_by_gid(ax, "data").get_ydata(), exp["data"])
    np.testing.assert_allclose(_by_gid(rax, "ratio:data").get_ydata(), exp["data"] / total)
    # the stat band is the sqrt of the sum of squared weights
    sumw2 = sum(expected(sample, p, "ht", "4j1b", edges=edges)[1] for p in MC)
    high, _, low = _by_gid(ax, "band:stat").get_data()
    np.testing.assert_allclose(high - total, np.sqrt(sumw2), rtol=1e-9)
    np.testing.assert_allclose(total - low, np.sqrt(sumw2), rtol=1e-9)
    # labels
    assert ax.get_ylabel() == "Events / 20 GeV"
    assert rax.get_xlabel() == "$H_T$ / GeV"
    assert rax.get_ylabel() == "Data / MC"
    assert rax.get_ylim() == pytest.approx((0.4, 1.6))
    texts = _texts(fig)
    assert "3.38 fb$^{-1}$ (13 TeV)" in texts
    assert "columnar" in texts and any("Private work" in t for t in texts)
    assert config.get_category("4j1b").label in texts
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Data", r"$t\bar{t}$", "W+jets", "Drell-Yan", "MC stat. unc."]
    path = save_figure(fig, tmp_path / "stack.png")
    assert _is_png(path)


def test_flow_sum_includes_under_and_overflow(config, sample):
    h = sample["hists"]["met"]
    fig, (ax, _) = plot_variable_1d(h, config, config.get_variable("met"),
                                    config.get_category("incl"), _procs(config))
    top = _by_gid(ax, "stack:tt").get_data().values
    cat = h[{"category": hist.loc(1), "shift": hist.loc("nominal")}]
    mc_total = sum(cat[{"process": hist.loc(config.get_process(p).id)}].sum(flow=True).value
                   for p in MC)
    assert top.sum() == pytest.approx(mc_total, rel=1e-9)
    n_data = _in_category(sample["events"]["data"], "incl").sum()
    assert np.nansum(_by_gid(ax, "data").get_ydata()) == n_data
    # the met tail beyond 400 GeV is really there, so the check is not trivial
    assert sample["events"]["tt"]["met"].max() > 400
    plt.close(fig)


def test_flow_none_and_show(config, sample):
    edges = _edges(config, "met")
    args = (sample["hists"]["met"], config, config.get_variable("met"),
            config.get_category("incl"), _procs(config))
    fig, (ax, _) = plot_variable_1d(*args, flow="none")
    exp = expected(sample, "tt", "met", "incl", edges=edges, flow="none")[0]
    values, _, baseline = _by_gid(ax, "stack:tt").get_data()
    np.testing.assert_allclose(values - baseline, exp)
    assert not any("x range" in t for t in _texts(fig))
    plt.close(fig)
    fig, (ax, _) = plot_variable_1d(*args, flow="show")
    assert any(re.fullmatch(r"Above x range: [\d.]+% MC, [\d.]+% data", t) for t in _texts(fig))
    plt.close(fig)
    with pytest.raises(ValueError, match="flow"):
        plot_variable_1d(*args, flow="bogus")


def test_shape_norm(config, sample):
    fig, (ax, rax) = plot_variable_1d(sample["hists"]["ht"], config, config.get_variable("ht"),
                                      config.get_category("4j1b"), _procs(config),
                                      shape_norm=True)
    for process in MC:
        assert _by_gid(ax, f"line:{process}").get_data().values.sum() == pytest.approx(1.0)
    assert _by_gid(ax, "mc_total").get_data().values.sum() == pytest.approx(1.0)
    assert np.nansum(_by_gid(ax, "data").get_ydata()) == pytest.approx(1.0)
    assert ax.get_ylabel() == "Normalized entries"
    assert not any(g.startswith("stack:") for g in _gids(ax))
    plt.close(fig)


def test_log_scale(config, sample, tmp_path):
    fig, (ax, _) = plot_variable_1d(sample["hists"]["ht"], config, config.get_variable("ht"),
                                    config.get_category("4j2b"), _procs(config), yscale="log")
    assert ax.get_yscale() == "log"
    low, high = ax.get_ylim()
    total = _by_gid(ax, "stack:tt").get_data().values
    assert 0 < low <= total[total > 0].min()
    assert high > total.max()
    assert _is_png(save_figure(fig, tmp_path / "log.png"))


def test_syst_band_is_quadrature_sum(config, sample):
    edges = _edges(config, "ht")
    sources = ("jec", "btag", "mu")
    fig, (ax, rax) = plot_variable_1d(sample["hists"]["ht"], config, config.get_variable("ht"),
                                      config.get_category("4j1b"), _procs(config),
                                      shift_sources=sources)
    nominal = sum(expected(sample, p, "ht", "4j1b", edges=edges)[0] for p in MC)
    stat2 = sum(expected(sample, p, "ht", "4j1b", edges=edges)[1] for p in MC)
    up2, down2 = stat2.copy(), stat2.copy()
    for source in sources:
        d_up = sum(expected(sample, p, "ht", "4j1b", f"{source}_up", edges)[0] for p in MC)
        d_down = sum(expected(sample, p, "ht", "4j1b", f"{source}_down", edges)[0] for p in MC)
        d_up, d_down = d_up - nominal, d_down - nominal
        up2 += np.maximum(np.maximum(d_up, d_down), 0) ** 2
        down2 += np.minimum(np.minimum(d_up, d_down), 0) ** 2
    high, _, low = _by_gid(ax, "band:total").get_data()
    np.testing.assert_allclose(high - nominal, np.sqrt(up2), rtol=1e-9)
    np.testing.assert_allclose(nominal - low, np.sqrt(down2), rtol=1e-9)
    high, _, low = _by_gid(rax, "ratio:band:total").get_data()
    np.testing.assert_allclose(high, 1 + np.sqrt(up2) / nominal, rtol=1e-9)
    np.testing.assert_allclose(low, 1 - np.sqrt(down2) / nominal, rtol=1e-9)
    assert any("syst" in t for t in _texts(fig))
    plt.close(fig)


def test_missing_shift_is_an_error(config, sample):
    with pytest.raises(ValueError, match="no shift 'pdf_up'"):
        plot_variable_1d(sample["hists"]["ht"], config, config.get_variable("ht"),
                         config.get_category("4j1b"), _procs(config), shift_sources=["pdf"])


def test_missing_process_is_skipped(config, tmp_path):
    partial = make_sample(config, seed=3, processes=("data", "tt", "dy"))
    unknown = od.Process("ttv", 99, label="ttV")
    fig, (ax, _) = plot_variable_1d(partial["hists"]["ht"], config, config.get_variable("ht"),
                                    config.get_category("4j1b"),
                                    [*_procs(config), unknown])
    assert {"stack:tt", "stack:dy"} <= _gids(ax)
    assert "stack:wjets" not in _gids(ax) and "stack:ttv" not in _gids(ax)
    assert _is_png(save_figure(fig, tmp_path / "missing.png"))


def test_empty_hist(config, tmp_path):
    h = _new_hist(config, ("ht",))
    args = (h, config, config.get_variable("ht"), config.get_category("4j1b"), _procs(config))
    for i, kwargs in enumerate([{}, {"yscale": "log"}, {"shape_norm": True},
                                {"shift_sources": ["jec"]}]):
        fig, axes = plot_variable_1d(*args, **kwargs)
        assert _is_png(save_figure(fig, tmp_path / f"empty_{i}.png"))
    fig, _ = plot_shifted_variable_1d(*args, shift_source="jec", yscale="log")
    assert _is_png(save_figure(fig, tmp_path / "empty_shifted.png"))
    h2 = _new_hist(config, ("ht", "met"))
    fig, _ = plot_variable_2d(h2, config, [config.get_variable("ht"), config.get_variable("met")],
                              config.get_category("4j1b"), _procs(config, MC), zscale="log")
    assert _is_png(save_figure(fig, tmp_path / "empty_2d.png"))


def test_process_settings(config, sample):
    edges = _edges(config, "ht")
    settings = {"tt": {"scale": 2.0}, "dy": {"hidden": True},
                "wjets": {"unstack": True, "color": "green", "label": "W"}}
    fig, (ax, rax) = plot_variable_1d(sample["hists"]["ht"], config, config.get_variable("ht"),
                                      config.get_category("4j1b"), _procs(config),
                                      process_settings=settings)
    gids = _gids(ax)
    assert "stack:dy" not in gids and "line:dy" not in gids
    assert "stack:wjets" not in gids
    wjets = _by_gid(ax, "line:wjets")
    np.testing.assert_allclose(wjets.get_data().values,
                               expected(sample, "wjets", "ht", "4j1b", edges=edges)[0])
    assert matplotlib.colors.same_color(wjets.get_edgecolor(), "green")
    tt = 2.0 * expected(sample, "tt", "ht", "4j1b", edges=edges)[0]
    np.testing.assert_allclose(_by_gid(ax, "stack:tt").get_data().values, tt)
    data = expected(sample, "data", "ht", "4j1b", edges=edges)[0]
    np.testing.assert_allclose(_by_gid(rax, "ratio:data").get_ydata(),
                               np.where(tt > 0, data / np.where(tt > 0, tt, 1), np.nan))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert r"$t\bar{t}$ $\times$2" in legend and "W" in legend
    plt.close(fig)
    with pytest.raises(ValueError, match="unknown setting"):
        plot_variable_1d(sample["hists"]["ht"], config, config.get_variable("ht"),
                         config.get_category("4j1b"), _procs(config),
                         process_settings={"tt": {"colour": "red"}})


def test_variable_settings(config, sample):
    h = sample["hists"]["ht"]
    args = (h, config, config.get_variable("ht"), config.get_category("incl"), _procs(config))
    fig, (ax, _) = plot_variable_1d(*args, variable_settings={"rebin": 5})
    values, edges, _ = _by_gid(ax, "stack:tt").get_data()
    np.testing.assert_allclose(edges, np.linspace(50, 550, 6))
    assert ax.get_ylabel() == "Events / 100 GeV"
    full = _edges(config, "ht")
    exp = sum(expected(sample, p, "ht", "incl", edges=full)[0] for p in MC)
    np.testing.assert_allclose(values, exp.reshape(5, 5).sum(axis=1))
    plt.close(fig)
    # restricted range: bins outside are summed into the first/last visible bin
    fig, (ax, _) = plot_variable_1d(*args, variable_settings={"x_min": 95, "x_max": 400})
    values, edges, _ = _by_gid(ax, "stack:tt").get_data()
    assert edges[0] == 90 and edges[-1] == 410  # snapped outwards to bin edges
    assert values.sum() == pytest.approx(exp.sum())
    assert values[0] == pytest.approx(exp[:3].sum())
    assert values[-1] == pytest.approx(exp[-8:].sum())
    plt.close(fig)
    with pytest.raises(ValueError, match="groups of 4"):
        plot_variable_1d(*args, variable_settings={"rebin": 4})


def test_discrete_variable(config, sample):
    fig, (ax, rax) = plot_variable_1d(sample["hists"]["n_jet"], config,
                                      config.get_variable("n_jet"), config.get_category("incl"),
                                      _procs(config))
    assert ax.get_ylabel() == "Events"
    np.testing.assert_allclose(rax.get_xticks(), np.arange(10))
    plt.close(fig)


def test_legend_does_not_cover_content(config, sample):
    for yscale in ("linear", "log"):
        fig, (ax, _) = plot_variable_1d(sample["hists"]["ht"], config, config.get_variable("ht"),
                                        config.get_category("4j1b"), _procs(config),
                                        shift_sources=["jec"], yscale=yscale)
        fig.canvas.draw()
        box = ax.get_legend().get_window_extent().transformed(ax.transData.inverted())
        high, edges, _ = _by_gid(ax, "band:total").get_data()
        data = _by_gid(ax, "data").get_ydata()
        under = (edges[1:] > box.x0) & (edges[:-1] < box.x1)
        assert np.all(high[under] < box.y0)
        assert np.all(np.nan_to_num(data[under]) < box.y0)
        plt.close(fig)


def test_mc_only_has_no_ratio_panel(config, sample):
    fig, axes = plot_variable_1d(sample["hists"]["ht"], config, config.get_variable("ht"),
                                 config.get_category("4j1b"), _procs(config, MC))
    assert len(axes) == 1
    assert axes[0].get_xlabel() == "$H_T$ / GeV"
    assert any("Simulation" in t for t in _texts(fig))
    plt.close(fig)


def test_leaf_processes_and_several_data_processes():
    import columnar.demo.analysis  # noqa: F401
    from columnar.demo.config import create_config

    cfg = create_config(od.Analysis("plot_leaves", 2), campaign_dir=tempfile.gettempdir())
    tt = cfg.get_process("tt")
    tt_sl, tt_dl = tt.add_process("tt_sl", 11), tt.add_process("tt_dl", 12)
    data_b = cfg.add_process("data_b", 2, is_data=True)
    h = _new_hist(cfg, ("ht",))
    fills = {tt_sl: (100.0, 3.0), tt_dl: (300.0, 2.0), cfg.get_process("data"): (100.0, 1.0),
             data_b: (300.0, 1.0)}
    for process, (x, weight) in fills.items():
        h.fill(category=2, process=process.id, shift="nominal", ht=np.full(4, x),
               weight=np.full(4, weight))
    fig, (ax, rax) = plot_variable_1d(h, cfg, cfg.get_variable("ht"), cfg.get_category("4j1b"),
                                      [cfg.get_process("data"), data_b, tt])
    assert _by_gid(ax, "stack:tt").get_data().values.sum() == pytest.approx(20.0)
    assert np.nansum(_by_gid(ax, "data").get_ydata()) == pytest.approx(8.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()][0] == "Data"
    plt.close(fig)


def test_labels_and_ratio_range(config, sample):
    from columnar.plotting.style import events_title, lumi_text

    assert lumi_text(config) == "3.38 fb$^{-1}$ (13 TeV)"
    small = od.Config(name="small", id=5, campaign=od.Campaign("c", 5, ecm=13.6))
    small.x.luminosity = 40.0
    assert lumi_text(small) == "40 pb$^{-1}$ (13.6 TeV)"
    assert events_title(np.array([0.0, 10.0, 30.0]), "GeV", False, False) == "Events / bin"
    assert events_title(np.array([0.0, 0.5, 1.0]), "1", False, False) == "Events / 0.5"
    fig, (_, rax) = plot_variable_1d(sample["hists"]["ht"], config, config.get_variable("ht"),
                                     config.get_category("4j1b"), _procs(config),
                                     variable_settings={"ratio_ylim": (0.8, 1.2)})
    assert rax.get_ylim() == pytest.approx((0.8, 1.2))
    plt.close(fig)


# -- shifted and 2-D plots ------------------------------------------------------------------------

def test_shifted_variable(config, sample, tmp_path):
    edges = _edges(config, "ht")
    fig, (ax, rax) = plot_shifted_variable_1d(sample["hists"]["ht"], config,
                                              config.get_variable("ht"),
                                              config.get_category("4j1b"), _procs(config),
                                              shift_source="jec")
    curves = {}
    for key, shift in (("nominal", "nominal"), ("up", "jec_up"), ("down", "jec_down")):
        curves[key] = sum(expected(sample, p, "ht", "4j1b", shift, edges)[0] for p in MC)
        np.testing.assert_allclose(_by_gid(ax, f"shift:{key}").get_data().values, curves[key])
    np.testing.assert_allclose(_by_gid(rax, "ratio:shift:up").get_data().values,
                               curves["up"] / curves["nominal"])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    change = 100 * (curves["up"].sum() / curves["nominal"].sum() - 1)
    assert f"jec up ({change:+.1f}%)" in legend
    assert any(re.fullmatch(r"jec down \(-\d+\.\d%\)", t) for t in legend)
    assert _is_png(save_figure(fig, tmp_path / "shifted.png"))
    fig, (ax, _) = plot_shifted_variable_1d(sample["hists"]["ht"], config,
                                            config.get_variable("ht"),
                                            config.get_category("4j1b"), _procs(config),
                                            shift_source="btag", shape_norm=True)
    for key in ("nominal", "up", "down"):
        assert _by_gid(ax, f"shift:{key}").get_data().values.sum() == pytest.approx(1.0)
    plt.close(fig)
    fig, _ = plot_shifted_variable_1d(sample["hists"]["met"], config, config.get_variable("met"),
                                      config.get_category("incl"), _procs(config),
                                      shift_source="btag", flow="show", yscale="log")
    assert any(re.fullmatch(r"Above x range: [\d.]+% MC", t) for t in _texts(fig))
    plt.close(fig)


def test_2d(config, sample, tmp_path):
    h = sample["hists"]["ht-met"]
    variables = [config.get_variable("ht"), config.get_variable("met")]
    fig, (ax, cax) = plot_variable_2d(h, config, variables, config.get_category("4j1b"),
                                      _procs(config, MC))
    ex, ey = _edges(config, "ht"), _edges(config, "met")
    exp = np.zeros((len(ex) - 1, len(ey) - 1))
    for p in MC:
        ev, w = sample["events"][p], sample["weights"][p]
        mask = _in_category(ev, "4j1b")
        x = np.clip(ev["ht"][mask], ex[0], np.nextafter(ex[-1], 0))
        y = np.clip(ev["met"][mask], ey[0], np.nextafter(ey[-1], 0))
        exp += np.histogram2d(x, y, bins=(ex, ey), weights=w[mask])[0]
    mesh = _by_gid(ax, "map")
    drawn = np.ma.filled(mesh.get_array(), 0.0).reshape(len(ey) - 1, len(ex) - 1).T
    np.testing.assert_allclose(drawn, exp, rtol=1e-9)
    assert ax.get_xlabel() == "$H_T$ / GeV" and ax.get_ylabel() == r"$p_T^{miss}$ / GeV"
    assert cax.get_ylabel() == "Events"
    plt.close(fig)
    fig, (ax, _) = plot_variable_2d(h, config, variables, config.get_category("4j1b"),
                                    _procs(config, MC), zscale="log", shape_norm=True)
    mesh = _by_gid(ax, "map")
    assert isinstance(mesh.norm, LogNorm)
    assert np.ma.filled(mesh.get_array(), 0.0).sum() == pytest.approx(1.0)
    path = save_figure(fig, tmp_path / "map.pdf")
    with open(path, "rb") as f:
        assert f.read(5) == b"%PDF-"


# -- files ----------------------------------------------------------------------------------------

def test_save_figure(config, sample, tmp_path):
    fig, _ = plot_variable_1d(sample["hists"]["ht"], config, config.get_variable("ht"),
                              config.get_category("4j1b"), _procs(config))
    path = save_figure(fig, tmp_path / "sub" / "plot.png")
    with open(path, "rb") as f:
        header = f.read(24)
    assert _is_png(path)
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert (width, height) == (1500, 1500)  # 10 inch at 150 dpi
    assert not plt.fignum_exists(fig.number)
    fig, _ = plot_variable_1d(sample["hists"]["ht"], config, config.get_variable("ht"),
                              config.get_category("4j1b"), _procs(config))
    with pytest.raises(ValueError, match=".pdf or .png"):
        save_figure(fig, tmp_path / "plot.svg")
    assert _is_png(save_figure(fig, tmp_path / "plot.png"))  # still open after the error


def test_plot_file_name(config):
    assert plot_file_name("plot", "ht", "4j1b", ["data", "tt", "wjets", "dy"], ["jec", "btag"]) \
        == "plot__ht__cat_4j1b__proc_data_tt_wjets_dy__unc_jec_btag.png"
    name = plot_file_name("plot2d", [config.get_variable("ht"), config.get_variable("met")],
                          config.get_category("incl"), _procs(config, MC), ext="pdf")
    assert name == "plot2d__ht-met__cat_incl__proc_tt_wjets_dy.pdf"
    many = [f"process_number_{i}" for i in range(12)]
    name = plot_file_name("plot", "ht", "incl", many)
    assert re.fullmatch(r"plot__ht__cat_incl__proc_12_[0-9a-f]{10}\.png", name)
    assert name != plot_file_name("plot", "ht", "incl", many[::-1])


# -- example plots --------------------------------------------------------------------------------

def render_examples(directory: str) -> list[str]:
    """Write example plots of every kind into *directory*."""
    import columnar.demo.analysis  # noqa: F401
    from columnar.demo.config import create_config

    cfg = create_config(od.Analysis("plot_examples", 1), campaign_dir=tempfile.gettempdir())
    hists = make_sample(cfg)["hists"]
    procs = _procs(cfg)
    cat = cfg.get_category("4j1b")
    var = cfg.get_variable
    jobs = [
        ("stack", plot_variable_1d, (hists["ht"], cfg, var("ht"), cat, procs), {}),
        ("stack_syst", plot_variable_1d, (hists["ht"], cfg, var("ht"), cat, procs),
         {"shift_sources": ["jec", "btag", "mu"]}),
        ("stack_log", plot_variable_1d, (hists["met"], cfg, var("met"), cfg.get_category("incl"),
                                         procs), {"yscale": "log", "shift_sources": ["jec"]}),
        ("stack_njet", plot_variable_1d, (hists["n_jet"], cfg, var("n_jet"), cat, procs), {}),
        ("shape_norm", plot_variable_1d, (hists["ht"], cfg, var("ht"), cat, procs),
         {"shape_norm": True}),
        ("settings", plot_variable_1d, (hists["met"], cfg, var("met"), cat, procs),
         {"process_settings": {"dy": {"unstack": True, "scale": 5, "color": "black"},
                               "tt": {"label": r"$t\bar{t}$ (powheg)"}},
          "variable_settings": {"rebin": 2, "x_max": 200}, "flow": "show"}),
        ("mc_only", plot_variable_1d, (hists["ht"], cfg, var("ht"), cfg.get_category("4j2b"),
                                       _procs(cfg, MC)), {}),
        ("shifted_jec", plot_shifted_variable_1d, (hists["ht"], cfg, var("ht"), cat, procs),
         {"shift_source": "jec"}),
        ("shifted_btag", plot_shifted_variable_1d, (hists["ht"], cfg, var("ht"), cat, procs),
         {"shift_source": "btag"}),
        ("map", plot_variable_2d, (hists["ht-met"], cfg, [var("ht"), var("met")], cat,
                                   _procs(cfg, MC)), {}),
        ("map_log", plot_variable_2d, (hists["ht-met"], cfg, [var("ht"), var("met")], cat,
                                       _procs(cfg, MC)), {"zscale": "log"}),
        ("empty", plot_variable_1d, (_new_hist(cfg, ("ht",)), cfg, var("ht"), cat, procs), {}),
    ]
    paths = []
    for name, func, args, kwargs in jobs:
        fig, _ = func(*args, **kwargs)
        paths.append(save_figure(fig, os.path.join(directory, f"{name}.png")))
    return paths


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(),
                                                             "columnar_plots")
    print("\n".join(render_examples(out)))
