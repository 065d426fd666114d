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


def test_usage_errors_are_one_line_and_exit_2(tmp_path, capsys):
    for argv in (["run", "--codecs", "nope"], ["run", "--dataset", "nope"], ["run", "--rates", "0"],
                 ["run", "--rates", "a,b"], ["run", "--codecs", "pca[nope=1]"], ["datasets", "info", "nope"],
                 ["run", "--dry-run", "--codecs", "speck[spatial_levels=x]"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("hsibench: error:") and "\n" not in err


def test_runtime_failures_exit_1(tmp_path, capsys):
    """Right command, failed work: a missing run, a missing dataset file, an unreadable cube, a failed task."""
    bad = tmp_path / "nan.npy"
    np.save(bad, np.full((8, 8, 4), np.nan, dtype=np.float32))
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"not a numpy file")
    for argv in (["report", str(tmp_path / "missing")],
                 ["run", "--dataset", "botswana", "--data-dir", str(tmp_path), "--codecs", "pca"],
                 ["run", "--dataset", str(garbage), "--codecs", "pca", "--out", str(tmp_path / "g")]):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("hsibench: error:") and "\n" not in err
    # a task that fails (a NaN cube is refused by the codec) is recorded, and the exit status is 1
    argv = ["run", "--dataset", str(bad), "--codecs", "pca", "--rates", "1", "--out", str(tmp_path / "r"),
            "--no-progress"]
    assert main(argv) == 1
    assert "failed: nan.npy pca @ 1" in capsys.readouterr().err


def test_usage_and_runtime_error_classes():
    from hsibench import errors

    usage = {errors.InvalidParameterError, errors.InvalidRateError, errors.UnknownCodecError,
             errors.UnknownDatasetError}
    for cls in vars(errors).values():
        if isinstance(cls, type) and issubclass(cls, errors.HsibenchError) and cls not in (errors.HsibenchError,
                                                                                       errors.UsageError):
            assert issubclass(cls, errors.UsageError) == (cls in usage), cls


def test_python_dash_m_and_argparse_usage(tmp_path):
    import subprocess
    import sys

    ok = subprocess.run([sys.executable, "-m", "hsibench", "--version"], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("hsibench ")
    bad = subprocess.run([sys.executable, "-m", "hsibench", "run", "--no-such-option"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unrecognized arguments" in bad.stderr


def test_datasets_info_json(tmp_path, capsys):
    import json

    assert main(["datasets", "info", "botswana", "--json", "--data-dir", str(tmp_path)]) == 0
    about = json.loads(capsys.readouterr().out)
    assert about["name"] == "botswana" and about["shape"] == [1476, 256, 145]
    assert about["crops"] == {"paper": [0, 512, 0, 256]} and about["downloaded"] is False
    assert about["path"] == str(tmp_path / "Botswana.mat")
    assert main(["datasets", "info", "synthetic", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["downloaded"] is True


def test_dry_run_lists_tasks_and_what_is_recorded(tmp_path, capsys):
    out = tmp_path / "run"
    base = ["run", "--codecs", "pca", "--dataset", "synthetic[rows=16,cols=16,bands=8]", "--out", str(out)]
    assert main(base + ["--rates", "1,2", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert text.count("| to run |") == 2 and "2 tasks, 2 to run, 0 already recorded" in text
    assert not out.exists()  # nothing written
    assert main(base + ["--rates", "1", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(base + ["--rates", "1,2", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "| pca | 1 | 0 | recorded |" in text and "| pca | 2 | 0 | to run |" in text
    assert "2 tasks, 1 to run, 1 already recorded" in text
    assert len((out / "records.jsonl").read_text().splitlines()) == 1  # the dry run ran nothing


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
