"""Codecs compared at equal bytes: every record of one codec beside every other codec at its size.

For each successful record of the reference codec (the GNN, whose rate is whatever its
network weighs), every other codec spec on the same cube is found at the same size:

1. ``matched`` — a record run with the reference record's exact achieved rate as its target
   (``hsibench run --match-rate gnn``): embedded codecs land on the same bytes (their range
   coder may end a byte or two short), the others within their tolerance below;
2. ``truncated`` — else, for an embedded codec (speck, spiht) with a kept stream at least that
   long, the stream cut to exactly the reference's bytes (:func:`hsibench.codecs.truncate`),
   decoded, and scored against the original cube (reloaded and checked by its sha256);
3. nothing: the cell stays empty and the note says what to run.

Never the nearest rate of an unrelated record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from . import codecs, metrics, streams
from .errors import HsibenchError
from .results import latest

RATE_TOL = 1e-9


def _truncated(run_dir: Path, rec: dict, nbytes: int, scene, data_dir) -> dict | None:
    """bpppb and PSNR (over the scene's valid pixels) of ``rec``'s kept stream cut to ``nbytes``; None if impossible."""
    if scene is None:
        return None
    cube, mask = scene.cube, scene.mask
    try:
        decoded = streams.decode(run_dir, rec, nbytes)
    except (HsibenchError, OSError):
        return None
    if decoded is None:
        return None
    r = metrics.data_range_of(cube, mask=mask)
    return {"bpppb": 8 * nbytes / cube.size, "psnr": metrics.psnr(cube, decoded, data_range=r, mask=mask),
            "how": "truncated"}


def equal_bytes(records: Iterable[dict], codec: str = "gnn", *, run_dir: str | Path | None = None,
                data_dir=None):
    """A DataFrame, one row per successful ``codec`` record, with every other spec's bpppb and PSNR at its size.

    Columns: dataset, spec, seed, weights, epochs (main phase, for trained codecs), bytes,
    bpppb, CR, PSNR of the reference record, then ``<spec> bpppb``, ``<spec> PSNR`` and
    ``<spec> how`` (matched / truncated) for each other spec on that dataset.  ``run_dir``
    enables the truncation of kept streams.  Returns None when there is no ``codec`` record.
    """
    import pandas as pd

    ok = [r for r in latest(records) if r.get("status") == "ok"]
    refs = [r for r in ok if r["codec"]["name"] == codec]
    if not refs:
        return None
    cubes: dict[str, object] = {}
    rows = []
    for ref in sorted(refs, key=lambda r: (r["dataset"]["name"], r["codec"]["spec"], r.get("seed") or 0, r["bytes"])):
        sha = ref["dataset"]["sha256"]
        info = ref.get("encode_info") or {}
        row = {
            "dataset": ref["dataset"]["name"], "spec": ref["codec"]["spec"], "seed": ref.get("seed"),
            "weights": (ref.get("stream") or {}).get("weights"),
            "epochs": (info.get("epochs_run") or {}).get("main"),
            "bytes": ref["bytes"], "bpppb": ref["bpppb"], "CR": ref["cr"], "PSNR": ref["metrics"]["psnr"],
        }
        others = sorted({r["codec"]["spec"] for r in ok if r["dataset"]["sha256"] == sha and r["codec"]["name"] != codec})
        for spec in others:
            mine = [r for r in ok if r["dataset"]["sha256"] == sha and r["codec"]["spec"] == spec]
            hit = next((r for r in mine if abs(r["target_bpppb"] - ref["bpppb"]) < RATE_TOL), None)
            cell = None
            if hit is not None:
                cell = {"bpppb": hit["bpppb"], "psnr": hit["metrics"]["psnr"], "how": "matched"}
            elif run_dir is not None and codecs.codec_class(mine[0]["codec"]["name"]).embedded:
                longer = sorted((r for r in mine if r["bytes"] >= ref["bytes"]), key=lambda r: r["bytes"])
                if longer:
                    if sha not in cubes:
                        cubes[sha] = streams.original_scene(ref, data_dir)
                    cell = _truncated(Path(run_dir), longer[0], ref["bytes"], cubes[sha], data_dir)
            row[f"{spec} bpppb"] = cell["bpppb"] if cell else None
            row[f"{spec} PSNR"] = cell["psnr"] if cell else None
            row[f"{spec} how"] = cell["how"] if cell else None
        rows.append(row)
    return pd.DataFrame(rows)


def worst_rate_gap(frame) -> float:
    """The largest relative difference between a reference's bpppb and any other codec's at its size."""
    gaps = [0.0]
    for col in (c for c in frame.columns if c.endswith(" bpppb")):
        for ref, other in zip(frame["bpppb"], frame[col]):
            if other is not None and other == other:
                gaps.append(abs(other - ref) / ref)
    return max(gaps)
