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
Block-adaptive sets also run on synthetic crops: ``flat`` and ``const`` (long zero-block runs,
ROS codewords, runs cut at segment and reference-interval boundaries) and ``lowd2``/``lowd4``
(D = 2 and 3, the only cubes where the restricted code options apply).  Cases a configuration
does not apply to (a limit above the data's range, restricted options with D > 4) are
skipped, and so are relative limits on signed samples: the model computes the relative limit
from the prediction ŝ instead of its magnitude |ŝ| (standard 4.8.2.1), which gives negative
limits and a crash on signed data.  ``--match coder=block`` runs only the block-adaptive sets.
Prints one line per case and a summary; exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from hsibench import codecs
from hsibench.codecs.base import unpack
from hsibench.codecs.predictive.ccsds123 import header
from hsibench.errors import InvalidParameterError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

PARAMETER_SETS = [
    "max_error=0,coder=sample",
    "max_error=1,coder=sample",
    "max_error=4,coder=sample",
    "max_error=16,coder=sample",
    "max_error=0,prediction=reduced,coder=sample",
    "max_error=4,prediction=reduced,coder=sample",
    "max_error=0,local_sum=column,coder=sample",
    "max_error=4,local_sum=column,coder=sample",
    "max_error=4,local_sum=column,prediction=reduced,coder=sample",
    "max_error=0,narrow=true,coder=sample",
    "max_error=4,narrow=true,local_sum=column,coder=sample",
    "max_error=4,theta=3,phi=3,psi=5,coder=sample",
    "max_error=0,theta=4,phi=7,coder=sample",
    "relative_error=64,coder=sample",
    "max_error=8,relative_error=64,coder=sample",
    "max_error=2,P=0,coder=sample",
    "max_error=2,P=15,coder=sample",
    "max_error=3,omega=12,R=40,nu_min=-6,nu_max=9,t_inc=16,coder=sample",
    "max_error=3,u_max=8,gamma_0=3,gamma_star=4,K=0,coder=sample",
    "max_error=2,order=bil,coder=sample",
    "max_error=2,order=bsq,coder=sample",
    # the block-adaptive entropy coder (5.4.3.4): every J, zero-block runs and segments (large
    # limits make most blocks zero; small reference intervals cut segments short), orders, limits
    "max_error=0,coder=block,J=8",
    "max_error=0,coder=block,J=16",
    "max_error=0,coder=block,J=32",
    "max_error=0,coder=block,J=64",
    "max_error=1,coder=block,J=16",
    "max_error=4,coder=block,J=32",
    "max_error=16,coder=block,J=64",
    "max_error=64,coder=block,J=8",
    "max_error=200,coder=block,J=8",
    "max_error=200,coder=block,J=8,ref_interval=5",
    "max_error=100,coder=block,J=8,ref_interval=70",
    "max_error=30,coder=block,J=16,ref_interval=1",
    "max_error=32,coder=block,J=16,order=bsq",
    "max_error=8,coder=block,J=8,order=bil",
    "max_error=4,coder=block,J=16,theta=3,phi=3,psi=5",
    "relative_error=64,coder=block,J=32",
    "max_error=6,relative_error=64,coder=block,J=8,prediction=reduced,local_sum=column",
    # the restricted code options (D <= 4 only: the low-D synthetic cubes 'lowd2' and 'lowd4')
    "max_error=0,coder=block,J=8,restricted=true",
    "max_error=0,coder=block,J=16,restricted=true",
    "max_error=1,coder=block,J=8,restricted=true",
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
        elif name == "flat":  # constant but for a few spikes: long zero-block runs, ROS codewords, runs cut by segments
            flat = np.full((rows, cols, bands), 700, dtype=np.uint16)
            flat.reshape(-1)[[137, 139, 400, 650]] = (900, 20, 1000, 3)
            out.append((name, flat))
        elif name == "const":  # a constant cube: whole segments of zero blocks
            out.append((name, np.full((rows, cols, bands), 700, dtype=np.uint16)))
        elif name in ("lowd2", "lowd4"):  # small dynamic ranges (D = 2, 4), for the restricted code options
            top = 3 if name == "lowd2" else 15
            rng = np.random.default_rng(top)
            smooth = np.arange(rows)[:, None, None] // 3 + np.arange(cols)[None, :, None] // 4 + np.arange(bands) // 3
            out.append((name, np.clip(smooth * top // smooth.max() + rng.integers(-1, 2, smooth.shape), 0, top).astype(np.uint16)))
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
    done = subprocess.run(
        [python, "ccsds123_0_b_2_high_level_model.py", str(raw), "--header", str(hdr_path)],
        cwd=model, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    if done.returncode:
        raise ModelError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}")
    return out.read_bytes()


class ModelError(RuntimeError):
    """The verification model refused or failed on a case (its last line of stderr)."""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="checkout of the NTNU verification model")
    ap.add_argument("--python", default=sys.executable, help="interpreter with the model's dependencies")
    ap.add_argument("--cubes", default="jasper_ridge,indian_pines_sub85x70,paviaU_sub50x50,flat,const,lowd2,lowd4")
    ap.add_argument("--shape", default="9,11,7", help="crop rows,cols,bands")
    ap.add_argument("--sets", default=None, help="';'-separated parameter sets (default: the built-in list)")
    ap.add_argument("--match", default=None, help="only the built-in sets containing this text (e.g. coder=block)")
    args = ap.parse_args(argv)
    shape = tuple(int(v) for v in args.shape.split(","))
    sets = args.sets.split(";") if args.sets else PARAMETER_SETS
    if args.match:
        sets = [s for s in sets if args.match in s]
    failures = 0
    cases = 0
    skipped = 0
    with tempfile.TemporaryDirectory() as tmp:
        # a private copy of the model: it writes every result into its own output/ folder, which
        # another run of this script (or of the model) would otherwise overwrite under our feet
        model = Path(tmp) / "model"
        shutil.copytree(args.model, model, ignore=shutil.ignore_patterns(".git", "output", "raw_images", "test"))
        (model / "output").mkdir()
        for name, cube in crops(args.cubes.split(","), shape):
            for params in sets:
                codec = codecs.get(f"ccsds123[{params}]")
                try:
                    payload = unpack(codec.encode(cube, bpppb=16))[1]
                except InvalidParameterError as exc:  # e.g. restricted code options on D > 4
                    skipped += 1
                    print(f"SKIP {name:24s}      {params:55s} ({exc})")
                    continue
                cfg, start = header.read(payload)
                if cfg.signed and cfg.uses_rel:
                    # the model computes m_z(t) from the prediction itself, not its magnitude
                    # (standard 4.8.2.1: floor(r_z |ŝ_z(t)| / 2^D)): negative limits, then a crash
                    skipped += 1
                    print(f"SKIP {name:24s} D={cfg.D:2d} {params:55s} (the model's relative limit uses ŝ, not |ŝ|: signed data break it)")
                    continue
                try:
                    reference = run_model(model, args.python, cube, payload[:start], Path(tmp))
                except ModelError as exc:
                    cases += 1
                    failures += 1
                    print(f"FAIL {name:24s} D={cfg.D:2d} {params:55s} the model failed: {exc}", flush=True)
                    continue
                same = reference == payload
                cases += 1
                failures += not same
                detail = "" if same else f"  ({len(reference)} vs {len(payload)} bytes; first difference at byte {_first_diff(reference, payload)})"
                print(f"{'OK  ' if same else 'DIFF'} {name:24s} D={cfg.D:2d} {params:55s} {len(payload):6d} bytes{detail}", flush=True)
    print(f"{cases - failures}/{cases} codestreams identical to the verification model ({skipped} cases not applicable)")
    return 1 if failures else 0


def _first_diff(a: bytes, b: bytes) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


if __name__ == "__main__":
    sys.exit(main())
