"""The exceptions hsibench raises: one family, messages that say what went wrong and what to do."""

from __future__ import annotations


class HsibenchError(Exception):
    """Base class of every error hsibench raises on purpose (the CLI prints it as one line).

    The CLI exits with status 2 for a :class:`UsageError` (the command itself is wrong: fix
    the arguments) and 1 for every other hsibench error (the command was right, running it
    failed: a missing file, a corrupt stream, an unreachable cluster, a failed task).
    """


class UsageError(HsibenchError):
    """The call or command line is wrong: bad parameters, an unknown codec or dataset, a bad rate.

    Raised before any work starts; the CLI exits with status 2 (as argparse does for bad
    syntax).  Subclasses: :class:`InvalidParameterError`, :class:`InvalidRateError`,
    :class:`UnknownCodecError`, :class:`UnknownDatasetError`.
    """


class InvalidCubeError(HsibenchError, ValueError):
    """A cube is not a finite, non-empty, numeric (rows, cols, bands) array."""


class InvalidRateError(UsageError, ValueError):
    """A target rate is non-positive, not finite, above the native bit depth, or unreachable."""


class UnknownCodecError(UsageError, KeyError):
    """A codec spec names a codec that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidParameterError(UsageError, ValueError):
    """A codec spec has an unknown parameter or a value of the wrong type or range."""


class CorruptDataError(HsibenchError, ValueError):
    """Bytes handed to ``decode`` are not a valid, complete hsibench container."""


class StreamLimitError(CorruptDataError):
    """A stream announces more than a decoder will allocate or than its payload can describe.

    The message names the limit and, where the limit is a setting (the voxel limit), how to
    raise it for a stream you trust.
    """


class MultiImageStreamError(CorruptDataError):
    """A stream holding several images (gnn ``encode_images``) was given to ``decode``; use ``decode_images``."""


class KeyRequiredError(HsibenchError, ValueError):
    """A keyed stream was decoded without the key it needs."""


class MissingDependencyError(HsibenchError, ImportError):
    """An optional package a codec or loader needs is not installed."""

    def __init__(self, package: str, feature: str, extra: str | None = None):
        how = f'pip install "hsibench[{extra}]"' if extra else f"pip install {package}"
        super().__init__(f"{feature} needs the package '{package}', which is not installed; run: {how}")
        self.package = package


class UnknownDatasetError(UsageError, KeyError):
    """A dataset name is neither registered nor an existing file."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DatasetNotFoundError(HsibenchError, FileNotFoundError):
    """A registered dataset is not in the cache; the message says how to download it."""


class DownloadError(HsibenchError, OSError):
    """A download failed or delivered the wrong content (size, checksum, variable, shape, dtype)."""


class DatasetFormatError(HsibenchError, ValueError):
    """A dataset file cannot be read as a cube (unknown format, missing variable, wrong shape)."""


class DeviceMemoryError(HsibenchError, MemoryError):
    """Training ran out of GPU memory; the message says what to lower (or to use tiles)."""


class ResultsError(HsibenchError, OSError):
    """A run directory or records file cannot be read or written."""


class ResolvedElsewhereError(HsibenchError):
    """A process would run a task's codec differently (device, cores) from where the task was keyed."""


class ClusterError(HsibenchError, RuntimeError):
    """An executor's cluster cannot be reached or started; the message says what to check."""
