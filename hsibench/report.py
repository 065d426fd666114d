"""Tables computed from records only, in markdown and CSV.

* :func:`markdown` / :func:`csv`: one codec x rate table per dataset (every record; failed tasks
  appear as rows that say why, never as numbers).  "peak MB" is the process's peak resident
  memory during the task; "+MB" its growth over the task's start (the codec's own share).
* :func:`bd_table`: Bjøntegaard BD-rate and BD-PSNR of every codec spec against an anchor, per
  dataset, over the overlapping range only (:mod:`hsibench.bd`).
* :func:`paper_tables`: the seed paper's Tables 1-4 (Deng, Cen & Zhang 2020) regenerated from
  GNN records and, for Table 3, every other codec at each GNN stream's exact size
  (:mod:`hsibench.matching`).  A table whose inputs are absent from the records is omitted
  with a one-line note, never filled with anything else.  Every table that shows a GNN point
  shows its main-phase epochs, and says when a record's schedule is not the paper's.
* :func:`match_table`: any codec's records beside every other codec at equal bytes
  (``hsibench report --match-rate CODEC``).
* :func:`render` and :func:`write`: all of the above as one markdown document, or as files.

Stochastic codecs run with several seeds: tables of the paper and BD curves use the mean over
seeds at each target rate (the number of seeds is shown); the per-dataset table shows each seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from . import bd, matching
from .codecs import parse_spec
from .errors import InvalidParameterError
from .results import atomic_write, latest, stale_count, to_frame

#: (column, header, format) of the per-dataset table
TABLE_COLUMNS = [
    ("codec", "codec", "{}"),
    ("target_bpppb", "target", "{:g}"),
    ("bpppb", "bpppb", "{:.4f}"),
    ("cr", "CR", "{:.1f}"),
    ("mse", "MSE", "{:.4g}"),
    ("psnr", "PSNR dB", "{:.2f}"),
    ("snr", "SNR dB", "{:.2f}"),
    ("sam_deg", "SAM °", "{:.3f}"),
    ("ssim", "SSIM", "{:.4f}"),
    ("max_abs_error", "max err", "{:.4g}"),
    ("encode_s", "enc s", "{:.2f}"),
    ("decode_s", "dec s", "{:.2f}"),
    ("peak_rss_mb", "peak MB", "{:.0f}"),
    ("peak_rss_delta_mb", "+MB", "{:.1f}"),
]
EPOCHS_COLUMN = ("epochs", "epochs", "{:.0f}")  # shown when a dataset has trained codecs (the GNN)

PAPER_EPOCHS = 15000  # the paper's main-phase epochs
PAPER_LR = 5e-4  # and learning rate

PAPER = "Deng, Cen & Zhang, Remote Sens. 2020, 12(21), 3657"


def _cell(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return str(value)


def _sorted(frame):
    return frame.sort_values(["dataset", "spec", "seed", "target_bpppb"], kind="stable")


def _md_row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def _md_table(heads: list[str], rows: list[list[str]], right: list[bool] | None = None) -> list[str]:
    right = right if right is not None else [i > 0 for i in range(len(heads))]
    lines = [_md_row(heads), "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    lines += [_md_row(r) for r in rows]
    return lines


# --------------------------------------------------------------------------------------------
# The per-dataset results table
# --------------------------------------------------------------------------------------------


def markdown(records: Iterable[dict]) -> str:
    """One markdown table per dataset; failed tasks appear as rows that say why, never as numbers.

    A seed column appears for datasets where some codec ran with more than one seed.
    """
    records = latest(records)
    about = {r["dataset"]["name"]: r["dataset"] for r in records}
    frame = _sorted(to_frame(records))
    parts = []
    for dataset, rows in frame.groupby("dataset", sort=False):
        seeded = rows.groupby("spec")["seed"].nunique().max() > 1
        cols = list(TABLE_COLUMNS)
        if seeded:
            cols.insert(1, ("seed", "seed", "{}"))
        trained = rows["epochs"].notna().any()
        if trained:
            cols.insert(cols.index(("bpppb", "bpppb", "{:.4f}")), EPOCHS_COLUMN)
        heads = [h for _, h, _ in cols]
        body = []
        for row in rows.to_dict("records"):
            if row["status"] != "ok":
                cells = [row["spec"]] + ([str(row["seed"])] if seeded else [])
                cells += [_cell(row["target_bpppb"], "{:g}"), f"failed: {row['error']}"]
                cells += [""] * (len(heads) - len(cells))
            else:
                cells = [row["spec"] if col == "codec" else _epochs_cell(row) if col == "epochs" else _cell(row[col], fmt)
                         for col, _, fmt in cols]
            body.append(cells)
        parts.append(f"### {dataset}\n")
        d = about.get(dataset) or {}
        failed = int((rows["status"] != "ok").sum())
        if d:
            parts.append(f"{'×'.join(map(str, d.get('shape', [])))} {d.get('dtype')}, {d.get('native_bits')}-bit native, "
                         f"sha256 {str(d.get('sha256'))[:12]}…; {len(rows)} tasks"
                         + (f", {failed} failed (rows marked failed, never numbers)" if failed else "") + "\n")
        parts += _md_table(heads, body)
        if trained:
            parts += ["", "epochs: main-phase training epochs that ran (other phases come on top: the GNN's pruning "
                          "and fine-tune, siren's probes and fine-tune, coolchic's warm-up and fine-tune; the GNN paper "
                          f"trains {PAPER_EPOCHS:,} at lr {PAPER_LR:g}); † a wall-clock budget stopped the training early."]
        parts.append("")
    return "\n".join(parts) if parts else "(no records)\n"


def _epochs_cell(row: dict) -> str:
    """Main-phase epochs of a trained codec's record, with † when a time budget cut it short."""
    e = row.get("epochs")
    if e is None or e != e:
        return "–"
    return f"{int(e)}" + ("†" if row.get("time_budget_stop") else "")


def frame(records: Iterable[dict]):
    """Every (latest) record as one flat row, sorted as the CSV: what :func:`csv` writes, as a DataFrame."""
    return _sorted(to_frame(records)).reset_index(drop=True)


def csv(records: Iterable[dict]) -> str:
    """All flat columns of every (latest) record as CSV."""
    return frame(records).to_csv(index=False)


# --------------------------------------------------------------------------------------------
# Bjøntegaard deltas against an anchor
# --------------------------------------------------------------------------------------------


def rd_points(records: Iterable[dict]):
    """Mean achieved bpppb and PSNR over seeds, per (dataset, spec, target rate), successes only."""
    frame = to_frame(records)
    ok = frame[frame["status"] == "ok"]
    if ok.empty:
        return ok.assign(n_seeds=[])
    g = ok.groupby(["dataset", "codec", "spec", "target_bpppb"], sort=True)
    pts = g.agg(bpppb=("bpppb", "mean"), psnr=("psnr", "mean"), cr=("cr", "mean"), n_seeds=("seed", "nunique"))
    return pts.reset_index()


def _anchor_spec(specs: list[str], anchor: str) -> str | None:
    if anchor in specs:
        return anchor
    same_name = [s for s in specs if parse_spec(s)[0] == anchor]
    return same_name[0] if len(same_name) == 1 else None


@dataclass
class Table:
    """A report table: a DataFrame, or None with the one-line reason it is absent.

    ``shown`` is an optional compact form of ``frame`` for the markdown report (the CSV always
    gets ``frame``).
    """

    title: str
    frame: object | None
    note: str = ""
    shown: object | None = None


def bd_table(records: Iterable[dict], *, anchor: str = "speck", method: str = "cubic") -> Table:
    """BD-rate (%) and BD-PSNR (dB) of every spec against ``anchor`` on each dataset.

    Rates are achieved bpppb and PSNR is the mean over seeds at each target rate; lossless points
    (infinite PSNR) are left out.  A pair that cannot be computed (too few points, no overlap)
    gets its reason instead of a number.
    """
    import pandas as pd

    if method not in bd.METHODS:
        raise InvalidParameterError(f"unknown BD method {method!r}; use one of: {', '.join(bd.METHODS)}")
    title = f"BD-rate and BD-PSNR against {anchor}"
    pts = rd_points(records)
    rows = []
    missing = []
    for dataset, group in pts.groupby("dataset", sort=True):
        specs = sorted(group["spec"].unique())
        a = _anchor_spec(specs, anchor)
        if a is None:
            missing.append(dataset)
            continue
        ga = group[group["spec"] == a]
        for spec in specs:
            if spec == a:
                continue
            gt = group[group["spec"] == spec]
            row = {"dataset": dataset, "anchor": a, "spec": spec, "points": len(gt), "anchor_points": len(ga)}
            notes: dict[str, list[str]] = {}
            for col, fn in (("bd_rate_pct", bd.bd_rate), ("bd_psnr_db", bd.bd_psnr)):
                try:
                    row[col] = fn(ga["bpppb"], ga["psnr"], gt["bpppb"], gt["psnr"], method=method)
                except InvalidParameterError as exc:
                    row[col] = None
                    notes.setdefault(str(exc), []).append("BD-rate" if col == "bd_rate_pct" else "BD-PSNR")
            row["note"] = "; ".join(f"{' and '.join(w)}: {m}" for m, w in notes.items())
            rows.append(row)
    cols = ["dataset", "anchor", "spec", "points", "anchor_points", "bd_rate_pct", "bd_psnr_db", "note"]
    if not rows:
        why = f"no records of the anchor '{anchor}'" if missing or pts.empty else "only the anchor was run"
        return Table(title, None, f"BD metrics omitted: {why} (choose one with --anchor)")
    note = f"Method: {bd.METHODS[method]}. Negative BD-rate / positive BD-PSNR: better than the anchor."
    if missing:
        note += f" No anchor records on: {', '.join(missing)}."
    return Table(title, pd.DataFrame(rows, columns=cols), note)


# --------------------------------------------------------------------------------------------
# The seed paper's tables
# --------------------------------------------------------------------------------------------


def _without(spec: str, drop: set[str]) -> str:
    name, params = parse_spec(spec)
    kept = [f"{k}={v}" for k, v in params.items() if k not in drop]
    return f"{name}[{','.join(kept)}]" if kept else name


def _gnn_value(rec: dict, key: str):
    """A GNN structure field as trained: the stream header first, then encode_info, then the spec."""
    stream = rec.get("stream") or {}
    if key in stream:
        return stream[key]
    st = (rec.get("encode_info") or {}).get("structure")
    if isinstance(st, dict) and key in st:
        return st[key]
    return (rec.get("codec") or {}).get("params", {}).get(key)


def gnn_frame(records: Iterable[dict]):
    """Successful GNN records as rows: structure as trained, p, network bytes, CR, MSE (paper scale), PSNR."""
    import pandas as pd

    rows = []
    for rec in latest(records):
        if rec.get("status") != "ok" or rec["codec"]["name"] != "gnn":
            continue
        m = rec.get("metrics") or {}
        info = rec.get("encode_info") or {}
        r = m.get("data_range")
        sched = info.get("schedule") or {}
        rows.append({
            "dataset": rec["dataset"]["name"],
            "spec": rec["codec"]["spec"],
            "target_bpppb": rec["target_bpppb"],
            "seed": rec.get("seed"),
            "epochs": (info.get("epochs_run") or {}).get("main"),
            "lr": sched.get("lr", info.get("lr")),
            "time_budget_stop": bool(info.get("stopped_by_time_budget")),
            "p": (rec["codec"].get("params") or {}).get("p"),
            "blocks": _gnn_value(rec, "blocks"),
            "channels": _gnn_value(rec, "channels"),
            "prune": _gnn_value(rec, "prune"),
            "weights": _gnn_value(rec, "weights"),
            "net_bytes": info.get("payload_bytes", rec.get("bytes")),
            "bytes": rec.get("bytes"),
            "bpppb": rec.get("bpppb"),
            "cr": rec.get("cr"),
            # the paper's MSE is on data min-max scaled to [-1, 1]: MSE * (2 / R)^2
            "mse_norm": m["mse"] * 4.0 / r**2 if r else None,
            "psnr": m.get("psnr"),
        })
    cols = ["dataset", "spec", "target_bpppb", "seed", "epochs", "lr", "time_budget_stop", "p", "blocks", "channels",
            "prune", "weights", "net_bytes", "bytes", "bpppb", "cr", "mse_norm", "psnr"]
    return pd.DataFrame(rows, columns=cols)


def _epochs_span(values) -> str:
    """Main-phase epochs of a group of records: one number, or the range when seeds differ."""
    v = sorted({int(e) for e in values if e == e and e is not None})
    if not v:
        return "–"
    return str(v[0]) if len(v) == 1 else f"{v[0]}–{v[-1]}"


def schedule_note(g) -> str:
    """A plain sentence when some GNN records were not trained at the paper's schedule (else empty)."""
    if g.empty:
        return ""
    off = g[(g["epochs"] != PAPER_EPOCHS) | (g["lr"].astype(float).round(12) != PAPER_LR) | g["time_budget_stop"]]
    if off.empty:
        return f"Every GNN record here was trained at the paper's schedule ({PAPER_EPOCHS:,} main-phase epochs, lr {PAPER_LR:g})."
    epochs = _epochs_span(off["epochs"])
    lrs = ", ".join(f"{v:g}" for v in sorted(set(off["lr"].dropna().astype(float))))
    cut = int(off["time_budget_stop"].sum())
    return (f"Not the paper's schedule: {len(off)} of {len(g)} GNN records were trained for {epochs} main-phase epochs "
            f"at lr {lrs}" + (f" ({cut} stopped by a wall-clock budget)" if cut else "")
            + f", not the paper's {PAPER_EPOCHS:,} at lr {PAPER_LR:g}; their numbers say little about the paper's claims.")


_MEAN = dict(mse_norm=("mse_norm", "mean"), psnr=("psnr", "mean"), cr=("cr", "mean"),
             net_bytes=("net_bytes", "mean"), bpppb=("bpppb", "mean"), seeds=("seed", "nunique"),
             epochs=("epochs", _epochs_span))


def table1(g) -> Table:
    """Paper Table 1: MSE (data scaled to [-1, 1]) for loss powers p, other settings equal."""
    title = "Table 1: GNN MSE for loss powers p (data scaled to [-1, 1])"
    if g.empty:
        return Table(title, None, "Table 1 omitted: no successful GNN records")
    g = g.assign(setting=[_without(s, {"p"}) for s in g["spec"]])
    agg = g.groupby(["dataset", "setting", "target_bpppb", "p"], dropna=False).agg(**_MEAN).reset_index()
    counts = agg.groupby(["dataset", "setting", "target_bpppb"])["p"].nunique()
    keep = counts[counts >= 2].index
    agg = agg.set_index(["dataset", "setting", "target_bpppb"]).loc[lambda d: d.index.isin(keep)].reset_index()
    if agg.empty:
        return Table(title, None, "Table 1 omitted: no GNN records with two or more loss powers p at the same "
                                  "settings (run e.g. --codecs 'gnn[p=1|1.5|2|3]')")
    wide = agg.pivot_table(index=["dataset", "setting", "target_bpppb"], columns="p", values="mse_norm")
    wide.columns = [f"MSE p={c:g}" for c in wide.columns]
    epochs = agg.groupby(["dataset", "setting", "target_bpppb"])["epochs"].agg(lambda v: _epochs_span(
        [int(x) for e in v for x in str(e).replace("–", " ").split() if x.isdigit()]))
    wide.insert(0, "epochs", epochs)
    return Table(title, wide.reset_index(), "Mean over seeds; MSE = MSE · (2 / (max − min))², the paper's scale. "
                 + schedule_note(g))


def table2(g) -> Table:
    """Paper Table 2: GNN structures before and after pruning: MSE, network size, CR."""
    title = "Table 2: GNN structures before and after pruning"
    if g.empty:
        return Table(title, None, "Table 2 omitted: no successful GNN records")
    g = g[g["blocks"].notna() & g["prune"].notna()]
    g = g.assign(pruned=g["prune"] > 0, setting=[_without(s, {"prune"}) for s in g["spec"]])
    agg = g.groupby(["dataset", "setting", "target_bpppb", "blocks", "pruned"]).agg(
        channels=("channels", "first"), prune=("prune", "mean"), **_MEAN).reset_index()
    both = agg.groupby(["dataset", "setting", "target_bpppb", "blocks"])["pruned"].nunique()
    keep = both[both == 2].index
    agg = agg.set_index(["dataset", "setting", "target_bpppb", "blocks"]).loc[lambda d: d.index.isin(keep)].reset_index()
    if agg.empty:
        return Table(title, None, "Table 2 omitted: no GNN structure recorded both without and with pruning "
                                  "(run e.g. --codecs 'gnn[blocks=2|3|4,prune=0|0.67]')")
    before = agg[~agg["pruned"]].set_index(["dataset", "setting", "target_bpppb", "blocks"])
    after = agg[agg["pruned"]].set_index(["dataset", "setting", "target_bpppb", "blocks"])
    names = {"channels": "channels", "prune": "prune", "mse_norm": "MSE", "net_bytes": "network bytes", "cr": "CR"}
    before = before[["epochs", "channels", "mse_norm", "net_bytes", "cr"]].rename(columns=names).add_suffix(" before")
    after = after[["epochs", "channels", "prune", "mse_norm", "net_bytes", "cr"]].rename(columns=names).add_suffix(" after")
    out = before.join(after)
    out = out.reset_index().sort_values(["dataset", "setting", "target_bpppb", "blocks"])
    return Table(title, out, "Network size = stored network bytes (payload); CR against the native bit depth; "
                             "MSE on the paper's [-1, 1] scale; mean over seeds; epochs = main-phase epochs. "
                             + schedule_note(g))


def table3(g, records: list[dict], run_dir: Path | None = None, data_dir=None) -> Table:
    """Paper Table 3: each GNN stream beside every other codec at exactly its size (PSNR)."""
    title = "Table 3: GNN vs every other codec at the GNN stream's exact size"
    if g.empty:
        return Table(title, None, "Table 3 omitted: no successful GNN records")
    frame = matching.equal_bytes(records, "gnn", run_dir=run_dir, data_dir=data_dir)
    others = [c[: -len(" PSNR")] for c in frame.columns if c.endswith(" PSNR") and c != "PSNR"]
    if not others:
        return Table(title, None, "Table 3 omitted: no other codec's records on the GNN's datasets "
                                  "(run them with --match-rate gnn)")
    missing = int(sum(frame[f"{o} PSNR"].isna().sum() for o in others))
    note = ("Equal bytes: each row is one GNN stream; every other codec at the same size, from a record run at the "
            "GNN's achieved rate (--match-rate gnn; embedded codecs land on the same bytes, the others at most 0.5 % "
            "below) or, for speck and spiht, a kept longer stream truncated to exactly the GNN's bytes. "
            f"Largest rate difference in the table: {100 * matching.worst_rate_gap(frame):.2f} %.")
    if missing:
        note += (f" {missing} cells are empty: no record at that size (run `hsibench run ... --match-rate gnn` "
                 "on the same run directory).")
    return Table(title, frame, note + " (t): truncated. " + schedule_note(g), _equal_bytes_shown(frame))


def _equal_bytes_shown(frame):
    """The equal-bytes table for reading: one PSNR cell per codec, marked (t) when truncated, no rate columns.

    The rates agree by construction (the note gives the largest difference); the CSV keeps them.
    """
    shown = frame[["dataset", "spec", "seed", "weights", "epochs", "bytes", "bpppb", "CR", "PSNR"]].copy()
    for col in (c for c in frame.columns if c.endswith(" how")):
        spec = col[: -len(" how")]
        shown[f"{spec} PSNR"] = [
            "–" if v != v or v is None else f"{v:.2f}" + (" (t)" if how == "truncated" else "")
            for v, how in zip(frame[f"{spec} PSNR"], frame[col])
        ]
    return shown


def match_table(records: Iterable[dict], codec: str, run_dir: Path | None = None, data_dir=None) -> Table:
    """Every record of ``codec`` beside every other codec at its exact size (``report --match-rate``)."""
    title = f"Equal bytes: every codec at the size of each {codec} stream"
    frame = matching.equal_bytes(records, codec, run_dir=run_dir, data_dir=data_dir)
    if frame is None:
        return Table(title, None, f"Equal-bytes table omitted: no successful {codec} records")
    return Table(title, frame, "Per row, each other codec's PSNR at the reference stream's size (a record at its "
                               "achieved rate, or (t): a kept embedded stream truncated to its bytes; the CSV has "
                               f"every bpppb). Largest rate difference: {100 * matching.worst_rate_gap(frame):.2f} %.",
                 _equal_bytes_shown(frame))


def table4(g) -> Table:
    """Paper Table 4: datasets x 3/4 blocks: MSE, CR, PSNR."""
    title = "Table 4: datasets × GNN with 3 and 4 blocks"
    if g.empty:
        return Table(title, None, "Table 4 omitted: no successful GNN records")
    g = g[g["blocks"].isin([3, 4])]
    g = g.assign(setting=[_without(s, {"blocks"}) for s in g["spec"]])
    agg = g.groupby(["dataset", "setting", "target_bpppb", "blocks"]).agg(**_MEAN).reset_index()
    both = agg.groupby(["dataset", "setting", "target_bpppb"])["blocks"].nunique()
    keep = both[both == 2].index
    agg = agg.set_index(["dataset", "setting", "target_bpppb"]).loc[lambda d: d.index.isin(keep)].reset_index()
    if agg.empty:
        return Table(title, None, "Table 4 omitted: no dataset has GNN records with both 3 and 4 blocks at the same "
                                  "settings (run e.g. --codecs 'gnn[blocks=3|4]')")
    wide = agg.pivot_table(index=["dataset", "setting", "target_bpppb"], columns="blocks",
                           values=["mse_norm", "cr", "psnr"])
    wide.columns = [f"{'MSE' if v == 'mse_norm' else v.upper() if v == 'cr' else 'PSNR'} {int(b)} blocks"
                    for v, b in wide.columns]
    order = [f"{v} {b} blocks" for b in (3, 4) for v in ("MSE", "CR", "PSNR")]
    wide = wide[order]
    spans = agg.set_index(["dataset", "setting", "target_bpppb", "blocks"])["epochs"]
    for b in (3, 4):
        wide.insert(order.index(f"MSE {b} blocks") + (b - 3), f"epochs {b} blocks", spans.xs(b, level="blocks"))
    return Table(title, wide.reset_index(), "MSE on the paper's [-1, 1] scale; mean over seeds; epochs = main-phase "
                                            "epochs. " + schedule_note(g))


def paper_tables(records: Iterable[dict], run_dir: Path | None = None, data_dir=None) -> list[Table]:
    """The seed paper's Tables 1-4 from the records (absent inputs: the table is a note)."""
    records = list(records)
    g = gnn_frame(records)
    return [table1(g), table2(g), table3(g, records, run_dir, data_dir), table4(g)]


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

_FORMATS = {
    "bd_rate_pct": "{:+.2f}", "bd_psnr_db": "{:+.3f}", "target_bpppb": "{:g}", "blocks": "{:.0f}",
    "channels": "{:.0f}", "points": "{:d}", "anchor_points": "{:d}", "seeds": "{:d}", "bpppb": "{:.4f}",
    "epochs": "{:.0f}",
}


def _fmt_for(col: str) -> str:
    if col in _FORMATS:
        return _FORMATS[col]
    low = col.lower()
    if "mse" in low:
        return "{:.4g}"
    if "psnr" in low:
        return "{:.2f}"
    if "cr" in low.split() or low.startswith("cr"):
        return "{:.1f}"
    if "bytes" in low:
        return "{:.0f}"
    if "prune" in low:
        return "{:.2f}"
    return "{}"


_HEADS = {"bd_rate_pct": "BD-rate %", "bd_psnr_db": "BD-PSNR dB", "target_bpppb": "target bpppb",
          "anchor_points": "anchor points", "mse_norm": "MSE", "net_bytes": "network bytes"}


def frame_markdown(frame) -> list[str]:
    """A DataFrame as markdown lines, numbers formatted by column name, missing values as –."""
    heads = [_HEADS.get(c, c) for c in frame.columns]
    for src, dst in (("mse_norm", "MSE"), ("net_bytes", "network bytes")):
        heads = [h.replace(src, dst) for h in heads]
    rows = [[_cell(v, _fmt_for(str(c))) for c, v in zip(frame.columns, row)] for row in frame.itertuples(index=False)]
    from pandas.api.types import is_numeric_dtype

    right = [is_numeric_dtype(frame[c]) for c in frame.columns]
    return _md_table(heads, rows, right)


def _section(t: Table) -> list[str]:
    out = [f"## {t.title}", ""]
    if t.frame is None:
        return out + [t.note, ""]
    out += frame_markdown(t.shown if t.shown is not None else t.frame)
    if t.note:
        out += ["", t.note]
    return out + [""]


def _tables(records: list[dict], anchor: str, method: str, run_dir: Path | None, data_dir,
            match_rate: str | None) -> list[tuple[str, Table]]:
    """Every table of a report with its CSV file name: BD metrics, Tables 1-4, equal bytes (if asked)."""
    tables = [("bd.csv", bd_table(records, anchor=anchor, method=method))]
    tables += [(f"table{i}.csv", t) for i, t in enumerate(paper_tables(records, run_dir, data_dir), 1)]
    if match_rate is not None:
        tables.append((f"match_{match_rate}.csv", match_table(records, match_rate, run_dir, data_dir)))
    return tables


def render(records: Iterable[dict], *, anchor: str = "speck", method: str = "cubic",
           figures: Sequence[Path] = (), figure_notes: Sequence[str] = (), base: Path | None = None,
           run_dir: Path | None = None, data_dir=None, match_rate: str | None = None) -> str:
    """The whole report as one markdown document: results per dataset, BD metrics, the paper's tables.

    ``figures`` (PNG paths) are linked at the end, relative to ``base`` (the report's folder),
    with ``figure_notes`` saying which figures were left out and why.  ``run_dir`` (the run's
    folder) lets the equal-bytes tables truncate kept embedded streams; ``match_rate`` adds
    the equal-bytes table of that codec.
    """
    records = list(records)
    parts = ["# hsibench report", ""]
    old = stale_count(records)
    if old:
        parts += [f"{old} records made by an older revision of their codec are left out of every table and figure "
                  "(their bytes are not what the codec writes now); rerun the same command to replace them.", ""]
    parts += ["## Results per dataset", "", markdown(records)]
    tables = _tables(records, anchor, method, run_dir, data_dir, match_rate)
    parts += _section(tables[0][1])
    parts += [f"Tables 1–4 of {PAPER}, regenerated from the records.", ""]
    for _, t in tables[1:]:
        parts += _section(t)
    pngs = [Path(f) for f in figures if Path(f).suffix == ".png"]
    if pngs or figure_notes:
        parts += ["## Figures", ""]
        for f in pngs:
            rel = f.relative_to(base).as_posix() if base is not None and f.is_relative_to(base) else f.as_posix()
            parts += [f"![{f.stem}]({rel})", ""]
        parts += [f"- {n}" for n in figure_notes] + [""]
    return "\n".join(parts)


def write(records: Iterable[dict], out: str | Path, *, anchor: str = "speck", method: str = "cubic",
          figures: Sequence[Path] = (), figure_notes: Sequence[str] = (), run_dir: Path | None = None,
          data_dir=None, match_rate: str | None = None) -> list[Path]:
    """Write ``report.md``, ``results.csv``, ``bd.csv``, ``table1.csv``...``table4.csv`` and ``match_<codec>.csv``
    (those present)."""
    records = list(records)
    out = Path(out)
    written = []

    def put(name: str, text: str) -> None:
        atomic_write(out / name, text.encode("utf-8"))
        written.append(out / name)

    put("report.md", render(records, anchor=anchor, method=method, figures=figures, figure_notes=figure_notes,
                            base=out, run_dir=run_dir, data_dir=data_dir, match_rate=match_rate))
    put("results.csv", csv(records))
    for name, t in _tables(records, anchor, method, run_dir, data_dir, match_rate):
        if t.frame is not None:
            put(name, t.frame.to_csv(index=False))
        elif (out / name).exists():  # left from an earlier report of a different run: not this one's
            (out / name).unlink()
    return written
