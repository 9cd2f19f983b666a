"""Physics constants of the demo campaign, shared by the generator and the demo config."""

#: center-of-mass energy in TeV
ECM = 13

#: integrated luminosity in pb^-1 and its relative uncertainty
LUMI_PB = 3378.0
LUMI_REL_UNC = 0.03

#: cross sections in pb of the simulated processes
XSECS_PB = {
    "tt": 729.84,
    "dy": 6077.22,
    "wjets": 61526.7,
}

#: names of the MC datasets and the data dataset of the demo campaign
MC_DATASETS = ("tt", "dy", "wjets")
DATA_DATASET = "data"
DATASETS = MC_DATASETS + (DATA_DATASET,)

#: particle masses and widths in GeV (PDG-like values) used by the campaign generator
M_TOP, GAMMA_TOP = 172.5, 1.42
M_W, GAMMA_W = 80.377, 2.085
M_Z, GAMMA_Z = 91.1876, 2.4952
M_B = 4.78
M_MUON = 0.1056584
M_ELECTRON = 0.000511

#: branching ratios: W -> l nu per lepton flavour, W -> hadrons
BR_W_LNU = 0.1086
BR_W_HAD = 0.6741
#: the dy and wjets cross sections include e, mu and tau decays; fraction of e/mu decays
FRAC_EMU_OF_LEPTONIC = 2.0 / 3.0
