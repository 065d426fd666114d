"""The decoding side of the fuzz harness: a subprocess that decodes crafted streams under limits.

Run as ``python -m hsibench.fuzz.worker`` by :class:`hsibench.fuzz.harness.Worker`, never by
hand.  It reads length-prefixed pickled requests on stdin and answers on the original stdout
(anything else the process prints, from Python or from C, goes to stderr).  After importing
the codecs and decoding the valid warm-up streams (numba's cached kernels, torch), it lowers
its address-space limit (``RLIMIT_AS``) to what it then uses plus ``headroom`` bytes, so a
decoder that believes a header and allocates for it fails here, in a process that can be
replaced, instead of taking the machine down.

Each answer says what the decode did: ``ok`` (a finite float32 cube of the header's shape, or
a list of them for ``decode_images``), ``rejected`` (CorruptDataError or KeyRequiredError, the
errors a hostile stream deserves), or a finding: ``memory`` (MemoryError), ``exception`` (any
other exception, with the last frames of its traceback), ``wrong_error`` (an hsibench error
that is not about the stream), ``bad_output``.  With the wall and CPU seconds of the decode.
"""

from __future__ import annotations

import os
import pickle
import resource
import struct
import sys
import time
import traceback

_LEN = struct.Struct("<Q")


def _read(stream, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def receive(stream):
    """One length-prefixed pickled object from a binary stream (EOFError at the end)."""
    (n,) = _LEN.unpack(_read(stream, _LEN.size))
    return pickle.loads(_read(stream, n))


def send(stream, obj) -> None:
    """Write one length-prefixed pickled object and flush (looping: a raw pipe may take part of a write)."""
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    body = memoryview(_LEN.pack(len(payload)) + payload)
    while body:
        body = body[stream.write(body) or 0 :]
    stream.flush()


def vm_bytes() -> int:
    """This process's virtual memory size (what RLIMIT_AS limits), from /proc."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def classify(codec, data: bytes, method: str, secrets: dict, max_voxels: int) -> tuple[str, str]:
    """Decode once and say what happened: (kind, detail)."""
    import numpy as np

    from hsibench.codecs.base import unpack
    from hsibench.errors import CorruptDataError, HsibenchError, KeyRequiredError

    try:
        out = getattr(codec, method)(data, max_voxels=max_voxels, **secrets)
    except (CorruptDataError, KeyRequiredError) as exc:
        return "rejected", type(exc).__name__
    except HsibenchError as exc:
        return "wrong_error", f"{type(exc).__name__}: {str(exc)[:300]}"
    except MemoryError as exc:
        return "memory", f"MemoryError: {str(exc)[:200]} | {_where()}"
    except Exception as exc:  # noqa: BLE001 - every other exception is what the fuzzer looks for
        return "exception", f"{type(exc).__name__}: {str(exc)[:300]} | {_where()}"
    try:
        shape = unpack(data)[0].shape
    except CorruptDataError as exc:
        return "bad_output", f"decoded a stream whose container is invalid ({exc})"
    cubes = out if method == "decode_images" else [out]
    if not isinstance(cubes, list) or not cubes:
        return "bad_output", f"{method} returned {type(out).__name__}"
    for c in cubes:
        if not isinstance(c, np.ndarray) or c.dtype != np.float32 or c.shape != shape:
            what = (type(c).__name__, getattr(c, "dtype", None), getattr(c, "shape", None))
            return "bad_output", f"not a float32 cube of the header's shape {shape}: {what}"
        if not np.isfinite(c).all():
            return "bad_output", f"{int(np.count_nonzero(~np.isfinite(c)))} non-finite values"
    return "ok", ""


def _where() -> str:
    frames = traceback.extract_tb(sys.exc_info()[2])[-3:]
    return " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in reversed(frames))


def main() -> None:
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints (Python or C) go to stderr, not into the protocol
    sys.stdout = sys.stderr
    proto_in = sys.stdin.buffer
    setup = receive(proto_in)
    import importlib

    from hsibench import codecs

    for module in setup.get("imports", ()):  # extra codecs to fuzz (the harness's own tests register some)
        importlib.import_module(module)
    if "gnn" in setup["codecs"]:
        import torch

        torch.set_num_threads(1)
    decoders = {name: codecs.get(name) for name in setup["codecs"]}
    for name, data, method, secrets in setup["warm"]:  # load cached kernels before limits and timing
        getattr(decoders[name], method)(data, **secrets)
    limit = vm_bytes() + int(setup["headroom"])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash is a finding, not a core file
    send(proto_out, {"ready": True, "as_limit": limit})
    while True:
        try:
            req = receive(proto_in)
        except EOFError:
            return
        data = req["data"]
        w0, c0 = time.perf_counter(), time.process_time()
        kind, detail = classify(decoders[req["codec"]], data, req["method"], req["secrets"], req["max_voxels"])
        send(proto_out, {"kind": kind, "detail": detail, "wall": time.perf_counter() - w0,
                         "cpu": time.process_time() - c0})


if __name__ == "__main__":
    main()
