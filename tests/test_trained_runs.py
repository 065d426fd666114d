"""siren and coolchic through the same runner, records, report and figures as every codec.

Short trainings on a tiny cube: what is checked is the plumbing (the schedule and epochs in the
records, the report's epochs column, the training-curve figure), not the quality.
"""

from __future__ import annotations

import pytest

from hsibench import plots, report, results, runner

pytest.importorskip("torch")
TINY = "synthetic[rows=16,cols=16,bands=8]"
SPECS = ["siren[depth=2,epochs=20,progress=false,threads=1]", "coolchic[epochs=4,progress=false,threads=1]"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("trained")
    summary = runner.run(dataset_specs=[TINY], codec_specs=SPECS, rates=[4.0], out=out, progress=False)
    assert summary.failed == []
    return out


def test_records_carry_the_training_schedule(run_dir):
    recs = results.load_records(run_dir)
    assert sorted(r["codec"]["name"] for r in recs) == ["coolchic", "siren"]
    for r in recs:
        assert r["status"] == "ok" and r["bpppb"] <= r["target_bpppb"]
        info, resolved = r["encode_info"], r["codec"]["resolved"]
        assert resolved["device"] == "cpu" and resolved["schedule"] == info["schedule"]["policy"] == "quick"
        assert info["epochs_run"]["main"] == resolved["epochs"] and info["stopped_by_time_budget"] is False
        assert info["curve"] and info["psnr_decoded"] > 5 and r["metrics"]["psnr"] > 5  # 20 epochs: plumbing, not quality


def test_report_and_figures_show_the_trained_codecs(run_dir, tmp_path):
    text = report.markdown(results.load_records(run_dir))
    assert "| epochs |" in text and "siren's probes" in text
    rows = [line for line in text.splitlines() if line.startswith(("| siren", "| coolchic"))]
    assert len(rows) == 2 and all("| 20 |" in r or "| 4 |" in r for r in rows), rows  # the main epochs each ran
    made = plots.figures(run_dir, tmp_path / "fig", formats=("png",))
    stems = {p.stem.split("_")[0] for p in made.paths}
    assert {"rd", "training", "time"} <= stems, made.notes
