"""Check ccsds123's codestreams bit for bit against an independent CCSDS 123.0-B-2 implementation.

The reference is the NTNU SmallSat Lab high-level verification model (Vorhaug, Boyle &
Orlandić, WHISPERS 2024; MIT licence; pure Python; itself verified against the CCSDS test
vectors), which is *not* part of hsibench.  Bring it into a temporary folder and give its path:

    git clone https://github.com/NTNU-SmallSat-Lab/ccsds123_issue_2_verification_model /tmp/ccsds_ref
    pip install bitarray psutil          # the model's dependencies (a venv is fine: --python)
    python benchmarks/ccsds123_verify.py --model /tmp/ccsds_ref [--python /tmp/venv/bin/python]

For every parameter set and every crop, hsibench encodes the crop, writes the standard header
of its codestream and the crop as the model's raw input (BSQ, big-endian, named
``<name>-u16be-<Z>x<Y>x<X>.raw``), runs the model configured by that header
(``--header``), and compares the model's compressed file with hsibench's codestream byte for
byte.  The model is slow (pure Python, per sample, with CSV dumps of every intermediate), so
the crops are small corners of the shared real cubes (../shared/data) plus a signed cube.
Prints one line per case and a summary; exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from hsibench import codecs
from hsibench.codecs.base import unpack
from hsibench.codecs.predictive.ccsds123 import header

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

PARAMETER_SETS = [
    "max_error=0",
    "max_error=1",
    "max_error=4",
    "max_error=16",
    "max_error=0,prediction=reduced",
    "max_error=4,prediction=reduced",
    "max_error=0,local_sum=column",
    "max_error=4,local_sum=column",
    "max_error=4,local_sum=column,prediction=reduced",
    "max_error=0,narrow=true",
    "max_error=4,narrow=true,local_sum=column",
    "max_error=4,theta=3,phi=3,psi=5",
    "max_error=0,theta=4,phi=7",
    "relative_error=64",
    "max_error=8,relative_error=64",
    "max_error=2,P=0",
    "max_error=2,P=15",
    "max_error=3,omega=12,R=40,nu_min=-6,nu_max=9,t_inc=16",
    "max_error=3,u_max=8,gamma_0=3,gamma_star=4,K=0",
    "max_error=2,order=bil",
    "max_error=2,order=bsq",
]


def crops(names: list[str], shape: tuple[int, int, int]) -> list[tuple[str, np.ndarray]]:
    """Corners of the shared cubes and a synthetic signed cube, all of ``shape`` (rows, cols, bands)."""
    out = []
    rows, cols, bands = shape
    for name in names:
        path = DATA / f"{name}.npy"
        if path.exists():
            cube = np.load(path)
            out.append((name, np.ascontiguousarray(cube[:rows, :cols, 20 : 20 + bands])))
    rng = np.random.default_rng(0)
    base = np.cumsum(rng.integers(-300, 300, (rows, cols, 1)), axis=1)
    signed = (base + np.cumsum(rng.integers(-40, 40, (rows, cols, bands)), axis=2)).astype(np.int16)
    out.append(("signed", signed))
    return out


def run_model(model: Path, python: str, cube: np.ndarray, hdr: bytes, work: Path) -> bytes:
    """The model's compressed file for ``cube`` configured by the header bytes ``hdr``."""
    rows, cols, bands = cube.shape
    kind = "s16be" if cube.dtype.kind == "i" else "u16be"
    raw = work / f"crop-{kind}-{bands}x{rows}x{cols}.raw"
    np.ascontiguousarray(cube.transpose(2, 0, 1)).astype(">i2" if kind[0] == "s" else ">u2").tofile(raw)
    hdr_path = work / "header.bin"
    hdr_path.write_bytes(hdr)
    out = model / "output" / "z-output-bitstream.bin"
    out.unlink(missing_ok=True)  # never compare against a stale file
    subprocess.run(
        [python, "ccsds123_0_b_2_high_level_model.py", str(raw), "--header", str(hdr_path)],
        cwd=model, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    return out.read_bytes()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="checkout of the NTNU verification model")
    ap.add_argument("--python", default=sys.executable, help="interpreter with the model's dependencies")
    ap.add_argument("--cubes", default="jasper_ridge,indian_pines_sub85x70,paviaU_sub50x50")
    ap.add_argument("--shape", default="9,11,7", help="crop rows,cols,bands")
    ap.add_argument("--sets", default=None, help="';'-separated parameter sets (default: the built-in list)")
    args = ap.parse_args(argv)
    shape = tuple(int(v) for v in args.shape.split(","))
    sets = args.sets.split(";") if args.sets else PARAMETER_SETS
    failures = 0
    cases = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, cube in crops(args.cubes.split(","), shape):
            for params in sets:
                codec = codecs.get(f"ccsds123[{params}]")
                payload = unpack(codec.encode(cube, bpppb=16))[1]
                cfg, start = header.read(payload)
                reference = run_model(args.model, args.python, cube, payload[:start], Path(tmp))
                same = reference == payload
                cases += 1
                failures += not same
                detail = "" if same else f"  ({len(reference)} vs {len(payload)} bytes; first difference at byte {_first_diff(reference, payload)})"
                print(f"{'OK  ' if same else 'DIFF'} {name:24s} D={cfg.D:2d} {params:55s} {len(payload):6d} bytes{detail}")
    print(f"{cases - failures}/{cases} codestreams identical to the verification model")
    return 1 if failures else 0


def _first_diff(a: bytes, b: bytes) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


if __name__ == "__main__":
    sys.exit(main())
