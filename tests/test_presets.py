"""``--preset paper``: the documented grid, planned as the paper study's README says."""

from __future__ import annotations

import numpy as np

from hsibench import presets
from hsibench.cli import main

from .conftest import make_cube


def test_paper_preset_plans_the_documented_grid(tmp_path, capsys):
    path = tmp_path / "cube.npy"
    np.save(path, make_cube(16, 16, 8))
    argv = ["run", "--preset", "paper", "--dataset", str(path), "--out", str(tmp_path / "run"), "--dry-run"]
    assert main(argv) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "to run" in line]
    gnn = [r for r in rows if "| gnn[" in r]
    # blocks 2|3|4 x prune 0|0.67 (float32) at 2 rates, int8 x prune 0|0.67 at 2 rates, p = 1|2 at 1 rate
    assert len(gnn) == 12 + 4 + 2 and all("schedule=paper" in r for r in gnn)
    classical = [r for r in rows if "| gnn[" not in r]
    assert len(classical) == len(presets.CLASSICAL) * len(presets.CLASSICAL_RATES)
    assert {r.split("|")[3].strip() for r in classical} == set(presets.CLASSICAL)


def test_preset_and_codecs_exclude_each_other(capsys):
    assert main(["run", "--preset", "paper", "--codecs", "pca", "--dry-run"]) == 2
    assert "--preset" in capsys.readouterr().err
