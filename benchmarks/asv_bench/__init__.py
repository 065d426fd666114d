"""asv suites of hsibench (PyWavelets style): inputs made in ``setup``, never in the timed method.

* ``bench_codecs``: encode/decode time and peak memory per registered codec at fixed sizes and
  rates, and ``track_psnr`` (dB at a fixed bpppb: quality must not regress).
* ``bench_metrics``: the distortion metrics on a fixed pair of cubes.
* ``bench_import``: ``import hsibench`` time in a fresh interpreter.

Run from the repository root: ``asv run --python=same --quick`` (see README).
"""
