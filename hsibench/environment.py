"""What machine and software produce a result, and how a task's time and memory are measured.

Every record carries :func:`versions` and :func:`git_commit`; every invocation of a run adds
one :func:`environment` entry to the run directory.  :class:`PeakRSS` samples the process's
resident memory during a task; :func:`cuda_sync` makes timings of GPU work honest.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import sys
import threading
from pathlib import Path
from typing import Any

from . import __version__

LIBRARIES = ("numpy", "scipy", "PyWavelets", "numba", "torch", "imagecodecs")


def versions() -> dict[str, str | None]:
    """Versions of hsibench and the libraries that shape its numbers (no heavy imports)."""
    return dict(_versions())


@functools.lru_cache(maxsize=1)
def _versions() -> dict[str, str | None]:
    # once per process: reading seven packages' metadata costs ~10 ms, a real share of a small task
    from importlib import metadata  # (imported here: it pulls in zipfile, email, csv, inspect)

    out: dict[str, str | None] = {"hsibench": __version__, "python": platform.python_version()}
    for dist in LIBRARIES:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


@functools.lru_cache(maxsize=1)
def _cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo (empty where there is none), read once per process."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            first = fh.read().split("\n\n", 1)[0]
    except OSError:
        return {}
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in first.splitlines() if ":" in line)}


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_signature() -> str:
    """The processor as its float kernels see it: vendor, family, model, stepping and a hash of its
    feature flags (from /proc/cpuinfo; else the platform's processor string).  Two processors
    with one model name ("AMD EPYC") may differ here, and then MKL and torch pick other kernels:
    a torch-trained network's bits differ (tests/golden.py pins those per signature)."""
    fields = _cpuinfo()
    if not fields:
        return platform.processor() or platform.machine()
    flags = hashlib.sha256(" ".join(sorted(fields.get("flags", "").split())).encode()).hexdigest()[:8]
    return (f"{fields.get('vendor_id', '?')} family {fields.get('cpu family', '?')} model {fields.get('model', '?')} "
            f"stepping {fields.get('stepping', '?')} flags {flags}")


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The git commit of the hsibench source in use (+ "-dirty" if its package files are modified), or None.

    None when hsibench is not imported from a git checkout (an installed wheel).  Computed once
    per process: a run's records all name the code the process loaded.
    """
    import subprocess  # (imported here: not needed to import the codecs)

    pkg = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(pkg), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(pkg), "status", "--porcelain", "--untracked-files=no", "--", "."],
                               capture_output=True, text=True, timeout=5)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask), which torch's threads follow."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def environment() -> dict[str, Any]:
    """What machine and software produced a run (one entry per invocation in the run directory)."""
    env: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_signature": cpu_signature(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable_cores(),
        "versions": versions(),
        "hsibench_commit": git_commit(),
        "gpu": None,
    }
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
    return env


def cuda_sync() -> None:
    """Wait for queued GPU work (when torch has initialised CUDA), so a timer sees it finished."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def rss_bytes() -> int:
    """The process's resident memory now."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakRSS:
    """Context manager sampling the process's resident memory every few ms; keeps the peak."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.start = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())
