"""Crafted-stream fuzzing of every decoder: the long run of issue 11 (tests/test_fuzz.py is the short one).

    python benchmarks/fuzz_decoders.py --n 10000 [--codecs speck,spiht] [--seed 0]
        [--max-voxels 262144] [--slow 1.0] [--timeout 10] [--headroom-gib 2] [--save DIR] [--json FILE]

For each codec: encode its base streams (:mod:`hsibench.fuzz.corpus`), craft ``--n`` streams from
them (payload edits, shape inflation, dtype swaps, JSON parameter edits, raw header edits; CRC
valid), decode each in a subprocess whose address space is limited to what it uses plus
``--headroom-gib``, and count the outcomes.  A *finding* is anything but a finite float32 cube of
the header's shape or a ``CorruptDataError``/``KeyRequiredError``: another exception, a
MemoryError, non-finite or misshapen output, a decode above ``--slow`` CPU seconds, a hang
(``--timeout`` wall seconds) or a crash.  Decodes run with ``max_voxels=--max-voxels`` (16 times
the 16 k-voxel cubes: inflated shapes up to it are decoded, larger ones must be refused; decode
time grows with it, O(payload bits + voxels)).

Prints one line per codec (streams, outcomes, findings, slowest decode) and every finding with
the seed and index that reproduce it (``hsibench.fuzz.stream(codec, bases, seed, index)``);
exits 1 if there is any finding.  Budget a few minutes per 10 000 streams of a classical codec
on one free core, and about a quarter of an hour for the GNN (torch).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hsibench import codecs  # noqa: E402
from hsibench.fuzz import fuzz_codec  # noqa: E402
from hsibench.fuzz.harness import GIB  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10000, help="crafted streams per codec")
    ap.add_argument("--codecs", default=",".join(codecs.names()), help="comma-separated codec names")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-voxels", type=int, default=2**18, help="the decoders' output limit in this run")
    ap.add_argument("--slow", type=float, default=1.0, help="CPU seconds above which a decode is a finding")
    ap.add_argument("--timeout", type=float, default=10.0, help="wall seconds after which a decode counts as hung")
    ap.add_argument("--headroom-gib", type=float, default=2.0, help="address space a decode may add (GiB)")
    ap.add_argument("--save", type=Path, default=None, help="write the streams of findings here")
    ap.add_argument("--json", type=Path, default=None, help="write the summary as JSON here")
    args = ap.parse_args(argv)
    summary, total = {}, 0
    for name in [c.strip() for c in args.codecs.split(",") if c.strip()]:
        t0 = time.perf_counter()
        last = [t0]

        def progress(rep, last=last):
            now = time.perf_counter()
            if now - last[0] > 30:
                last[0] = now
                print(f"  {rep.codec}: {rep.n}/{args.n} streams, {len(rep.findings)} findings", file=sys.stderr,
                      flush=True)

        rep = fuzz_codec(name, args.n, args.seed, max_voxels=args.max_voxels, timeout=args.timeout,
                         slow=args.slow, headroom=int(args.headroom_gib * GIB), save_dir=args.save,
                         progress=progress)
        secs = time.perf_counter() - t0
        total += len(rep.findings)
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(rep.outcomes.items()))
        print(f"{name}: {rep.n} streams, {len(rep.findings)} findings ({outcomes}); slowest decode "
              f"{rep.slowest_cpu:.3f} CPU s ({rep.slowest_wall:.3f} wall s, {'+'.join(rep.slowest_how)}); "
              f"{secs:.0f} s in all", flush=True)
        for f in rep.findings[:50]:
            print(f"  finding {name} seed={args.seed} index={f.index} [{f.kind}] base={f.base} "
                  f"mutations={'+'.join(f.how)}: {f.detail}", flush=True)
        summary[name] = {"streams": rep.n, "findings": len(rep.findings), "outcomes": dict(rep.outcomes),
                         "slowest_cpu_s": rep.slowest_cpu, "slowest_wall_s": rep.slowest_wall, "seconds": secs,
                         "max_voxels": args.max_voxels, "seed": args.seed,
                         "finding_list": [f.__dict__ for f in rep.findings]}
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=1, default=str))
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
