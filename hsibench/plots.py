"""Figures of a run, from its own files: records, kept streams, and the originals reloaded by spec.

``figures(run, out)`` draws, per dataset, PNG and PDF files:

* ``rd_<dataset>``: PSNR and SAM vs bpppb (log axis), classical codecs as lines, stochastic
  codecs (GNN) as points with the seed spread (mean ± min/max); a CR axis on top.
* ``visual_<dataset>``: false-colour composites of the original and of each codec's
  reconstruction at one rate (decoded from ``RUN/streams``), and the per-pixel error maps.
* ``spectrum_<dataset>``: one pixel's spectrum, original vs decoded, and the error per band
  (the seed paper's Fig. 10).
* ``band_psnr_<dataset>``: per-band PSNR at that rate (records' ``metrics.band_psnr``).
* ``training_<dataset>``: loss and PSNR vs epoch and vs seconds of the trained codecs (GNN,
  siren, coolchic), from ``encode_info.curve`` (the paper's Figs. 11, 14, 15); drawn only when
  such records carry a curve.
* ``time_<dataset>``: encode and decode seconds vs bpppb.
* ``snapshots_<dataset>``: the GNN's output band at several epochs (the paper's Fig. 9), from
  ``encode_info.snapshots`` of GNN records run with ``gnn[snapshots=N]``.

Figures whose inputs are missing (no streams, original cube not found or changed, no GNN
curve or snapshots) are skipped with a note saying why.

Only the object-oriented matplotlib API is used (``Figure`` + Agg canvas): no pyplot state, no
display needed, and the caller's backend is left alone.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from . import streams
from .errors import HsibenchError, InvalidParameterError
from .results import latest, load_records

FORMATS = ("png", "pdf")
DPI = 150
MAX_VISUAL = 6  # codecs shown side by side in the visual comparison
MAX_CURVES = 12  # training curves in one panel


@dataclass
class Made:
    """Files written and notes on figures that were skipped (with the reason)."""

    paths: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    formats: tuple[str, ...] = FORMATS
    palette: dict = field(default_factory=dict)  # spec -> colour, the same in every figure of a report
    labels: dict = field(default_factory=dict)  # spec -> legend text (trained codecs: with their epochs)


def epochs_label(spec: str, recs: Sequence[dict]) -> str:
    """A spec's legend text: trained codecs (the GNN) say how many main-phase epochs they trained.

    "†" marks records whose training a wall-clock budget stopped early.
    """
    runs = [(r.get("encode_info") or {}) for r in recs if r["codec"]["spec"] == spec]
    epochs = sorted({int(i["epochs_run"]["main"]) for i in runs if (i.get("epochs_run") or {}).get("main")})
    if not epochs:
        return spec
    span = str(epochs[0]) if len(epochs) == 1 else f"{epochs[0]}–{epochs[-1]}"
    cut = "†" if any(i.get("stopped_by_time_budget") for i in runs) else ""
    return f"{spec}, {span}{cut} epochs"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9=+.-]+", "_", text).strip("_")[:80] or "dataset"


def _new_figure(w: float, h: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), layout="constrained")


def _save(fig, out: Path, name: str, made: Made) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for fmt in made.formats:
        path = out / f"{name}.{fmt}"
        fig.savefig(path, dpi=DPI, format=fmt)
        made.paths.append(path)


def _colours(specs: Sequence[str], main: Sequence[str] = ()) -> dict[str, tuple]:
    """Strong tab10 colours for the ``main`` specs (curves), then the rest from tab20's light half."""
    from matplotlib import colormaps

    main = [s for s in sorted(specs) if s in set(main)] or sorted(specs)[:10]
    rest = [s for s in sorted(specs) if s not in set(main)]
    strong, light = colormaps["tab10"], colormaps["tab20"]
    out = {s: strong(i % 10) for i, s in enumerate(main)}
    out.update({s: light((2 * i + 1) % 20) for i, s in enumerate(rest)})
    return out


def _legend_columns(labels: Sequence[str]) -> int:
    longest = max(map(len, labels), default=0)
    return max(1, min(4, len(labels), 150 // max(longest + 8, 1)))


def _ok(records: list[dict], dataset: str) -> list[dict]:
    return [r for r in records if r.get("status") == "ok" and r["dataset"]["name"] == dataset]


#: codecs whose stream is a trained network: seed spreads in the RD figure, training curves
TRAINED = ("gnn", "siren", "coolchic")


def _stochastic(spec_records: list[dict]) -> bool:
    return len({r.get("seed") for r in spec_records}) > 1 or any(r["codec"]["name"] in TRAINED for r in spec_records)


def _by_spec(recs: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in recs:
        out.setdefault(r["codec"]["spec"], []).append(r)
    return dict(sorted(out.items()))


def _single_rate(groups: dict[str, list[dict]]) -> set[str]:
    """Specs run at one rate only (sweep configurations), when other specs have curves; else none."""
    single = {spec for spec, rs in groups.items() if len({r["target_bpppb"] for r in rs}) < 2}
    return single if len(single) < len(groups) else set()


def _metric(r: dict, name: str) -> float:
    v = (r.get("metrics") or {}).get(name)
    return float(v) if v is not None else math.nan


# --------------------------------------------------------------------------------------------
# Rate-distortion, timing, per-band PSNR: records only
# --------------------------------------------------------------------------------------------


def _cr_axis(ax, native_bits: int) -> None:
    def f(x):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            return native_bits / np.where(x > 0, x, np.nan)

    top = ax.secondary_xaxis("top", functions=(f, f))
    top.set_xlabel(f"compression ratio (CR = {native_bits} / bpppb)")
    lo, hi = ax.get_xlim()
    crs = [c for c in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if lo <= native_bits / c <= hi]
    _plain_log_ticks(top, crs)


def _plain_log_ticks(axis, values) -> None:
    """Ticks at ``values`` written as plain numbers (0.5, 1, 2), not as powers of ten."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    axis.xaxis.set_major_locator(FixedLocator(sorted(values)))
    axis.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.xaxis.set_minor_locator(NullLocator())


def _rate_ticks(ax, rates) -> None:
    rates = sorted({float(f"{r:.3g}") for r in rates if r > 0})
    if rates:
        lo, hi = min(rates), max(rates)
        ax.set_xlim(lo / 1.25, hi * 1.25)
        _plain_log_ticks(ax, rates)


def rate_distortion(recs: list[dict], dataset: str, out: Path, made: Made) -> None:
    """PSNR vs bpppb and SAM vs bpppb; lines for deterministic codecs, points with seed spread otherwise."""
    groups = _by_spec(recs)
    colours = made.palette or _colours(list(groups))
    bits = recs[0]["dataset"]["native_bits"]
    fig = _new_figure(11, 4.6)
    axes = fig.subplots(1, 2)
    single = _single_rate(groups)
    for ax, metric, label in ((axes[0], "psnr", "PSNR (dB)"), (axes[1], "sam_deg", "mean spectral angle (°)")):
        if single:  # sweep configurations run at one rate: grey points, one legend entry (details in Tables 1-4)
            xs = [r["bpppb"] for spec in single for r in groups[spec]]
            ys_ = [_metric(r, metric) for spec in single for r in groups[spec]]
            ax.plot(xs, ys_, "D", ms=4, color="0.6", label=f"{len(single)} single-rate configurations (sweeps; see Tables 1–4)")
        for spec, rs in groups.items():
            if spec in single:
                continue
            by_rate: dict[float, list[dict]] = {}
            for r in rs:
                by_rate.setdefault(r["target_bpppb"], []).append(r)
            x = np.array([np.mean([r["bpppb"] for r in v]) for _, v in sorted(by_rate.items())])
            ys = [np.array([_metric(r, metric) for r in v]) for _, v in sorted(by_rate.items())]
            y = np.array([np.mean(v) for v in ys])
            finite = np.isfinite(y)
            if not finite.any():
                continue
            c = colours[spec]
            if _stochastic(rs):
                lo = np.array([y[i] - v.min() for i, v in enumerate(ys)])
                hi = np.array([v.max() - y[i] for i, v in enumerate(ys)])
                n = max(len(v) for v in ys)
                ax.errorbar(x[finite], y[finite], yerr=[lo[finite], hi[finite]], fmt="o", ms=6, capsize=3, color=c,
                            label=f"{made.labels.get(spec, spec)} (mean, min–max of {n} seed{'s' if n > 1 else ''})")
            else:
                ax.plot(x[finite], y[finite], "-", marker=".", ms=7, color=c, label=made.labels.get(spec, spec))
        ax.set_xscale("log")
        _rate_ticks(ax, [r["target_bpppb"] for r in recs])
        ax.set_xlabel("rate (bits per pixel per band, bpppb)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        _cr_axis(ax, bits)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", fontsize=8, ncol=_legend_columns(labels))
    fig.suptitle(f"Rate–distortion on {dataset}")
    _save(fig, out, f"rd_{_slug(dataset)}", made)


def timing(recs: list[dict], dataset: str, out: Path, made: Made) -> None:
    """Encode and decode wall-clock seconds vs achieved rate."""
    groups = _by_spec(recs)
    colours = made.palette or _colours(list(groups))
    fig = _new_figure(11, 4.2)
    axes = fig.subplots(1, 2, sharey=False)
    single = _single_rate(groups)
    for ax, key, title in ((axes[0], "encode_s", "encode"), (axes[1], "decode_s", "decode")):
        if single:
            ax.plot([r["bpppb"] for sp in single for r in groups[sp]],
                    [max(r.get(key) or 0.0, 1e-5) for sp in single for r in groups[sp]], "D", ms=4, color="0.6",
                    label=f"{len(single)} single-rate configurations (sweeps)")
        for spec, rs in groups.items():
            if spec in single:
                continue
            rs = sorted(rs, key=lambda r: r["bpppb"])
            x = [r["bpppb"] for r in rs]
            y = [max(r.get(key) or 0.0, 1e-5) for r in rs]
            style = "o" if _stochastic(rs) else "-o"
            ax.plot(x, y, style, ms=4, color=colours[spec], label=made.labels.get(spec, spec))
        ax.set_xscale("log")
        _rate_ticks(ax, [r["target_bpppb"] for r in recs])
        ax.set_yscale("log")
        ax.set_xlabel("rate (bpppb)")
        ax.set_ylabel(f"{title} time (s)")
        ax.set_title(f"{title} time, wall clock (after an untimed warm-up unless run with --no-warmup)", fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", fontsize=8, ncol=_legend_columns(labels))
    fig.suptitle(f"Encode and decode time on {dataset}")
    _save(fig, out, f"time_{_slug(dataset)}", made)


def _pick_rate(recs: list[dict], rate: float | None) -> float:
    rates = sorted({r["target_bpppb"] for r in recs})
    want = 1.0 if rate is None else rate
    return min(rates, key=lambda v: (abs(math.log(v / want)), v))


def band_psnr(recs: list[dict], dataset: str, rate: float, out: Path, made: Made) -> None:
    """Per-band PSNR at one target rate, one curve per spec (mean over seeds)."""
    at = [r for r in recs if r["target_bpppb"] == rate and (r.get("metrics") or {}).get("band_psnr")]
    if not at:
        made.notes.append(f"{dataset}: per-band PSNR skipped: no record at {rate:g} bpppb holds metrics.band_psnr")
        return
    groups = _by_spec(at)
    single = _single_rate(_by_spec(recs)) & set(groups)
    colours = made.palette or _colours(list(_by_spec(recs)))
    fig = _new_figure(8, 5.2)
    ax = fig.subplots()
    for spec, rs in groups.items():
        if spec in single:
            continue
        curves = np.array([r["metrics"]["band_psnr"] for r in rs], dtype=float)
        mean_rate = np.mean([r["bpppb"] for r in rs])
        ax.plot(np.arange(1, curves.shape[1] + 1), curves.mean(axis=0), color=colours[spec],
                label=f"{made.labels.get(spec, spec)} ({mean_rate:.3g} bpppb)")
    ax.set_xlabel("band number")
    ax.set_ylabel("PSNR of the band (dB)")
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", fontsize=8, ncol=_legend_columns(labels))
    omitted = f"; {len(single)} single-rate sweep configurations not drawn" if single else ""
    ax.set_title(f"Per-band PSNR on {dataset} at target {rate:g} bpppb\n(peak: max − min of the whole cube{omitted})",
                 fontsize=10)
    _save(fig, out, f"band_psnr_{_slug(dataset)}", made)


def training(recs: list[dict], dataset: str, rate: float, out: Path, made: Made) -> None:
    """Trained codecs' loss and PSNR vs epoch and vs seconds from ``encode_info.curve`` ([epoch, s, loss, psnr, ...])."""
    runs = []
    for r in recs:
        curve = (r.get("encode_info") or {}).get("curve")
        if r["codec"]["name"] in TRAINED and curve:
            arr = np.array(curve, dtype=float)
            if arr.ndim == 2 and arr.shape[1] >= 4 and len(arr):
                runs.append((r, arr[:, :4]))
    if not runs:
        if any(r["codec"]["name"] in TRAINED for r in recs):
            made.notes.append(f"{dataset}: training curves skipped: no trained codec's record carries encode_info.curve")
        return
    runs.sort(key=lambda t: (t[0]["codec"]["spec"], t[0]["target_bpppb"], t[0].get("seed") or 0))
    if len(runs) > MAX_CURVES:
        # too many to read: every configuration at the figure rate (lowest seed), else at every rate
        at = [t for t in runs if t[0]["target_bpppb"] == rate]
        lowest: dict[str, tuple] = {}
        for t in at:
            lowest.setdefault(t[0]["codec"]["spec"], t)
        picked = list(lowest.values()) or runs
        made.notes.append(f"{dataset}: training curves: {len(runs)} trained runs; drawn: "
                          + (f"each configuration at {rate:g} bpppb, lowest seed" if lowest else "the first")
                          + (f" (first {MAX_CURVES})" if len(picked) > MAX_CURVES else ""))
        runs = picked[:MAX_CURVES]
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(runs) <= 10 else "tab20"]
    fig = _new_figure(11, 7.5)
    axes = fig.subplots(2, 2)
    for i, (r, arr) in enumerate(runs):
        st = (r.get("encode_info") or {}).get("structure")
        st = st if isinstance(st, dict) else {}  # e.g. "constant" for a constant cube
        what = ", ".join(f"{k}={st[k]:.2g}" if isinstance(st[k], float) else f"{k}={st[k]}"
                         for k in ("blocks", "channels", "prune", "depth", "width", "k", "levels") if k in st)
        epochs = ((r.get("encode_info") or {}).get("epochs_run") or {}).get("main")
        label = (f"{r['codec']['spec']} @ {r['target_bpppb']:g} bpppb, seed {r.get('seed')}" + (f" ({what})" if what else "")
                 + (f", {epochs} epochs" if epochs else ""))
        kw = dict(color=cmap(i % cmap.N), lw=1.2)
        axes[0, 0].plot(arr[:, 0], arr[:, 2], label=label, **kw)
        axes[0, 1].plot(arr[:, 0], arr[:, 3], **kw)
        axes[1, 0].plot(arr[:, 1], arr[:, 2], **kw)
        axes[1, 1].plot(arr[:, 1], arr[:, 3], **kw)
    for ax in axes[:, 0]:
        ax.set_yscale("log")
        ax.set_ylabel("training loss")
    for ax in axes[:, 1]:
        ax.set_ylabel("PSNR during training (dB)")
    for ax in axes[0]:
        ax.set_xlabel("epoch")
    for ax in axes[1]:
        ax.set_xlabel("training time (s)")
    for ax in axes.flat:
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", fontsize=7,
               ncol=2 if len(runs) > 3 and max(map(len, labels)) <= 75 else 1)
    fig.suptitle(f"Training of the overfitted codecs on {dataset}\n(loss on data scaled to [−1, 1]: GNN mean |y − ŷ|^p, "
                 "siren MSE, coolchic D + λR; PSNR as the codec logs it during training)", fontsize=10)
    _save(fig, out, f"training_{_slug(dataset)}", made)


def snapshots(recs: list[dict], dataset: str, out: Path, made: Made) -> None:
    """The GNN's output band at several epochs (paper Fig. 9), for the first GNN record that kept them."""
    found = [r for r in recs if r["codec"]["name"] == "gnn" and (r.get("encode_info") or {}).get("snapshots")]
    if not found:
        if any(r["codec"]["name"] == "gnn" for r in recs):
            made.notes.append(f"{dataset}: GNN output-band snapshots (paper Fig. 9) not drawn: "
                              "no GNN record kept them (run with gnn[snapshots=6])")
        return
    found.sort(key=lambda r: (r["target_bpppb"], r["codec"]["spec"], r.get("seed") or 0))
    rec = found[0]
    snap = rec["encode_info"]["snapshots"]
    images = [np.asarray(img, dtype=float) for img in snap["images"]]
    lo = min(float(np.percentile(img, 1)) for img in images)
    hi = max(float(np.percentile(img, 99)) for img in images)
    fig = _new_figure(2.3 * len(images) + 0.8, 3.0)
    axes = np.atleast_1d(fig.subplots(1, len(images)))
    for ax, epoch, img in zip(axes, snap["epochs"], images):
        shown = ax.imshow(img, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(f"epoch {epoch}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(shown, ax=list(axes), shrink=0.8, label="value (original units)")
    fig.suptitle(f"GNN output, band {snap['band']}, during training: {rec['codec']['spec']} "
                 f"@ {rec['target_bpppb']:g} bpppb, seed {rec.get('seed')} ({dataset})", fontsize=9)
    _save(fig, out, f"snapshots_{_slug(dataset)}", made)


# --------------------------------------------------------------------------------------------
# Visual comparison and spectrum: originals reloaded, reconstructions decoded from the streams
# --------------------------------------------------------------------------------------------


def psnr_now(original: np.ndarray, decoded: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR (peak max − min of the original's valid pixels) of a reconstruction decoded for a figure."""
    from . import metrics

    r = metrics.data_range_of(original, mask=mask)
    return metrics.psnr(original, decoded, data_range=r, mask=mask) if r > 0 else math.inf


#: false-colour targets (nm): red, green, blue
RGB_NM = (640.0, 550.0, 460.0)
RGB_TOLERANCE_NM = 50.0


def rgb_bands(bands: int, wavelengths: np.ndarray | None = None) -> tuple[tuple[int, int, int], str]:
    """The bands of a false-colour composite and how they were chosen.

    With wavelengths that cover the visible (a band within 50 nm of each of 640, 550 and 460 nm)
    the nearest bands give a natural-colour image; otherwise bands at 3/4, 1/2 and 1/4 of the range.
    """
    if wavelengths is not None and len(wavelengths) == bands:
        wl = np.asarray(wavelengths, dtype=float)
        picks = [int(np.argmin(np.abs(wl - t))) for t in RGB_NM]
        if all(abs(wl[i] - t) <= RGB_TOLERANCE_NM for i, t in zip(picks, RGB_NM)):
            return tuple(picks), "by wavelength"  # type: ignore[return-value]
    return tuple(int(round(f * (bands - 1))) for f in (0.75, 0.5, 0.25)), "by position"  # type: ignore[return-value]


def _false_colour(cube: np.ndarray, bands: tuple[int, int, int], lims: np.ndarray) -> np.ndarray:
    img = cube[:, :, list(bands)].astype(np.float64)
    img = (img - lims[0]) / np.where(lims[1] > lims[0], lims[1] - lims[0], 1.0)
    return np.clip(img, 0.0, 1.0)


def _visual_choice(recs: list[dict], rate: float) -> list[dict]:
    """One record per spec at ``rate`` (lowest seed); each codec's plainest spec first.

    Sweeps make many specs of one codec: the shortest spec of every codec comes first, then
    the others, so the first :data:`MAX_VISUAL` columns show as many codecs as possible.
    """
    chosen: dict[str, dict] = {}
    for r in sorted(recs, key=lambda r: (r["codec"]["spec"], r.get("seed") or 0)):
        if r["target_bpppb"] == rate and r["codec"]["spec"] not in chosen:
            chosen[r["codec"]["spec"]] = r
    first: dict[str, str] = {}
    for spec, r in sorted(chosen.items(), key=lambda kv: (len(kv[0]), kv[0])):
        first.setdefault(r["codec"]["name"], spec)
    lead = sorted(first.values())
    return [chosen[s] for s in lead] + [chosen[s] for s in sorted(chosen) if s not in lead]


def visual(run_dir: Path, recs: list[dict], dataset: str, rate: float, pixel, data_dir, out: Path, made: Made) -> None:
    """False-colour composites and error maps; the spectrum of one pixel, original vs decoded."""
    chosen = _visual_choice(recs, rate)
    if not chosen:
        made.notes.append(f"{dataset}: visual comparison skipped: no successful record at {rate:g} bpppb")
        return
    scene = streams.original_scene(chosen[0], data_dir)
    original = None if scene is None else scene.cube
    mask = None if scene is None else scene.mask
    if original is None:
        made.notes.append(f"{dataset}: visual comparison and spectrum skipped: the original cube could not be "
                          "reloaded with the recorded sha256 (give --data-dir, or the file has changed)")
        return
    decoded = []
    for r in chosen:
        try:
            y = streams.decode(run_dir, r)
        except HsibenchError as exc:
            made.notes.append(f"{dataset}: {r['codec']['spec']}: its stream does not decode ({exc})")
            continue
        if y is None:
            continue
        now = psnr_now(original, y, mask)
        rec_psnr = r["metrics"]["psnr"]
        if not (math.isclose(now, rec_psnr, abs_tol=0.01) or (math.isinf(now) and math.isinf(rec_psnr))):
            made.notes.append(f"{dataset}: {r['codec']['spec']} at {rate:g} bpppb: the kept stream decodes to "
                              f"{now:.2f} dB with this hsibench, the record says {rec_psnr:.2f} dB (the codec changed "
                              "since the run?); the figure shows what decodes now and says so")
        decoded.append((r, y, now))
    missing = len(chosen) - len(decoded)
    if not decoded:
        made.notes.append(f"{dataset}: visual comparison and spectrum skipped: no stream kept in {run_dir}/streams "
                          f"for {rate:g} bpppb (runs made with --no-streams or before streams were kept)")
        return
    if missing:
        made.notes.append(f"{dataset}: {missing} codec(s) at {rate:g} bpppb have no kept stream and are not shown")
    if len(decoded) > MAX_VISUAL:
        made.notes.append(f"{dataset}: visual comparison shows the first {MAX_VISUAL} of {len(decoded)} specs")
        decoded = decoded[:MAX_VISUAL]
    rows, cols, nb = original.shape
    bands, how = rgb_bands(nb, scene.wavelengths)
    sel = original[:, :, list(bands)][mask if mask is not None else Ellipsis].reshape(-1, 3).astype(np.float64)
    lims = np.percentile(sel, [2, 98], axis=0)
    errs = [np.abs(y.astype(np.float64) - original).mean(axis=2) for _, y, _ in decoded]
    if mask is not None:  # invalid pixels (fill values) are not scored: blank in the error maps
        errs = [np.where(mask, e, np.nan) for e in errs]
    emax = max(float(np.nanpercentile(e, 99.5)) for e in errs) or 1.0
    wl = scene.wavelengths
    names = [f"band {b + 1}" + (f" ({wl[b]:.0f} nm)" if wl is not None else "") for b in bands]

    n = len(decoded) + 1
    fig = _new_figure(2.6 * n + 0.8, 5.6 * rows / max(cols, 1) * 0.9 + 1.2)
    axes = fig.subplots(2, n, squeeze=False)
    axes[0, 0].imshow(_false_colour(original, bands, lims), interpolation="nearest")
    axes[0, 0].set_title("original", fontsize=9)
    axes[1, 0].axis("off")
    axes[1, 0].text(0.5, 0.5, f"false colour ({how}):\nR = {names[0]}\nG = {names[1]}\nB = {names[2]}\n"
                    "(2–98 % stretch of the original)", ha="center", va="center", fontsize=8, transform=axes[1, 0].transAxes)
    im = None
    from matplotlib.colors import PowerNorm

    norm = PowerNorm(gamma=0.5, vmin=0, vmax=emax)
    for j, ((r, y, now), e) in enumerate(zip(decoded, errs), 1):
        axes[0, j].imshow(_false_colour(y, bands, lims), interpolation="nearest")
        title = f"{r['codec']['spec']}\n{r['bpppb']:.3g} bpppb, PSNR {now:.2f} dB"
        if not math.isclose(now, r["metrics"]["psnr"], abs_tol=0.01):
            title += f"\n(recorded {r['metrics']['psnr']:.2f} dB: decoder changed)"
        axes[0, j].set_title(title, fontsize=8)
        im = axes[1, j].imshow(e, cmap="magma", norm=norm, interpolation="nearest")
        axes[1, j].set_title("mean |error| over bands", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    if im is not None:
        fig.colorbar(im, ax=axes[1, 1:].tolist(), shrink=0.9, label="|error| (data units, √ scale)")
    fig.suptitle(f"{dataset}: reconstructions at target {rate:g} bpppb")
    _save(fig, out, f"visual_{_slug(dataset)}", made)

    # the spectrum of one pixel (the paper's Fig. 10)
    pr, pc = pixel if pixel is not None else (rows // 2, cols // 2)
    if not (0 <= pr < rows and 0 <= pc < cols):
        made.notes.append(f"{dataset}: spectrum skipped: pixel ({pr}, {pc}) is outside the {rows}x{cols} image")
        return
    colours = made.palette or _colours(list(_by_spec(recs)))
    fig = _new_figure(8, 6)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    x = np.arange(1, nb + 1)
    top.plot(x, original[pr, pc, :], color="black", lw=2, label="original")
    for r, y, _ in decoded:
        top.plot(x, y[pr, pc, :], color=colours[r["codec"]["spec"]], lw=1.2, label=f"{r['codec']['spec']} ({r['bpppb']:.3g} bpppb)")
        bottom.plot(x, y[pr, pc, :].astype(np.float64) - original[pr, pc, :], color=colours[r["codec"]["spec"]], lw=1.2)
    bottom.axhline(0, color="black", lw=0.8)
    top.set_ylabel("value (data units)")
    bottom.set_ylabel("decoded − original")
    bottom.set_xlabel("band number")
    top.legend(fontsize=8, loc="best")
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{dataset}\nspectrum of pixel (row {pr}, col {pc}), original vs decoded at target {rate:g} bpppb")
    _save(fig, out, f"spectrum_{_slug(dataset)}", made)


# --------------------------------------------------------------------------------------------
# Everything
# --------------------------------------------------------------------------------------------


def figures(run: str | Path, out: str | Path, *, dataset: str | None = None, rate: float | None = None,
            pixel: tuple[int, int] | None = None, data_dir: str | Path | None = None,
            formats: Sequence[str] = FORMATS) -> Made:
    """Draw every figure of a run directory (or records file) into ``out``; see the module docstring."""
    run = Path(run)
    run_dir = run if run.is_dir() else run.parent
    records = latest(load_records(run))
    if data_dir is None:
        try:
            data_dir = json.loads((run_dir / "config.json").read_text()).get("data_dir")
        except (OSError, ValueError):
            data_dir = None
    out = Path(out)
    made = Made(formats=tuple(formats))
    ok = [r for r in records if r.get("status") == "ok"]
    rates_of: dict[str, set] = {}
    for r in ok:
        rates_of.setdefault(r["codec"]["spec"], set()).add(r["target_bpppb"])
    made.palette = _colours(sorted(rates_of), main=[s for s, v in rates_of.items() if len(v) >= 2])
    made.labels = {spec: epochs_label(spec, ok) for spec in rates_of}
    names = sorted({r["dataset"]["name"] for r in records})
    if dataset is not None:
        if dataset not in names:
            raise InvalidParameterError(f"no records of dataset {dataset!r} in {run}; it has: {', '.join(names)}")
        names = [dataset]
    for name in names:
        recs = _ok(records, name)
        if not recs:
            made.notes.append(f"{name}: no successful records, no figures")
            continue
        at = _pick_rate(recs, rate)
        rate_distortion(recs, name, out, made)
        visual(run_dir, recs, name, at, pixel, data_dir, out, made)
        band_psnr(recs, name, at, out, made)
        training(recs, name, at, out, made)
        snapshots(recs, name, out, made)
        timing(recs, name, out, made)
    return made


__all__ = ["FORMATS", "Made", "figures"]
