"""Figures render from a run's own files into a folder: every file exists and is not empty."""

from __future__ import annotations

import copy
import json

import pytest

from hsibench import codecs, plots, results, runner
from hsibench.cli import main

SMALL = "synthetic[rows=24,cols=24,bands=12]"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    runner.run(dataset_specs=[SMALL], codec_specs=["pca", "pca[components=2]"], rates=[0.5, 1.0, 2.0], out=out,
               progress=False)
    # a GNN-like record with a training curve (relabelled pca record, no stream of its own)
    rec = copy.deepcopy(results.load_records(out)[1])
    rec.update(key="gnnlike", seed=0, stream_file=None)
    rec["codec"] = {"name": "gnn", "spec": "gnn[blocks=3]", "params": {"p": 1.5},
                    "revision": codecs.codec_class("gnn").revision}  # as the current gnn made it
    rec["encode_info"] = {"structure": {"blocks": 3, "channels": 8, "prune": 0.6667, "weights": "int8"},
                          "curve": [[e, 0.01 * e, 0.5 / (1 + e), 10 + e / 10] for e in range(1, 101)]}
    results.RecordStore(out).append(rec)
    return out


def _files(made, stem):
    return [p for p in made.paths if p.stem.startswith(stem)]


def test_every_figure_is_written(run_dir, tmp_path):
    made = plots.figures(run_dir, tmp_path / "fig", rate=1.0, pixel=(3, 5))
    for stem in ("rd_", "visual_", "spectrum_", "band_psnr_", "training_", "time_"):
        files = _files(made, stem)
        assert sorted(p.suffix for p in files) == [".pdf", ".png"], stem
        assert all(p.stat().st_size > 1000 for p in files)
    assert any("Fig. 9" in n for n in made.notes)  # no GNN snapshots: said, not drawn
    assert any("gnn[blocks=3]" in n or "no kept stream" in n for n in made.notes)


def test_missing_inputs_are_notes(run_dir, tmp_path):
    made = plots.figures(run_dir, tmp_path / "a", pixel=(99, 99), formats=("png",))
    assert any("outside" in n for n in made.notes) and not _files(made, "spectrum_")
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "records.jsonl").write_bytes((run_dir / "records.jsonl").read_bytes())  # no streams/ folder
    made = plots.figures(bare, tmp_path / "b", formats=("png",))
    assert not _files(made, "visual_") and any("no stream kept" in n for n in made.notes)
    assert _files(made, "rd_")  # the record-only figures are still drawn
    recs = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    for r in recs:
        r["dataset"]["sha256"] = "0" * 64  # the original no longer matches what was run
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    made = plots.figures(changed, tmp_path / "c", formats=("png",))
    assert any("could not be reloaded" in n for n in made.notes)


def test_cli_report_figures(run_dir, tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["report", str(run_dir), "--figures", "--out", str(out), "--anchor", "pca"]) == 0
    printed = capsys.readouterr().out.split()
    assert str(out / "report.md") in printed and any(p.endswith(".png") for p in printed)
    assert (out / "figures").is_dir() and (out / "bd.csv").exists()
    assert main(["report", str(run_dir), "--figures", "--out", str(out), "--pixel", "a,b"]) == 2
    assert main(["report", str(run_dir), "--figures", "--out", str(out), "--dataset", "nope"]) == 2


def test_report_links_the_figures(run_dir, tmp_path):
    from hsibench import report

    made = plots.figures(run_dir, tmp_path / "figures", formats=("png",))
    report.write(results.load_records(run_dir), tmp_path, figures=made.paths, figure_notes=made.notes)
    text = (tmp_path / "report.md").read_text()
    assert "## Figures" in text and "](figures/rd_" in text and "Fig. 9" in text


def test_gnn_snapshots_figure(run_dir, tmp_path):
    run = tmp_path / "snap"
    run.mkdir()
    rec = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()][-1]
    rec.update(key="gnnsnap")
    rec["encode_info"]["snapshots"] = {"band": 5, "tile": 0, "epochs": [1, 10, 100],
                                       "images": [[[float(i * j * e) for j in range(24)] for i in range(24)]
                                                  for e in (1, 10, 100)]}
    (run / "records.jsonl").write_text(json.dumps(rec) + "\n")
    made = plots.figures(run, tmp_path / "fig", formats=("png",))
    files = _files(made, "snapshots_")
    assert len(files) == 1 and files[0].stat().st_size > 1000
    assert not any("Fig. 9" in n for n in made.notes)
