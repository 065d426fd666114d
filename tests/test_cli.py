"""The CLI: exit codes, one-line errors, tables on stdout, user files by path."""

from __future__ import annotations

import numpy as np

from hsibench.cli import main

from .conftest import make_cube


def test_run_report_and_resume(tmp_path, capsys):
    path = tmp_path / "cube.npy"
    np.save(path, make_cube(20, 20, 10))
    out = tmp_path / "run"
    args = ["run", "--codecs", "pca", "--dataset", str(path), "--rates", "1,2", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "### cube.npy" in text and "| pca | 1 |" in text and "2 run, 0 already recorded" in text
    assert main(args) == 0
    assert "0 run, 2 already recorded" in capsys.readouterr().out
    assert main(["report", str(out)]) == 0
    assert "PSNR dB" in capsys.readouterr().out
    assert main(["report", str(out), "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("dataset,codec,spec")


def test_errors_are_one_line_and_exit_2(tmp_path, capsys):
    for argv in (["run", "--codecs", "nope"], ["run", "--dataset", "nope"], ["run", "--rates", "0"],
                 ["run", "--rates", "a,b"], ["report", str(tmp_path / "missing")], ["datasets", "info", "nope"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("hsibench: error:") and "\n" not in err


def test_listings(capsys):
    assert main(["codecs", "list"]) == 0
    assert "pca:" in capsys.readouterr().out
    assert main(["datasets", "list"]) == 0
    assert "botswana" in capsys.readouterr().out


def test_run_sweep_seeds_jobs_and_streams(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", "--codecs", "pca[components=1|2]", "--dataset", "synthetic[rows=24,cols=24,bands=12]",
            "--rates", "1,2", "--seeds", "0,1", "--jobs", "2", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "| pca[components=1] |" in text and "| pca[components=2] |" in text and "4 run," in text
    assert len(list((out / "streams").glob("*.hsib"))) == 4
    assert main(args) == 0 and "0 run, 4 already recorded" in capsys.readouterr().out
    for bad in (["--seeds", "x"], ["--jobs", "0"], ["--codecs", "pca[components=1|]"]):
        assert main(args[:-1] + bad + ["--no-progress"]) == 2
        assert capsys.readouterr().err.startswith("hsibench: error:")
