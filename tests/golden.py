"""Golden streams: the sha256 of one small stream per codec, pinned in ``golden_streams.json``.

A codec's bytes for the same inputs may change only with its ``revision`` (the runner's task
keys hash it, so records of the old bytes are never mixed with the new).  Regenerate after a
deliberate change and a revision bump:

    python tests/golden.py --update            # every codec
    python tests/golden.py --update speck      # one codec

The cube is integer arithmetic only (no transcendental functions), so it is bit-identical on
every machine.  Streams that depend on a library's floating-point kernels (torch for the GNN,
OpenJPEG for the JPEG 2000 codecs) are pinned to that library's version, which the file records.
A torch-trained stream also depends on the processor (MKL and torch pick their float kernels by
CPU model: coolchic's golden stream differs between two AMD EPYC generations with the same
torch), so its entry may pin several machines, each by :func:`kernel_id`:

    python tests/golden.py --pin-machine coolchic   # add this machine's stream (same revision)

On a machine the entry pins, other bytes fail; on one it does not, bytes that match no pinned
stream are not judged (the test says so and skips).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

GOLDEN_FILE = Path(__file__).with_name("golden_streams.json")

#: codec name -> (spec, target bpppb); small and fast, every stage of the codec exercised
SPECS: dict[str, tuple[str, float]] = {
    "pca": ("pca", 1.0),
    "speck": ("speck", 1.0),
    "spiht": ("spiht", 1.0),
    "jpeg2000": ("jpeg2000", 1.0),
    "pca_jpeg2000": ("pca_jpeg2000", 1.0),
    "ccsds123": ("ccsds123", 4.0),  # the rate search over error limits, then the standard's codestream
    "gnn": ("gnn[blocks=2,channels=4,prune=0.67,weights=int8,epochs=12,prune_rounds=2,threads=1,device=cpu,"
            "progress=false]", 8.0),
    "siren": ("siren[depth=2,width=8,weights=int8,epochs=6,threads=1,device=cpu,progress=false]", 4.0),
    "coolchic": ("coolchic[epochs=4,threads=1,device=cpu,progress=false]", 4.0),
}
#: codec name -> the library whose floating-point kernels shape its bytes
LIBRARY = {"gnn": "torch", "siren": "torch", "coolchic": "torch", "jpeg2000": "imagecodecs",
           "pca_jpeg2000": "imagecodecs"}


def golden_cube(rows: int = 24, cols: int = 20, bands: int = 16) -> np.ndarray:
    """A uint16 cube from integer arithmetic and PCG64 integers only: the same bits everywhere."""
    r, c, b = np.indices((rows, cols, bands), dtype=np.int64)
    smooth = 1000 + 40 * r + 25 * c + 10 * b + (r * c * 7 + b * b * 3) % 97
    noise = np.random.default_rng(12345).integers(-8, 9, size=(rows, cols, bands))
    return (smooth + noise).astype(np.uint16)


def kernel_id() -> str:
    """This machine's float kernels for torch: a short hash of the torch version, its CPU capability
    and the processor (:func:`hsibench.environment.cpu_signature`).  Two machines with the same id
    run the same kernels, so a torch-trained golden stream pinned on one must match on the other."""
    import torch

    from hsibench.environment import cpu_signature

    ident = "|".join([torch.__version__, torch.backends.cpu.get_cpu_capability(), platform.machine(), cpu_signature()])
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


def library_version(codec: str) -> str | None:
    lib = LIBRARY.get(codec)
    return metadata.version(lib) if lib else None


def stream(codec: str) -> bytes:
    """The golden stream of ``codec`` encoded now."""
    from hsibench import codecs

    spec, rate = SPECS[codec]
    return codecs.get(spec).encode(golden_cube(), bpppb=rate)


def entry(codec: str) -> dict:
    """What the golden file pins for ``codec``: its spec, rate, revision, stream size and sha256."""
    from hsibench import codecs

    data = stream(codec)
    spec, rate = SPECS[codec]
    out = {"spec": spec, "bpppb": rate, "revision": codecs.codec_class(codec).revision, "bytes": len(data),
           "sha256": hashlib.sha256(data).hexdigest()}
    if codec in LIBRARY:
        out["library"] = {LIBRARY[codec]: library_version(codec)}
    return out


def check(name: str, data: bytes, revision: int, pinned: dict, machine: str | None = None) -> str | None:
    """Why ``data`` (codec ``name`` at ``revision``) breaks the golden entry ``pinned``, or None if it matches.

    ``machine`` (:func:`kernel_id`) is given for codecs whose bytes depend on the processor: bytes
    matching any pinned machine's stream pass; other bytes fail on a pinned machine and, on one
    the entry does not pin, give a message starting with ``UNPINNED`` (not a verdict: the caller skips)."""
    how = f"python tests/golden.py --update {name}"
    if revision != pinned["revision"]:
        return (f"codec '{name}' is at revision {revision} but its golden stream is of revision "
                f"{pinned['revision']}: regenerate it with {how}")
    digest = hashlib.sha256(data).hexdigest()
    streams = [(pinned["bytes"], pinned["sha256"])] + [(m["bytes"], m["sha256"]) for m in
                                                        pinned.get("machines", {}).values()]
    if (len(data), digest) in streams:
        return None
    if machine is not None and machine not in pinned.get("machines", {}):
        return (f"UNPINNED: codec '{name}' writes {len(data)} bytes, sha256 {digest[:16]}… on this machine (float "
                f"kernels {machine}), which its golden entry does not pin; if the code did not change, pin it "
                f"with python tests/golden.py --pin-machine {name}")
    want = pinned.get("machines", {}).get(machine, pinned)
    return (f"codec '{name}' now writes different bytes for the same input ({len(data)} bytes, sha256 "
            f"{digest[:16]}… instead of {want['bytes']} bytes, {want['sha256'][:16]}…) at the same revision "
            f"{revision}. If the change is intended, bump `revision` in the {name} codec class (records of the "
            f"old bytes then stop counting as this codec's) and run {how}; if not, it is a regression")


def per_machine(codec: str) -> bool:
    """Whether ``codec``'s bytes depend on the processor (torch-trained): pinned per :func:`kernel_id`."""
    return LIBRARY.get(codec) == "torch"


def machine_of(codec: str) -> str | None:
    """:func:`kernel_id` for a codec whose bytes depend on the processor, else None."""
    return kernel_id() if per_machine(codec) else None


def load() -> dict[str, dict]:
    return json.loads(GOLDEN_FILE.read_text()) if GOLDEN_FILE.exists() else {}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Regenerate the golden stream hashes (after a revision bump).")
    ap.add_argument("--update", action="store_true", help="write golden_streams.json")
    ap.add_argument("--pin-machine", action="store_true",
                    help="add this machine's streams of torch-trained codecs to their entries (same revision)")
    ap.add_argument("codecs", nargs="*", help="codecs to regenerate (default: every codec in SPECS)")
    args = ap.parse_args(argv)
    golden = load()
    for name in args.codecs or list(SPECS):
        new = fresh = entry(name)
        if args.pin_machine:
            if not per_machine(name):
                torch_codecs = ", ".join(k for k in LIBRARY if per_machine(k))
                ap.error(f"{name}: --pin-machine is for torch-trained codecs ({torch_codecs})")
            old = golden.get(name)
            if old is None or old["revision"] != new["revision"] or old.get("library") != new["library"]:
                ap.error(f"{name}: its golden entry is of another revision or torch version: use --update")
            old.setdefault("machines", {})[kernel_id()] = {"bytes": new["bytes"], "sha256": new["sha256"]}
            new = old
        else:
            if per_machine(name):
                new["machines"] = {kernel_id(): {"bytes": new["bytes"], "sha256": new["sha256"]}}
            golden[name] = new
        print(f"{name}: {fresh['bytes']} bytes, sha256 {fresh['sha256'][:16]}…, revision {fresh['revision']}"
              + (f", pinned machines {', '.join(new.get('machines', {}))}" if "machines" in new else ""))
    cube = golden_cube()
    golden["_cube"] = {"shape": list(cube.shape), "dtype": cube.dtype.name,
                       "sha256": hashlib.sha256(cube.tobytes()).hexdigest()}
    if args.update or args.pin_machine:
        GOLDEN_FILE.write_text(json.dumps(dict(sorted(golden.items())), indent=2) + "\n")
        print(f"wrote {GOLDEN_FILE}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
