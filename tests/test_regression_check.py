"""benchmarks/regression.py's decisions on given asv results (no asv run): what fails CI and what does not.

The script reads asv's results folder; here ``results`` is replaced by a table of results so
that the rules themselves are tested: a changed track_ value fails naming it, a codec whose
library version moved is left out (as tests/test_golden.py does), a missing parent is a note,
and a timing beyond the factor is flagged (asv's statistical test, when asv is installed).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "regression.py"
GNN = "bench_codecs.Quality.track_psnr('gnn[epochs=30]', 1.0)"
PCA = "bench_codecs.Quality.track_psnr('pca', 1.0)"
RATE = "bench_ccsds123.Rate.track_bpppb('ccsds123[max_error=0]', '64x64x32')"


@pytest.fixture
def regression(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("_regression_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "GOLDEN", tmp_path / "golden_quality.json")
    monkeypatch.setattr(module, "_asv", lambda: None)
    monkeypatch.setattr(module, "_versions", lambda: {"numpy": "2.0", "torch": "2.13.0+cpu"})
    return module


def given(module, monkeypatch, by_commit: dict[str, dict[str, float | None]], samples: dict | None = None):
    """asv results per commit: name -> value (stats and samples from ``samples`` or none)."""
    def results(conf, commit, required=True):
        table = by_commit.get(commit, {})
        return {n: (v, (samples or {}).get((commit, n), (None, None))) for n, v in table.items()}

    monkeypatch.setattr(module, "results", results)


def golden(module, values, versions=None):
    module.GOLDEN.write_text(json.dumps({"_versions": versions or {"numpy": "2.0", "torch": "2.13.0+cpu"},
                                         "values": values}))


def test_quality_names_a_changed_missing_or_new_value(regression, monkeypatch):
    golden(regression, {PCA: 46.87, RATE: 7.23, GNN: 23.9})
    given(regression, monkeypatch, {"HEAD": {PCA: 46.87, RATE: 7.23, GNN: 23.9}})
    assert regression.quality("HEAD", update=False) == []
    given(regression, monkeypatch, {"HEAD": {PCA: 45.0, GNN: 23.9, "bench_x.X.track_new": 1.0}})
    problems = regression.quality("HEAD", update=False)
    assert len(problems) == 3
    assert any(p.startswith(PCA) and "45.0" in p and "46.87" in p for p in problems)
    assert any(p.startswith(RATE) and "no result now" in p for p in problems)
    assert any(p.startswith("bench_x.X.track_new") and "no golden value" in p for p in problems)


def test_quality_leaves_out_a_codec_whose_library_moved(regression, monkeypatch, capsys):
    golden(regression, {PCA: 46.87, GNN: 23.9}, versions={"numpy": "2.0", "torch": "2.12.0+cpu"})
    given(regression, monkeypatch, {"HEAD": {PCA: 46.87, GNN: 22.0}})
    assert regression.quality("HEAD", update=False) == []  # torch moved: the GNN's numbers are not compared
    assert "torch 2.12.0+cpu in golden_quality.json, 2.13.0+cpu installed" in capsys.readouterr().out
    given(regression, monkeypatch, {"HEAD": {PCA: 46.0, GNN: 22.0}})
    assert [p.split(":")[0] for p in regression.quality("HEAD", update=False)] == [PCA]  # pca still is


def test_torch_trained_values_are_judged_on_the_machines_the_file_pins(regression, monkeypatch, capsys):
    monkeypatch.setattr(regression.GOLDEN_STREAMS, "kernel_id", lambda: "m1")
    golden(regression, {PCA: 46.87, GNN: 23.9})
    given(regression, monkeypatch, {"HEAD": {PCA: 46.87, GNN: 23.8}})
    assert regression.quality("HEAD", update=False) == []  # m1 unpinned: named, not compared
    assert "does not pin" in capsys.readouterr().out
    assert regression.quality("HEAD", update=False, pin_machine=True) == []
    written = json.loads(regression.GOLDEN.read_text())
    assert written["values"] == {PCA: 46.87, GNN: 23.9} and written["_machines"] == {"m1": {GNN: 23.8}}
    assert regression.quality("HEAD", update=False) == []  # m1's own value
    given(regression, monkeypatch, {"HEAD": {PCA: 46.87, GNN: 23.7}})
    assert [p.split(":")[0] for p in regression.quality("HEAD", update=False)] == [GNN]  # pinned: a regression
    monkeypatch.setattr(regression.GOLDEN_STREAMS, "kernel_id", lambda: "m2")
    given(regression, monkeypatch, {"HEAD": {PCA: 46.0, GNN: 23.9}})  # the first machine's value passes anywhere
    assert [p.split(":")[0] for p in regression.quality("HEAD", update=False)] == [PCA]


def test_update_writes_the_values_and_versions(regression, monkeypatch):
    given(regression, monkeypatch, {"HEAD": {PCA: 46.87, "bench_codecs.Quality.track_psnr('x', 1.0)": float("nan")}})
    assert regression.quality("HEAD", update=True) == []
    written = json.loads(regression.GOLDEN.read_text())
    assert written == {"_versions": {"numpy": "2.0", "torch": "2.13.0+cpu"}, "values": {PCA: 46.87}}


def test_update_of_some_benchmarks_keeps_the_other_golden_values(regression, monkeypatch):
    other, new = "bench_m.Q.track_a", "bench_parallel.Q.track_b"
    golden(regression, {PCA: 46.87, other: 1.5})
    given(regression, monkeypatch, {"HEAD": {new: 0.2, PCA: 40.0}})
    assert regression.quality("HEAD", update=True, only="bench_parallel") == []
    assert json.loads(regression.GOLDEN.read_text())["values"] == {PCA: 46.87, other: 1.5, new: 0.2}


def test_no_parent_results_is_a_note_not_a_failure(regression, monkeypatch, capsys):
    given(regression, monkeypatch, {"HEAD": {"bench_m.M.time_a": 1.0}})
    assert regression.compare("PARENT", "HEAD", factor=2.0) == []
    assert "timings not compared" in capsys.readouterr().out


def test_a_timing_beyond_the_factor_is_flagged_and_named(regression, monkeypatch, tmp_path):
    pytest.importorskip("asv")
    slow, same = "bench_codecs.EncodeDecode.time_encode('speck', '64x64x32', 1.0)", "bench_metrics.Metrics.time_mse"
    tight = {  # five samples each, tightly spread: asv's test finds the difference significant
        ("P", slow): ({"ci_99_a": 0.99, "ci_99_b": 1.01, "q_25": 0.995, "q_75": 1.005, "repeat": 5, "number": 1},
                      [0.99, 1.0, 1.0, 1.0, 1.01]),
        ("H", slow): ({"ci_99_a": 2.99, "ci_99_b": 3.01, "q_25": 2.995, "q_75": 3.005, "repeat": 5, "number": 1},
                      [2.99, 3.0, 3.0, 3.0, 3.01]),
    }
    given(regression, monkeypatch, {"P": {slow: 1.0, same: 0.5, "bench_m.M.time_gone": 1.0},
                                    "H": {slow: 3.0, same: 0.55, "bench_m.M.time_gone": None}}, tight)
    flagged: list[str] = []
    problems = regression.compare("P", "H", factor=2.0, flagged=flagged)
    assert sorted(flagged) == sorted([slow, "bench_m.M.time_gone"])
    assert any(p.startswith(slow) and "3.00x" in p for p in problems)
    assert any("worked on the parent, fails now" in p for p in problems)
    # the confirmation compares only the flagged names; at a larger factor the slowdown is within it
    assert regression.compare("P", "H", factor=4.0, names={slow}) == []
    # through the command line: --flagged writes the names, the exit status says whether any was
    names = tmp_path / "flagged"
    assert regression.main(["compare", "P", "H", "--factor", "2", "--flagged", str(names)]) == 1
    assert set(names.read_text().splitlines()) == {slow, "bench_m.M.time_gone"}
