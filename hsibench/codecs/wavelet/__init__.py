"""Wavelet codecs: 3D-SPECK and 3D-SPIHT (embedded set partitioning) and JPEG 2000.

``dwt`` is the shared non-expansive CDF 9/7 lifting transform (dyadic and wavelet packet);
``speck``, ``spiht`` and ``jpeg2000`` register their codecs when imported.
"""

from . import jpeg2000, speck, spiht  # noqa: F401  (registers)
