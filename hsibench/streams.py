"""The kept streams of a run: decode them, cut embedded ones shorter, reload the cube they came from.

Reports and figures work from a run's own files: a record's stream (``RUN/streams/<key>.hsib``)
decodes without re-encoding, an embedded codec's stream truncates to any smaller size, and
the original cube is reloaded by the record's spec (or source file) and accepted only if its
sha256 is the recorded one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import HsibenchError


def original(rec: dict, data_dir=None) -> np.ndarray | None:
    """The record's cube, reloaded by its spec (or source file) and checked against its sha256; else None."""
    scene = original_scene(rec, data_dir)
    return None if scene is None else scene.cube


def original_scene(rec: dict, data_dir=None):
    """The record's :class:`~hsibench.datasets.Scene` (cube, mask, wavelengths), reloaded and checked; else None.

    The cube must have the recorded sha256, and the mask of valid pixels the recorded one (a
    record without ``mask_sha256`` was scored on every pixel).
    """
    from . import datasets
    from .tasks import cube_sha256, mask_sha256

    d = rec["dataset"]
    tries = [d["name"]]
    if d.get("source") and d["source"] != "generated":
        crop = d.get("crop")
        tries.append(d["source"] + (f"[crop={crop[0]}:{crop[1]},{crop[2]}:{crop[3]}]" if crop else ""))
    for spec in tries:
        try:
            scene = datasets.load(spec, data_dir)
        except (HsibenchError, OSError, ValueError):
            continue
        if cube_sha256(scene.cube) == d["sha256"] and mask_sha256(scene.mask) == d.get("mask_sha256"):
            return scene
    return None


def stream_bytes(run_dir: Path, rec: dict) -> bytes | None:
    """The bytes of a record's kept stream, or None when none was kept."""
    from .runner import stream_path

    path = Path(run_dir) / rec["stream_file"] if rec.get("stream_file") else stream_path(run_dir, rec["key"])
    return path.read_bytes() if path.is_file() else None


def decode(run_dir: Path, rec: dict, nbytes: int | None = None) -> np.ndarray | None:
    """Decode a record's kept stream (cut to ``nbytes`` in all, for an embedded codec); None if none was kept."""
    from .codecs import truncate
    from .tasks import configure

    data = stream_bytes(run_dir, rec)
    if data is None:
        return None
    if nbytes is not None and nbytes < len(data):
        data = truncate(data, nbytes)
    codec = configure(rec["codec"]["spec"], rec.get("seed") or 0)
    return codec.decode(data, **codec.secrets())
