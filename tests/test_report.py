"""Reports from records: per-dataset tables, BD metrics through the report, the paper's Tables 1-4.

Records of codecs that are slow to run (GNN, SPECK, SPIHT) are made here by relabelling real
``pca`` records, so every number a table shows can be checked against what was put in.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from hsibench import codecs, report, results, runner
from hsibench.cli import main

SMALL = "synthetic[rows=24,cols=24,bands=12]"
RATES = [0.5, 1.0, 2.0, 4.0]


@pytest.fixture(scope="module")
def pca_records(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=RATES, out=out, progress=False)
    recs = results.load_records(out)
    assert len(recs) == 4 and all(r["status"] == "ok" for r in recs)
    return recs


def relabel(rec, name, spec=None, *, params=None, seed=0, psnr_add=0.0, rate_scale=1.0, stream=None, info=None,
            mse_scale=1.0):
    """A copy of ``rec`` as if codec ``name`` had produced it (key recomputed; metrics shifted as asked)."""
    r = copy.deepcopy(rec)
    r["codec"] = {"name": name, "spec": spec or name, "params": dict(params or {})}
    if name in codecs.names():  # as the codec's current revision made it (older revisions are left out)
        r["codec"]["revision"] = codecs.codec_class(name).revision
    r["seed"] = seed
    r["key"] = results.task_key(dataset_sha256=r["dataset"]["sha256"], dataset_name=r["dataset"]["name"],
                                codec_name=name, codec_revision=1, codec_resolved={"spec": r["codec"]["spec"]},
                                target_bpppb=r["target_bpppb"], seed=seed)
    r["bpppb"] *= rate_scale
    r["bytes"] = int(round(r["bytes"] * rate_scale))
    r["cr"] = r["dataset"]["native_bits"] / r["bpppb"]
    r["metrics"]["psnr"] += psnr_add
    r["metrics"]["mse"] *= mse_scale
    r["stream"] = dict(stream or {})
    r["encode_info"] = dict(info or {})
    return r


def test_bd_through_the_report_is_exact(pca_records):
    recs = [relabel(r, "speck") for r in pca_records]
    recs += [relabel(r, "better", psnr_add=1.0) for r in pca_records]
    recs += [relabel(r, "cheaper", rate_scale=0.9) for r in pca_records]
    t = report.bd_table(recs, anchor="speck")
    got = t.frame.set_index("spec")
    assert got.loc["better", "bd_psnr_db"] == pytest.approx(1.0, abs=1e-9)
    assert got.loc["cheaper", "bd_rate_pct"] == pytest.approx(-10.0, abs=1e-9)
    assert "cubic polynomial" in t.note and "overlapping range" in t.note
    text = report.render(recs, anchor="speck")
    assert "| better |" in text and "+1.000" in text and "-10.00" in text
    assert report.bd_table(recs, anchor="speck", method="pchip").frame.set_index("spec").loc["better", "bd_psnr_db"] == pytest.approx(1.0)


def test_bd_absent_anchor_and_too_few_points(pca_records):
    t = report.bd_table(pca_records, anchor="speck")
    assert t.frame is None and "no records of the anchor 'speck'" in t.note
    recs = [relabel(r, "speck") for r in pca_records] + [relabel(r, "few") for r in pca_records[:2]]
    row = report.bd_table(recs, anchor="speck").frame.iloc[0]
    assert row["bd_rate_pct"] is None and "at least 4" in row["note"]


def test_seeds_are_averaged_and_failures_shown_as_gaps(pca_records):
    recs = [relabel(r, "stoch", seed=s, psnr_add=s) for r in pca_records for s in (0, 2)]
    pts = report.rd_points(recs)
    assert (pts["n_seeds"] == 2).all()
    assert pts["psnr"].tolist() == pytest.approx([r["metrics"]["psnr"] + 1 for r in pca_records])
    failed = copy.deepcopy(pca_records[0])
    failed.update(status="failed", key="f", error={"type": "X", "message": "boom", "traceback": None})
    for k in ("metrics", "bpppb", "cr", "bytes"):
        failed.pop(k)
    failed["target_bpppb"] = 0.01
    text = report.markdown(recs + [failed])
    assert "| codec | seed | target |" in text and "failed: boom" in text


def gnn_records(base):
    """GNN-like records: p sweep (Table 1), blocks x prune (Tables 2, 4)."""
    recs = []
    r0 = base[1]  # 1 bpppb
    for p, mse_scale in ((1.0, 1.0), (1.5, 0.8), (2.0, 0.9), (3.0, 1.2)):
        recs.append(relabel(r0, "gnn", f"gnn[p={p:g}]", params={"p": p}, mse_scale=mse_scale,
                            stream={"blocks": 4, "channels": 64, "prune": 0.67, "weights": "int8"}))
    for blocks in (3, 4):
        for prune, scale in ((0.0, 1.0), (0.67, 0.4)):
            recs.append(relabel(r0, "gnn", f"gnn[blocks={blocks},prune={prune:g}]",
                                params={"p": 1.5, "blocks": blocks, "prune": prune}, rate_scale=scale,
                                mse_scale=1 + prune, stream={"blocks": blocks, "channels": 32, "prune": prune},
                                info={"payload_bytes": 1000 * blocks * scale, "curve": [[0, 0.0, 1.0, 10.0]]}))
    return recs


def test_paper_tables_from_gnn_records(pca_records):
    g = gnn_records(pca_records)
    t1, t2, t3, t4 = report.paper_tables(g)
    r = pca_records[1]
    scale = 4.0 / r["metrics"]["data_range"] ** 2
    row = t1.frame.iloc[0]
    assert row["MSE p=1.5"] == pytest.approx(0.8 * r["metrics"]["mse"] * scale)
    assert list(t1.frame.columns[-4:]) == ["MSE p=1", "MSE p=1.5", "MSE p=2", "MSE p=3"]

    f2 = t2.frame.set_index("blocks")
    assert f2.loc[3, "network bytes before"] == 3000 and f2.loc[3, "network bytes after"] == pytest.approx(1200)
    assert f2.loc[4, "CR after"] == pytest.approx(f2.loc[4, "CR before"] / 0.4)
    assert f2.loc[4, "MSE after"] == pytest.approx(1.67 * r["metrics"]["mse"] * scale)

    assert t3.frame is None and "no other codec" in t3.note  # nothing to compare with: omitted, never filled

    f4 = t4.frame
    assert len(f4) == 2 and {"MSE 3 blocks", "CR 4 blocks", "PSNR 4 blocks"} <= set(f4.columns)

    # Table 3 is at equal bytes: a speck record at the GNN's achieved rate is used, never the nearest CR
    gnn = next(x for x in g if x["codec"]["spec"] == "gnn[blocks=3,prune=0.67]")
    speck = [relabel(x, "speck") for x in pca_records]  # at the 0.5..4 grid: none at the GNN's rate
    t3 = report.paper_tables(g + speck)[2]
    row = t3.frame[t3.frame["spec"] == gnn["codec"]["spec"]].iloc[0]
    assert row["speck PSNR"] is None and "cells are empty" in t3.note and "--match-rate gnn" in t3.note
    matched = relabel(pca_records[0], "speck", psnr_add=7.0)
    matched["target_bpppb"], matched["bpppb"], matched["bytes"] = gnn["bpppb"], gnn["bpppb"], gnn["bytes"]
    matched["key"] = "matched"
    row = report.paper_tables(g + speck + [matched])[2].frame.set_index("spec").loc[gnn["codec"]["spec"]]
    assert row["speck PSNR"] == pytest.approx(matched["metrics"]["psnr"]) and row["speck how"] == "matched"
    assert row["speck bpppb"] == row["bpppb"]


def test_paper_tables_absent_inputs_are_notes(pca_records):
    for t in report.paper_tables(pca_records):
        assert t.frame is None and "omitted" in t.note and "\n" not in t.note
    only_p = gnn_records(pca_records)[:1]
    assert all(t.frame is None for t in report.paper_tables(only_p)[:2])


def test_write_and_cli(tmp_path, pca_records, capsys):
    store = results.RecordStore(tmp_path / "run")
    for r in [relabel(x, "speck") for x in pca_records] + pca_records + gnn_records(pca_records):
        store.append(r)
    paths = report.write(results.load_records(tmp_path / "run"), tmp_path / "rep", anchor="speck")
    names = sorted(p.name for p in paths)
    assert names == ["bd.csv", "report.md", "results.csv", "table1.csv", "table2.csv", "table3.csv", "table4.csv"]
    assert pd.read_csv(tmp_path / "rep" / "bd.csv")["spec"].tolist()  # readable CSV
    assert main(["report", str(tmp_path / "run"), "--anchor", "speck"]) == 0
    text = capsys.readouterr().out
    assert "## Table 2" in text and "BD-rate %" in text
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "rep2")]) == 0
    assert (tmp_path / "rep2" / "report.md").exists() and "report.md" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "run"), "--bd-method", "nope"]) == 2


def test_trained_rows_show_their_epochs_and_the_schedule_note(pca_records):
    quick = {"epochs_run": {"main": 318, "prune": 95}, "schedule": {"policy": "quick", "lr": 5e-3},
             "stopped_by_time_budget": True}
    paper = {"epochs_run": {"main": 15000, "prune": 3000}, "schedule": {"policy": "paper", "lr": 5e-4},
             "stopped_by_time_budget": False}
    recs = [relabel(pca_records[1], "gnn", "gnn[blocks=3,prune=0]", info=quick, stream={"blocks": 3, "prune": 0.0}),
            relabel(pca_records[1], "gnn", "gnn[blocks=3,prune=0.67]", info=quick, stream={"blocks": 3, "prune": 0.67},
                    rate_scale=0.5)]
    text = report.markdown(recs + pca_records)
    assert "| epochs |" in text and "| 318† |" in text and "main-phase training epochs" in text
    assert "| epochs |" not in report.markdown(pca_records)  # no trained codec: no column
    t2 = report.paper_tables(recs)[1]
    assert t2.frame["epochs before"].tolist() == ["318"]
    assert "Not the paper's schedule: 2 of 2 GNN records were trained for 318 main-phase epochs at lr 0.005 (2 " \
           "stopped by a wall-clock budget)" in t2.note
    recs = [relabel(r, r["codec"]["name"], r["codec"]["spec"], info=paper, stream=r["stream"]) for r in recs]
    assert "Every GNN record here was trained at the paper's schedule" in report.paper_tables(recs)[1].note


def test_equal_bytes_truncates_kept_embedded_streams(tmp_path):
    from hsibench import codecs, datasets, matching, metrics

    out = tmp_path / "run"
    runner.run(dataset_specs=[SMALL], codec_specs=["pca"], rates=[0.6], out=out, progress=False, warmup=False)
    runner.run(dataset_specs=[SMALL], codec_specs=["speck"], rates=[2.0], out=out, progress=False, warmup=False)
    recs = results.load_records(out)
    pca = next(r for r in recs if r["codec"]["name"] == "pca")
    speck = next(r for r in recs if r["codec"]["name"] == "speck")
    assert matching.equal_bytes(recs, "pca")["speck PSNR"].isna().all()  # without the run folder: no stream to cut
    frame = matching.equal_bytes(recs, "pca", run_dir=out)
    row = frame.iloc[0]
    cut = codecs.truncate((out / speck["stream_file"]).read_bytes(), pca["bytes"])
    cube = datasets.load(SMALL).cube
    expect = metrics.psnr(cube, codecs.get("speck").decode(cut), data_range=metrics.data_range_of(cube))
    assert row["speck how"] == "truncated" and row["speck PSNR"] == pytest.approx(expect)
    assert row["speck bpppb"] == row["bpppb"] == pytest.approx(8 * pca["bytes"] / cube.size)
    assert matching.worst_rate_gap(frame) == 0.0
    t = report.match_table(recs, "pca", out)
    assert "(t)" in "\n".join(report._section(t)) and t.frame is not None
    assert main(["report", str(out), "--match-rate", "pca", "--out", str(tmp_path / "rep")]) == 0
    assert (tmp_path / "rep" / "match_pca.csv").exists()
    assert main(["report", str(out), "--match-rate", "nope"]) == 2
