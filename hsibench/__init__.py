"""hsibench: a benchmark suite for lossy hyperspectral-image compression."""

__version__ = "0.1.0"
