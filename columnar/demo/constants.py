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
