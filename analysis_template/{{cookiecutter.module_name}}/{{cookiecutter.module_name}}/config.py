"""The ``order`` config of the analysis: processes, datasets, shifts, variables, categories,
corrections and the defaults of the command line.

Out of the box, the datasets are files of columnar's synthetic NanoAOD campaign, generated on
first use into ``<store>/campaigns/{{ cookiecutter.short_name }}``. Its size can be set with
the environment variables ``{{ cookiecutter.short_name | upper }}_EVENTS`` (events per
simulated dataset), ``{{ cookiecutter.short_name | upper }}_FILES`` (files per dataset) and
``{{ cookiecutter.short_name | upper }}_LUMI`` (luminosity in pb^-1, which sets the amount of
pseudo-data). To run on real NanoAOD, give the datasets in :data:`DATASETS` their files.
"""

from __future__ import annotations

import dataclasses
import os

import order as od
import scinum
from columnar.config import (
    add_category,
    add_nominal_shift,
    add_shift_group,
    add_shift_source,
    add_variable,
    set_defaults,
    set_keep_columns,
)
from columnar.settings import local_store_root

#: name of the config made by :func:`create_config`
CONFIG_NAME = "{{ cookiecutter.config_name }}"

#: centre-of-mass energy in TeV, integrated luminosity in pb^-1 and its relative uncertainty
#: (for the synthetic campaign, the luminosity sets the amount of pseudo-data)
ECM = 13.0
LUMI_PB = 500.0
LUMI_REL_UNC = 0.025

#: prefix of the environment variables that size the synthetic campaign
ENV_PREFIX = "{{ cookiecutter.short_name | upper }}"

#: directory of the files shipped with the package (correctionlib JSON files)
DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


@dataclasses.dataclass(frozen=True)
class ProcessSpec:
    """A physics process: id, plot label and colour, cross section in pb (None for data)."""

    id: int
    label: str
    color: str
    xsec: float | None = None


#: the processes; the order of the MC processes is the order of the stack in plots
PROCESSES: dict[str, ProcessSpec] = {
    "data": ProcessSpec(1, "Data", "#000000"),
    "tt": ProcessSpec(10, r"$t\bar{t}$", "#5790fc", xsec=729.84),
    "wjets": ProcessSpec(20, "W+jets", "#f89c20", xsec=61526.7),
    "dy": ProcessSpec(30, "Drell-Yan", "#e42536", xsec=6077.22),
}


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """A dataset: the process it simulates (or ``data``) and where its files are.

    ``files`` are local paths or ``root://`` URLs of NanoAOD files. ``synthetic`` instead names
    a dataset of columnar's synthetic campaign (``tt``, ``dy``, ``wjets`` or ``data``).
    """

    process: str
    files: tuple[str, ...] = ()
    synthetic: str | None = None


#: the datasets; to use real NanoAOD, e.g.
#: ``"tt_powheg": DatasetSpec("tt", files=("root://host//store/.../nano_1.root", ...))``
DATASETS: dict[str, DatasetSpec] = {
    "tt_powheg": DatasetSpec("tt", synthetic="tt"),
    "wjets_madgraph": DatasetSpec("wjets", synthetic="wjets"),
    "dy_amcatnlo": DatasetSpec("dy", synthetic="dy"),
    "data_mu": DatasetSpec("data", synthetic="data"),
}


@dataclasses.dataclass(frozen=True)
class SyntheticCampaign:
    """Size of the synthetic campaign: events per simulated dataset, files per dataset, seed,
    and the luminosity in pb^-1 of its pseudo-data."""

    events: int = 50_000
    files_per_dataset: int = 2
    seed: int = 1
    lumi: float = LUMI_PB

    @classmethod
    def from_env(cls) -> SyntheticCampaign:
        """The defaults, overridden by ``<PREFIX>_EVENTS``, ``<PREFIX>_FILES`` and
        ``<PREFIX>_LUMI``."""
        default = cls()
        env = os.environ
        return cls(
            events=int(env.get(f"{ENV_PREFIX}_EVENTS", default.events)),
            files_per_dataset=int(env.get(f"{ENV_PREFIX}_FILES", default.files_per_dataset)),
            seed=default.seed,
            lumi=float(env.get(f"{ENV_PREFIX}_LUMI", default.lumi)),
        )


def create_config(
    analysis: od.Analysis,
    name: str = CONFIG_NAME,
    id: int = 1,
    campaign: SyntheticCampaign | None = None,
) -> od.Config:
    """Add the config *name* to *analysis*; synthetic datasets use the *campaign* settings
    (default: :meth:`SyntheticCampaign.from_env`), whose luminosity is then the config's."""
    campaign = campaign or SyntheticCampaign.from_env()
    uses_synthetic = any(spec.synthetic for spec in DATASETS.values())
    lumi = campaign.lumi if uses_synthetic else LUMI_PB

    cpn = od.Campaign(f"{name}_campaign", id, ecm=ECM, bx=25)
    config = analysis.add_config(campaign=cpn, name=name, id=id)
    config.x.luminosity = scinum.Number(lumi, {"lumi": 1j * LUMI_REL_UNC})
    config.x.synthetic_campaign = campaign

    # processes, with the cross section at the config's energy (used for the normalisation)
    for proc_name, proc in PROCESSES.items():
        process = config.add_process(proc_name, proc.id, label=proc.label, color=proc.color,
                                     is_data=proc.xsec is None)
        if proc.xsec is not None:
            process.set_xsec(ECM, scinum.Number(proc.xsec))

    # datasets; columnar asks config.x.get_dataset_files for their files (see dataset_files)
    for i, (ds_name, spec) in enumerate(DATASETS.items()):
        keys = list(spec.files)
        if spec.synthetic:
            keys = [f"{spec.synthetic}/nano_{j}.root" for j in range(campaign.files_per_dataset)]
        process = config.get_process(spec.process)
        dataset = config.add_dataset(name=ds_name, id=100 + i, processes=[process],
                                     is_data=process.is_data, keys=keys, n_files=len(keys))
        dataset.x.synthetic = spec.synthetic
    config.x.get_dataset_files = dataset_files

    # shifts: "nominal" and <source>_{up,down}; aliases say which column replaces which one
    add_nominal_shift(config)
    # jet energy scale: the calibrator writes Jet.pt_jes_up etc., the shifts read them as Jet.pt
    add_shift_source(config, "jes", 2, label="Jet energy scale",
                     aliases={"Jet.pt": "Jet.pt_{name}", "Jet.mass": "Jet.mass_{name}"})
    # muon scale factor: a weight variation, so only the histograms are made again
    add_shift_source(config, "mu_sf", 4, label="Muon scale factor",
                     aliases={"muon_weight": "muon_weight_{direction}"})
    add_shift_group(config, "all", ["jes", "mu_sf"])

    # variables: a column (default: the variable's name) or a route expression, and a binning
    add_variable(config, "ht", binning=(24, 0.0, 960.0), x_title=r"$H_T$", unit="GeV")
    add_variable(config, "n_jet", binning=(8, 2.5, 10.5), x_title="Number of jets",
                 x_discrete=True)
    add_variable(config, "n_bjet", binning=(5, -0.5, 4.5), x_title="Number of b jets",
                 x_discrete=True)
    add_variable(config, "m_jj", binning=(30, 0.0, 600.0), x_title=r"$m_{jj}$ (leading jets)",
                 unit="GeV")
    add_variable(config, "jet1_pt", "Jet.pt[:,0]", binning=(30, 0.0, 450.0),
                 x_title=r"Leading jet $p_T$", unit="GeV")
    add_variable(config, "muon_pt", "Muon.pt[:,0]", binning=(30, 0.0, 300.0),
                 x_title=r"Muon $p_T$", unit="GeV")
    add_variable(config, "met", "MET.pt", binning=(30, 0.0, 300.0), x_title=r"$p_T^{miss}$",
                 unit="GeV")

    # categories, each selected by categorizers (production.py) and identified by its id
    add_category(config, "incl", 1, "{{ cookiecutter.short_name }}_incl", label="inclusive")
    add_category(config, "1b", 2, "{{ cookiecutter.short_name }}_1b", label="1 b jet")
    add_category(config, "2b", 3, "{{ cookiecutter.short_name }}_2b", label=r"$\geq$2 b jets")

    # analysis constants that TAFs read from their config (self.config_inst.x.btag_wp)
    config.x.btag_wp = 0.5

    # correction files, loaded by the TAFs in their setup hook
    config.x.external_files = {"muon_sf": os.path.join(DATA_DIR, "muon_sf.json")}

    # the event weight of simulated events in histograms: the product of these columns (the
    # framework's "default" hist producer); shifts aliasing one of them are weight shifts
    config.x.event_weights = ["normalization_weight", "muon_weight"]

    # columns that reduction keeps besides those the calibrators and the selector produce;
    # producers can only read what is kept here
    set_keep_columns(config, "cf.ReduceEvents", {
        "run", "luminosityBlock", "event", "genWeight",
        "Jet.{pt,eta,phi,mass,btagDeepFlavB}", "Muon.{pt,eta,phi,charge}", "MET.{pt,phi}",
    })

    # what the tasks use when the command line does not say
    prefix = "{{ cookiecutter.short_name }}"
    set_defaults(
        config,
        calibrators=[f"{prefix}_jes"],
        selector=f"{prefix}_selection",
        reducer="default",
        producers=[f"{prefix}_features", f"{prefix}_category_ids", f"{prefix}_weights"],
        hist_producer="default",
        variables=["ht", "n_jet", "n_bjet", "m_jj", "jet1_pt", "muon_pt", "met"],
        variables_2d=["jet1_pt-muon_pt"],
        categories=["incl", "1b", "2b"],
        shift_sources=["jes", "mu_sf"],
        datasets=list(DATASETS),
        processes=list(PROCESSES),
    )
    return config


def synthetic_campaign_dir() -> str:
    """Where the synthetic campaign lives: ``<store>/campaigns/{{ cookiecutter.short_name }}``
    (``./store/campaigns/...`` when the store is remote: input files are read locally)."""
    return os.path.join(local_store_root(), "campaigns", "{{ cookiecutter.short_name }}")


def dataset_files(config: od.Config, dataset: od.Dataset, info_key: str = "nominal") -> list[str]:
    """Paths or URLs of the files of *dataset* (of its info entry *info_key*, e.g. a dataset
    variation); the synthetic campaign is generated when it is missing."""
    keys = list(dataset.get_info(info_key).keys)
    if not dataset.x("synthetic", None):
        return keys
    from columnar.demo.generate import ensure_campaign

    campaign: SyntheticCampaign = config.x.synthetic_campaign
    # the pseudo-data follows the cross sections of this config
    xsecs = {spec.synthetic: PROCESSES[spec.process].xsec for spec in DATASETS.values()
             if spec.synthetic and PROCESSES[spec.process].xsec is not None}
    directory = synthetic_campaign_dir()
    ensure_campaign(directory, events=campaign.events,
                    files_per_dataset=campaign.files_per_dataset, seed=campaign.seed,
                    lumi=campaign.lumi, xsecs=xsecs)
    return [os.path.join(directory, key) for key in keys]
