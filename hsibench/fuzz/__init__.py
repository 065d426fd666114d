"""Crafted-stream fuzzing of the decoders ("Decoders treat every stream as hostile", DESIGN.md).

* :mod:`.mutate`: seeded mutations of valid streams (payload, shape, dtype, JSON parameters,
  raw header bytes), re-packed with a valid CRC;
* :mod:`.corpus`: the valid streams each codec's mutations start from;
* :mod:`.harness`: decodes them in a subprocess with an address-space limit and a time limit
  and reports every outcome that is not a finite float32 cube of the header's shape or a
  ``CorruptDataError``;
* :mod:`.worker`: that subprocess.

``tests/test_fuzz.py`` runs a few hundred streams per codec; ``benchmarks/fuzz_decoders.py``
runs the long campaign (``--n 10000``).
"""

from .harness import CodecReport, Finding, fuzz_codec, stream, streams
from .mutate import Crafted, craft, pack_raw

__all__ = ["CodecReport", "Crafted", "Finding", "craft", "fuzz_codec", "pack_raw", "stream", "streams"]
