"""Tables computed from records only: one markdown (or CSV) table per dataset, codec x rate."""

from __future__ import annotations

import math
from typing import Iterable

from .results import to_frame

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
]


def _cell(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return fmt.format(value)


def _sorted(frame):
    return frame.sort_values(["dataset", "spec", "target_bpppb"], kind="stable")


def markdown(records: Iterable[dict]) -> str:
    """One markdown table per dataset; failed tasks appear as rows that say why, never as numbers."""
    frame = _sorted(to_frame(records))
    parts = []
    for dataset, rows in frame.groupby("dataset", sort=False):
        parts.append(f"### {dataset}\n")
        heads = [h for _, h, _ in TABLE_COLUMNS]
        parts.append("| " + " | ".join(heads) + " |")
        parts.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(heads))) + "|")
        for row in rows.to_dict("records"):
            if row["status"] != "ok":
                cells = [row["spec"], _cell(row["target_bpppb"], "{:g}"), f"failed: {row['error']}"]
                cells += [""] * (len(heads) - len(cells))
            else:
                cells = [row["spec"] if col == "codec" else _cell(row[col], fmt) for col, _, fmt in TABLE_COLUMNS]
            parts.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        parts.append("")
    return "\n".join(parts) if parts else "(no records)\n"


def csv(records: Iterable[dict]) -> str:
    """All flat columns of every (latest) record as CSV."""
    return _sorted(to_frame(records)).to_csv(index=False)
