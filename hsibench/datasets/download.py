"""Fetch a registered scene into the per-user data folder, verify it, and only then put it in place.

Why not pooch: its ``retrieve`` would give the cache folder (``platformdirs``, used here
directly) and a sha256 check (below), but not what this module exists for: resuming a
multi-GB transfer across runs, trying mirrors in order, and accepting a file only after it
parses as the registered cube (most public scenes have no published hash).

How a download works (plain ``urllib``, so it can be tested against a local server):

1. The bytes stream into ``root/<filename>.part`` (same folder as the target, so the final
   ``os.replace`` is an atomic rename on the same file system), with a tqdm bar on stderr.
2. Resuming: when a ``.part`` is left from an interrupted run, the request carries
   ``Range: bytes=N-``.  A ``206`` whose ``Content-Range`` starts at ``N`` is appended; a ``200``
   (a server that ignores ``Range``) restarts the file from byte 0; a ``416`` means the part is
   already complete (its size equals the total the server states) or stale (it is discarded and
   the file is fetched again from byte 0, as when a ``206`` starts at the wrong offset).
3. A transfer that ends before ``Content-Length`` bytes (dropped connection) raises
   :class:`~hsibench.errors.DownloadError` and keeps the ``.part``, so re-running resumes.
4. Verification (:func:`verify_file`): size when known, sha256 when a public source states one,
   then the file must parse, contain the variable, and have the registered shape and dtype.  A
   file that fails is deleted and never renamed into place.
5. Mirrors are tried in order; the error lists what happened at each.

A target that already exists is returned as it is, without network access: only verified files
are ever renamed into place (a file put there by hand is checked when it is loaded).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

from .. import __version__
from ..errors import DatasetFormatError, DownloadError
from .registry import DatasetInfo, dtype_matches
from .registry import info as _info

CHUNK = 1 << 16
TIMEOUT_S = 60.0
USER_AGENT = f"hsibench/{__version__} (dataset download)"
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def default_root() -> Path:
    """The per-user dataset cache: ``$HSIBENCH_DATA`` when set (and non-empty), else the user cache folder.

    The cache folder is ``platformdirs.user_cache_dir("hsibench")`` (what ``pooch.os_cache``
    returns): ``~/.cache/hsibench`` on Linux (``$XDG_CACHE_HOME/hsibench`` when that is set),
    ``~/Library/Caches/hsibench`` on macOS, ``%LOCALAPPDATA%\\hsibench\\Cache`` on Windows.  One
    copy per user, whatever folder a command runs in; ``--data-dir`` / ``root=`` override both.
    """
    env = os.environ.get("HSIBENCH_DATA", "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("hsibench", appauthor=False))


def resolve_root(root: str | os.PathLike | None) -> Path:
    """The data folder to use: ``root`` when given, else :func:`default_root`."""
    return Path(root).expanduser() if root is not None else default_root()


def _as_info(name_or_info: str | DatasetInfo) -> DatasetInfo:
    return name_or_info if isinstance(name_or_info, DatasetInfo) else _info(name_or_info)


def _format_of(entry: DatasetInfo) -> str:
    from .readers import detect_format

    return detect_format(entry.filename)


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_file(entry: str | DatasetInfo, path: str | os.PathLike) -> None:
    """Raise :class:`DownloadError` unless ``path`` holds the scene ``entry`` describes.

    Checks, cheapest first: byte size (if registered), sha256 (if pinned), then parses the file
    with the readers and compares the variable's shape and dtype with the registry.
    """
    from .readers import read_cube

    entry = _as_info(entry)
    path = Path(path)
    size = path.stat().st_size
    if entry.size_bytes is not None and size != entry.size_bytes:
        raise DownloadError(f"{entry.filename}: size {size} bytes, expected {entry.size_bytes}")
    if entry.sha256:
        digest = sha256_file(path)
        if digest != entry.sha256.lower():
            raise DownloadError(f"{entry.filename}: sha256 {digest} does not match the pinned {entry.sha256}")
    try:
        cube = read_cube(path, entry.variable, fmt=_format_of(entry))
    except DatasetFormatError as exc:
        raise DownloadError(f"{entry.filename}: the downloaded file is not the expected data ({exc})") from None
    if tuple(cube.shape) != tuple(entry.shape):
        raise DownloadError(f"{entry.filename}: cube shape {cube.shape}, expected {tuple(entry.shape)}")
    if not dtype_matches(entry.dtype, cube.dtype):
        raise DownloadError(f"{entry.filename}: cube dtype {cube.dtype}, expected {entry.dtype}")


# --------------------------------------------------------------------------------------------
# Transfer
# --------------------------------------------------------------------------------------------


class _Interrupted(Exception):
    """A network failure after which the ``.part`` file is worth keeping."""


class _Restart(_Interrupted):
    """The server cannot continue the ``.part`` (it was discarded); fetch again from byte 0."""


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _progress(total: int | None, initial: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
        desc=desc, file=sys.stderr, disable=not enabled, leave=False,
    )


def _fetch(url: str, part: Path, desc: str, progress: bool) -> None:
    """Stream ``url`` into ``part``, resuming from its current size; raise _Interrupted or DownloadError."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            # Nothing left to send from offset `have`: complete if the stated total matches.
            total = _total_from_416(exc.headers.get("Content-Range", ""))
            if total is not None and total == have:
                return
            _unlink(part)
            raise _Restart("server refused the resume range (HTTP 416)") from None
        raise DownloadError(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Interrupted(f"cannot connect ({reason})") from None

    with response:
        status = getattr(response, "status", 200)
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if status == 206:
            m = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not m or int(m.group(1)) != have:
                _unlink(part)
                raise _Restart("server answered the resume request with a different range")
            total = int(m.group(3)) if m.group(3) != "*" else None
            mode, start = "ab", have
        elif status == 200:
            total, mode, start = length, "wb", 0  # Range ignored (or not asked): start over
        else:
            raise DownloadError(f"unexpected HTTP status {status}")
        expected = (start + length) if length is not None else total

        received = start
        with open(part, mode) as out, _progress(total, start, desc, progress) as bar:
            try:
                while True:
                    try:
                        block = response.read(CHUNK)
                    except Exception as exc:  # socket errors, http.client.IncompleteRead, timeouts
                        raise _Interrupted(
                            f"connection lost after {received} bytes ({type(exc).__name__}: {exc})"
                        ) from None
                    if not block:
                        break
                    try:
                        out.write(block)
                    except OSError as exc:
                        raise DownloadError(f"cannot write {part} ({exc})") from None
                    received += len(block)
                    bar.update(len(block))
            finally:
                out.flush()
                os.fsync(out.fileno())
        if expected is not None and received < expected:
            raise _Interrupted(f"connection closed after {received} of {expected} bytes")
        if expected is not None and received > expected:
            _unlink(part)
            raise DownloadError(f"server sent {received} bytes, more than the {expected} it announced")


def _total_from_416(header: str) -> int | None:
    """The total size in a 416 response's ``Content-Range: bytes */TOTAL`` header, if present."""
    m = re.match(r"bytes\s+\*/(\d+)", header or "")
    return int(m.group(1)) if m else None


def download(name: str | DatasetInfo, root: str | os.PathLike | None = None, *, progress: bool = True) -> Path:
    """Download a registered scene (name or :class:`DatasetInfo`) to ``root/<filename>``; return the path.

    Idempotent: an existing target is returned without network access.  Interrupted transfers
    leave ``<filename>.part`` and resume on the next call.  Raises :class:`DownloadError` when no
    mirror delivers a file that passes :func:`verify_file`.
    """
    entry = _as_info(name)
    if not entry.urls:
        raise DownloadError(f"dataset '{entry.name}' is generated locally and has nothing to download")
    root = resolve_root(root)
    target = root / entry.filename
    if target.is_file():
        return target
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the data folder {root} ({exc})") from None
    part = target.with_name(target.name + ".part")

    failures: list[str] = []
    keep_part = False
    for url in entry.urls:
        try:
            try:
                _fetch(url, part, entry.filename, progress)
            except _Restart:
                _fetch(url, part, entry.filename, progress)  # once more, from byte 0
        except _Interrupted as exc:
            failures.append(f"{url}: {exc}")
            keep_part = part.exists()
            continue
        except DownloadError as exc:
            failures.append(f"{url}: {exc}")
            continue
        try:
            verify_file(entry, part)
        except DownloadError as exc:
            _unlink(part)
            keep_part = False
            failures.append(f"{url}: {exc}")
            continue
        os.replace(part, target)
        return target

    hint = (
        f" The partial file {part.name} was kept: run the same command again to resume."
        if keep_part and part.exists()
        else ""
    )
    raise DownloadError(
        f"could not download dataset '{entry.name}' to {target}: " + "; ".join(failures) + "." + hint
    )
