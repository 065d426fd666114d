"""The fuzz harness: craft streams here, decode them in a limited subprocess, collect the findings.

A finding is any outcome other than a finite float32 cube of the header's shape or an
hsibench ``CorruptDataError`` / ``KeyRequiredError``: another exception, a ``MemoryError`` under
the address-space limit, a non-finite or misshapen output, a decode that takes longer than
``slow`` CPU seconds, one that does not finish within ``timeout`` wall seconds (the worker is
killed and replaced), or a crash of the worker process.  A finding carries the seed and index
that reproduce its stream (:func:`stream`).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import corpus
from .mutate import craft
from .worker import receive, send

OK_KINDS = ("ok", "rejected")
GIB = 1 << 30


@dataclass
class Finding:
    codec: str
    index: int
    kind: str
    detail: str
    how: tuple[str, ...]
    base: str
    cpu: float | None = None


@dataclass
class CodecReport:
    """What ``n`` crafted streams of one codec did."""

    codec: str
    n: int = 0
    outcomes: Counter = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    slowest_cpu: float = 0.0
    slowest_wall: float = 0.0
    slowest_how: tuple[str, ...] = ()


class WorkerDied(Exception):
    """The decoding subprocess exited (a crash) or was killed after a timeout."""


class Worker:
    """One decoding subprocess (``python -m hsibench.fuzz.worker``) with a memory headroom."""

    def __init__(self, codecs: list[str], warm: list[tuple], headroom: int, imports: tuple[str, ...] = ()):
        self.setup = {"codecs": codecs, "warm": warm, "headroom": headroom, "imports": list(imports)}
        self.proc: subprocess.Popen | None = None
        self.err = tempfile.TemporaryFile()

    def start(self) -> None:
        env = dict(os.environ, HSIBENCH_NO_PROGRESS="1", OMP_NUM_THREADS="1")
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        # unbuffered pipes: select() then sees every byte of a reply, none waits in a Python buffer
        self.proc = subprocess.Popen([sys.executable, "-m", "hsibench.fuzz.worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, env=env, bufsize=0)
        send(self.proc.stdin, self.setup)
        reply = self._reply(600.0)
        if not reply.get("ready"):
            raise RuntimeError(f"fuzz worker did not start: {reply}")

    def _reply(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.stop()
            raise WorkerDied("timeout")
        try:
            return receive(self.proc.stdout)
        except EOFError:
            code = self.proc.wait()
            self.proc = None
            raise WorkerDied(f"crash (exit status {code}): {self.stderr_tail()}") from None

    def decode(self, request: dict, timeout: float) -> dict:
        if self.proc is None:
            self.start()
        send(self.proc.stdin, request)
        return self._reply(timeout)

    def stderr_tail(self, n: int = 400) -> str:
        self.err.seek(0, os.SEEK_END)
        size = self.err.tell()
        self.err.seek(max(0, size - n))
        return self.err.read().decode("utf-8", "replace").replace("\n", " | ")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()  # only the worker this object started
            self.proc.wait()
            self.proc = None

    def close(self) -> None:
        """Stop the worker and drop its captured stderr."""
        self.stop()
        self.err.close()


def _rng(seed: int, codec: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(codec.encode())])


def streams(codec: str, bases: list[tuple[corpus.Base, bytes]], n: int, seed: int):
    """Yield ``(index, base, crafted)`` for the ``n`` crafted streams of ``codec`` under ``seed``."""
    from ..codecs.base import unpack

    pool = [(data, unpack(data)[1], unpack(data)[0].params) for _, data in bases]
    rng = _rng(seed, codec)
    for i in range(n):
        j = int(rng.integers(len(bases)))
        yield i, bases[j][0], craft(bases[j][1], rng, pool)


def stream(codec: str, bases, seed: int, index: int) -> bytes:
    """The crafted stream ``index`` of a run (to reproduce a finding)."""
    for i, _, crafted in streams(codec, bases, index + 1, seed):
        if i == index:
            return crafted.data
    raise IndexError(index)


def fuzz_codec(codec: str, n: int, seed: int = 0, *, max_voxels: int = 2**18, timeout: float = 10.0,
               slow: float = 1.0, headroom: int = 2 * GIB, bases=None, save_dir: Path | None = None,
               progress=None, imports: tuple[str, ...] = (), warm: bool = True) -> CodecReport:
    """Decode ``n`` crafted streams of ``codec`` in a limited subprocess; report every finding.

    ``max_voxels`` is the decoders' output limit for these decodes (crafted shapes above it must
    be refused), ``timeout`` the wall seconds after which a decode counts as hung, ``slow`` the
    CPU seconds above which it counts as too slow, ``headroom`` the bytes of address space the
    worker may allocate beyond what it uses when ready.  ``bases`` are the ``(corpus.Base,
    stream)`` pairs to mutate (default: :func:`corpus.build`), decoded once before the limits are
    set unless ``warm`` is false; ``imports`` are modules the worker imports first (codecs they
    register can be fuzzed).  ``save_dir`` keeps the streams of findings as ``<codec>-<index>.hsib``.
    """
    bases = bases if bases is not None else corpus.build(codec)
    first = [(codec, data, b.method, b.secrets) for b, data in bases] if warm else []
    worker = Worker([codec], first, headroom, imports)
    rep = CodecReport(codec)
    try:
        for i, base, crafted in streams(codec, bases, n, seed):
            req = {"codec": codec, "data": crafted.data, "method": base.method, "secrets": base.secrets,
                   "max_voxels": max_voxels}
            try:
                res = worker.decode(req, timeout)
            except WorkerDied as exc:
                kind = "timeout" if str(exc) == "timeout" else "crash"
                res = {"kind": kind, "detail": f"{exc}", "wall": timeout if kind == "timeout" else None, "cpu": None}
            kind = res["kind"]
            if kind in OK_KINDS and res["cpu"] is not None and res["cpu"] > slow:
                kind = "slow"
                res["detail"] = f"{res['cpu']:.2f} CPU s (limit {slow:g}); outcome {res['kind']} {res['detail']}"
            rep.n += 1
            rep.outcomes[kind] += 1
            if res.get("cpu") is not None and res["cpu"] > rep.slowest_cpu:
                rep.slowest_cpu, rep.slowest_wall, rep.slowest_how = res["cpu"], res["wall"], crafted.how
            if kind not in OK_KINDS:
                rep.findings.append(Finding(codec, i, kind, res["detail"], crafted.how, base.spec, res.get("cpu")))
                if save_dir is not None:
                    save_dir.mkdir(parents=True, exist_ok=True)
                    (save_dir / f"{codec}-{i}.hsib").write_bytes(crafted.data)
            if progress is not None:
                progress(rep)
    finally:
        worker.close()
    return rep
