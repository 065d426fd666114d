"""Reports from records: per-dataset tables, BD metrics through the report, the paper's Tables 1-4.

Records of codecs that are slow to run (GNN, SPECK, SPIHT) are made here by relabelling real
``pca`` records, so every number a table shows can be checked against what was put in.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from hsibench import report, results, runner
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
    r["seed"] = seed
    r["key"] = results.task_key(dataset_sha256=r["dataset"]["sha256"], dataset_name=r["dataset"]["name"],
                                codec_name=name, codec_revision=1,
                                codec_resolved={"spec": r["codec"]["spec"], **r["codec"]["params"]},
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

    assert t3.frame is None and "SPECK" in t3.note  # no speck/spiht records: omitted, never filled

    f4 = t4.frame
    assert len(f4) == 2 and {"MSE 3 blocks", "CR 4 blocks", "PSNR 4 blocks"} <= set(f4.columns)

    speck = [relabel(x, "speck") for x in pca_records]
    t3 = report.paper_tables(g + speck)[2]
    row = t3.frame[t3.frame["gnn"] == "gnn[p=1]"].iloc[0]
    assert row["speck CR"] == pytest.approx(r["cr"]) and row["speck PSNR"] == pytest.approx(r["metrics"]["psnr"])
    assert "spiht" in t3.note and "spiht CR" not in t3.frame.columns


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
