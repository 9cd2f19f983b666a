"""The demo analysis ``ttbar_lite``: its ``order`` config on the synthetic NanoAOD campaign.

The campaign is generated on first use into ``<store>/campaigns/demo`` (``COLUMNAR_STORE``,
default ``./store``); :func:`create_config` can point the datasets at other files instead::

    config = create_config(analysis, dataset_files={"tt": ["root://host//store/tt_1.root"]})
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import order as od
import scinum

from columnar import settings
from columnar.config import (
    add_category,
    add_nominal_shift,
    add_shift_group,
    add_shift_source,
    add_variable,
    set_defaults,
    set_keep_columns,
)
from columnar.demo.constants import (
    DATA_DATASET,
    DATASETS,
    ECM,
    LUMI_PB,
    LUMI_REL_UNC,
    MC_DATASETS,
    XSECS_PB,
)

#: size of the campaign generated on first use
DEFAULT_CAMPAIGN = {"events": 100_000, "files_per_dataset": 2, "seed": 42}

PROCESS_STYLES = {
    "data": {"id": 1, "label": "Data", "color": "#000000"},
    "tt": {"id": 10, "label": r"$t\bar{t}$", "color": "#5790fc"},
    "wjets": {"id": 20, "label": r"W+jets", "color": "#f89c20"},
    "dy": {"id": 30, "label": r"Drell-Yan", "color": "#e42536"},
}


def default_store() -> str:
    """The local store directory (``$COLUMNAR_STORE``, law.cfg ``store``, ``./store``; for a
    remote store ``./store``): the generated campaign is read locally."""
    return settings.local_store_root()


def demo_campaign_dir() -> str:
    return os.path.join(default_store(), "campaigns", "demo")


def create_config(
    analysis: od.Analysis,
    name: str = "demo",
    id: int = 1,
    campaign_dir: str | None = None,
    lumi: float = LUMI_PB,
    campaign: Mapping[str, Any] | None = None,
    dataset_files: Mapping[str, Sequence[str]] | None = None,
) -> od.Config:
    """Add the demo config to *analysis*.

    Without *dataset_files*, the datasets are the files of the synthetic campaign in
    *campaign_dir* (default :func:`demo_campaign_dir`), generated on first use with the
    settings *campaign* (events per MC dataset, files per dataset, seed) at luminosity *lumi*.
    """
    campaign_settings = dict(DEFAULT_CAMPAIGN, **(campaign or {}))
    cpn = od.Campaign(f"{name}_campaign", id, ecm=ECM, bx=25)
    config = analysis.add_config(campaign=cpn, name=name, id=id)

    # processes
    for proc_name, style in PROCESS_STYLES.items():
        kwargs: dict[str, Any] = {"label": style["label"], "color": style["color"]}
        if proc_name == "data":
            kwargs["is_data"] = True
        else:
            kwargs["xsecs"] = {ECM: scinum.Number(XSECS_PB[proc_name])}
        config.add_process(proc_name, style["id"], **kwargs)

    # datasets
    for i, ds_name in enumerate(DATASETS):
        n_files = campaign_settings["files_per_dataset"]
        keys = (list(dataset_files[ds_name]) if dataset_files and ds_name in dataset_files
                else [f"{ds_name}/nano_{j}.root" for j in range(n_files)])
        config.add_dataset(
            name=ds_name, id=100 + i, processes=[config.get_process(ds_name)],
            is_data=ds_name == DATA_DATASET, keys=keys, n_files=len(keys),
        )
    config.x.campaign_dir = campaign_dir
    config.x.campaign_settings = campaign_settings
    config.x.generated_campaign = not dataset_files
    config.x.get_dataset_files = campaign_files
    config.x.luminosity = scinum.Number(lumi, {"lumi": 1j * LUMI_REL_UNC})

    # shifts
    add_nominal_shift(config)
    add_shift_source(config, "jec", 2, aliases={"Jet.pt": "Jet.pt_{name}",
                                                "Jet.mass": "Jet.mass_{name}"},
                     label="Jet energy scale")
    add_shift_source(config, "btag", 4, aliases={"btag_weight": "btag_weight_{direction}"},
                     label="b-tagging")
    add_shift_source(config, "mu", 6, aliases={"muon_weight": "muon_weight_{direction}"},
                     label="Muon scale factor")
    add_shift_group(config, "jet", ["jec"])
    add_shift_group(config, "weights", ["btag", "mu"])
    add_shift_group(config, "all", ["jec", "btag", "mu"])

    # variables
    add_variable(config, "ht", binning=(25, 50.0, 550.0), x_title=r"$H_T$", unit="GeV")
    add_variable(config, "m_bjj", binning=(25, 50.0, 550.0), x_title=r"$m_{bjj}$", unit="GeV")
    add_variable(config, "jet1_pt", binning=(40, 0.0, 400.0), x_title=r"Leading jet $p_T$",
                 unit="GeV")
    add_variable(config, "n_jet", binning=(10, -0.5, 9.5), x_title="Number of jets",
                 x_discrete=True)
    add_variable(config, "met", "MET.pt", binning=(40, 0.0, 400.0), x_title=r"$p_T^{miss}$",
                 unit="GeV")

    # categories
    add_category(config, "incl", 1, "cat_incl", label="inclusive")
    add_category(config, "4j1b", 2, "cat_4j1b", label=r"$\geq$4 jets, 1 b")
    add_category(config, "4j2b", 3, "cat_4j2b", label=r"$\geq$4 jets, $\geq$2 b")

    # event weights of MC histograms (their product), used by the default hist producer
    config.x.event_weights = ["normalization_weight", "btag_weight", "muon_weight"]

    # corrections
    config.x.external_files = {"muon_sf": lambda: muon_sf_path(config)}

    # what reduction keeps (besides what calibrators and the selector produce)
    set_keep_columns(config, "cf.ReduceEvents", {
        "run", "luminosityBlock", "event", "genWeight",
        "Jet.{pt,eta,phi,mass,btagDeepFlavB,hadronFlavour}",
        "Muon.{pt,eta,phi,mass,charge}", "Electron.{pt,eta,phi,mass,charge}",
        "MET.{pt,phi}", "PV.npvs", "Pileup.nTrueInt",
    })

    # command-line defaults
    set_defaults(
        config,
        calibrators=["jec"], selector="default", reducer="default",
        producers=["features", "weights"], hist_producer="default",
        variables=["ht", "m_bjj", "jet1_pt", "n_jet", "met"], variables_2d=["ht-m_bjj"],
        categories=["incl", "4j1b", "4j2b"], shift_sources=["jec", "btag", "mu"],
        datasets=list(DATASETS), processes=["data", *MC_DATASETS],
    )
    return config


def campaign_dir(config: od.Config) -> str:
    return config.x.campaign_dir or demo_campaign_dir()


def muon_sf_path(config: od.Config) -> str:
    """Path of the muon scale factor JSON, written on first use."""
    path = os.path.join(campaign_dir(config), "corrections", "muon_sf.json")
    if os.path.exists(path):
        return path
    from columnar.demo.corrections import write_muon_sf

    return write_muon_sf(path)


def campaign_files(config: od.Config, dataset: od.Dataset, info: str = "nominal") -> list[str]:
    """Paths or URLs of the files of *dataset* (of its *info* entry, e.g. a variation); the
    synthetic campaign is generated on first use."""
    keys = list(dataset.get_info(info).keys)
    if not config.x.generated_campaign:
        return keys
    from columnar.demo.generate import ensure_campaign

    directory = campaign_dir(config)
    settings = config.x.campaign_settings
    ensure_campaign(directory, events=settings["events"],
                    files_per_dataset=settings["files_per_dataset"], seed=settings["seed"],
                    lumi=config.x.luminosity.nominal)
    return [os.path.join(directory, key) for key in keys]
