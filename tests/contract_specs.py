"""Fast specs and rates for the contract tests: one entry per registered codec.

Every registered codec must appear here (tests/test_contract.py checks it), with a spec that
runs in a few seconds on a tiny cube and two or more increasing rates.  The trained codecs fix
their epochs and lift the wall-clock budget, so that a loaded machine cannot stop a training
early and make two encodes of the same inputs differ.
"""

CONTRACT_SPECS: dict[str, dict] = {
    "pca": {"spec": "pca", "rates": [0.5, 1.0, 2.0]},
    "speck": {"spec": "speck", "rates": [0.25, 1.0, 2.0]},
    "spiht": {"spec": "spiht", "rates": [0.25, 1.0, 2.0]},
    "gnn": {"spec": "gnn[epochs=100,progress=false,time_budget_s=100000]", "rates": [2.0, 6.0]},
    "siren": {"spec": "siren[depth=2,epochs=60,progress=false,time_budget_s=100000]", "rates": [2.0, 8.0]},
    "coolchic": {"spec": "coolchic[epochs=10,progress=false,time_budget_s=100000]", "rates": [2.0, 4.0, 8.0]},
    "jpeg2000": {"spec": "jpeg2000", "rates": [0.5, 1.0, 2.0]},
    "pca_jpeg2000": {"spec": "pca_jpeg2000", "rates": [0.5, 1.0, 2.0]},
    # the sample-adaptive coder spends at least 1 bit per sample: its rates start above 1 bpppb
    "ccsds123": {"spec": "ccsds123", "rates": [1.5, 2.5, 4.0]},
}
