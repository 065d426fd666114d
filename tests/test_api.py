"""The notebook API: ``hsibench.run`` and ``hsibench.load`` return the report's CSV as a DataFrame."""

from __future__ import annotations

import io
import subprocess
import sys

import pandas as pd

import hsibench
from hsibench import report
from hsibench.results import load_records

SMALL = "synthetic[rows=16,cols=16,bands=8]"


def test_run_returns_this_calls_records_as_the_report_csv(tmp_path):
    out = tmp_path / "run"
    df = hsibench.run(codecs="pca,speck", datasets=SMALL, rates=[0.5, 1], out=str(out), progress=False)
    assert isinstance(df, pd.DataFrame) and len(df) == 4
    assert set(df["codec"]) == {"pca", "speck"} and set(df["target_bpppb"]) == {0.5, 1.0}
    assert (df["status"] == "ok").all() and (df["bpppb"] <= df["target_bpppb"]).all()
    # the same columns and values as `hsibench report RUN --format csv`
    csv = pd.read_csv(io.StringIO(report.csv(load_records(out))))
    assert list(df.columns) == list(csv.columns)
    pd.testing.assert_series_equal(df["psnr"], csv["psnr"], check_names=False)
    # a second call resumes (nothing re-run) and returns only its own tasks
    again = hsibench.run(codecs=["pca"], datasets=[SMALL], rates="1", out=str(out), progress=False)
    assert len(again) == 1 and again["codec"].tolist() == ["pca"]
    assert len(load_records(out)) == 4
    loaded = hsibench.load(str(out))
    assert len(loaded) == 4 and list(loaded.columns) == list(df.columns)


def test_import_hsibench_stays_light():
    code = ("import sys, hsibench; heavy = [m for m in ('numpy', 'pandas', 'torch', 'scipy', 'hsibench.codecs') "
            "if m in sys.modules]; print(heavy); import hsibench as h; h.codecs.names()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
