"""Start-up cost: importing hsibench and its codecs loads no heavy module it does not need.

Timings belong in the asv suite (``benchmarks/asv_bench/bench_import.py``); this test checks the
cause instead, which does not depend on the machine's load: numba (about 0.5 s plus its kernel
cache), PyWavelets, torch, pandas, matplotlib, scipy and imagecodecs stay unloaded until a codec
actually encodes or decodes.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("numba", "llvmlite", "pywt", "torch", "pandas", "matplotlib", "scipy", "imagecodecs")

_PROBE = """
import json, sys
{code}
loaded = sorted(m for m in {heavy!r} if m in sys.modules)
print(json.dumps(loaded))
"""


def _loaded_after(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", _PROBE.format(code=code, heavy=HEAVY)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("code", [
    "import hsibench",
    "import hsibench.codecs",
    "import hsibench.cli",  # the CLI's start: metrics import scipy only when SSIM is computed
    # listing, configuring and describing codecs needs no kernel either
    "import hsibench.codecs as c; [c.get(n) for n in c.names()]; c.get('speck[ac=false]').resolved()",
])
def test_import_loads_no_heavy_module(code):
    assert _loaded_after(code) == []


@pytest.mark.parametrize("codec", ["speck", "spiht"])
def test_kernels_first_used_by_several_threads_at_once_load_whole(codec):
    """``streams=4`` first touches its kernel modules from four threads at once (a lazily
    loaded module must not be seen half-executed by the others)."""
    code = ("import numpy as np, hsibench.codecs as c\n"
            "x = np.arange(64 * 16 * 8, dtype=np.uint16).reshape(64, 16, 8)\n"
            f"c.get('{codec}[streams=4]').decode(c.get('{codec}[streams=4]').encode(x, bpppb=2.0))")
    assert "numba" in _loaded_after(code)


def test_kernels_load_on_first_use():
    code = ("import numpy as np, hsibench.codecs as c\n"
            "x = np.arange(16 * 16 * 8, dtype=np.uint16).reshape(16, 16, 8)\n"
            "c.get('speck').decode(c.get('speck').encode(x, bpppb=2.0))")
    assert "numba" in _loaded_after(code)
