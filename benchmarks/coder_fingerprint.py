"""Fingerprint a coder's streams and decoded cubes over many configurations, to show that a
speed-up changed no byte (the golden test pins one small stream per codec; this covers more).

    python benchmarks/coder_fingerprint.py speck > before.json   # on the old code
    python benchmarks/coder_fingerprint.py speck > after.json    # on the new code
    cmp before.json after.json

Configurations: the four cubes of ../shared/data (plus a small odd-shaped random cube) x rates
0.1 / 1 / 2 bpppb x transform kinds, AC on / off and three streams; each row holds the SHA-256 of the stream,
of the decoded cube, and of a decode of the stream's first half (embedded prefix).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

RATES = (0.1, 1.0, 2.0)
VARIANTS = {
    "speck": ["speck", "speck[ac=false]", "speck[kind=dyadic]", "speck[spectral_levels=5,spatial_levels=4]",
              "speck[streams=3]"],
    "spiht": ["spiht", "spiht[kind=dyadic]", "spiht[ac=false]", "spiht[streams=3]"],
}


def cubes() -> dict[str, np.ndarray]:
    out = {p.stem: np.load(p) for p in sorted(DATA.glob("*.npy"))}
    rng = np.random.default_rng(7)
    out["random_31x45x19"] = rng.integers(0, 4096, size=(31, 45, 19)).astype(np.uint16)
    return out


def _h(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()[:16]


def main(name: str) -> None:
    from hsibench import codecs

    rows = []
    for cube_name, cube in cubes().items():
        for spec in VARIANTS[name]:
            codec = codecs.get(spec)
            for rate in RATES:
                stream = codec.encode(cube, bpppb=rate)
                full = np.ascontiguousarray(codec.decode(stream))
                half = np.ascontiguousarray(codec.decode(codecs.truncate(stream, max(len(stream) // 2, 200))))
                rows.append({"cube": cube_name, "spec": spec, "bpppb": rate, "bytes": len(stream),
                             "stream": _h(stream), "decoded": _h(full.tobytes()), "prefix": _h(half.tobytes())})
    json.dump(rows, sys.stdout, indent=0)
    print()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "speck")
