"""Downloads against a local HTTP server on 127.0.0.1 (never the internet).

The server serves generated .mat/.npy files and can misbehave on purpose: drop the connection
after N bytes, ignore ``Range``, or answer 404.  Scenes are registered through a test-only
``DatasetInfo`` (the registry is injectable), with the real naming scheme.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from hsibench import datasets
from hsibench.datasets import DatasetInfo
from hsibench.errors import DatasetNotFoundError, DownloadError


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files``; behaviour per path from ``server.modes``; logs requests."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):  # noqa: N802 (http.server API)
        srv = self.server
        srv.log.append((self.path, self.headers.get("Range")))
        data = srv.files.get(self.path)
        mode = srv.modes.get(self.path, "normal")
        if data is None or mode == "404":
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and mode not in ("ignore_range", "drop_ignore_range"):
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if mode.startswith("drop"):
            # Announce the whole body, send part of it, then close the connection.
            self.wfile.write(body[: srv.drop_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.modes, srv.log, srv.drop_after = {}, {}, [], 0
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def _mat_bytes(cube: np.ndarray, variable: str = "fake") -> bytes:
    buf = io.BytesIO()
    scipy.io.savemat(buf, {variable: cube})
    return buf.getvalue()


def _npy_bytes(cube: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, cube)
    return buf.getvalue()


CUBE = np.random.default_rng(7).integers(0, 4096, (40, 30, 24), dtype=np.uint16)  # ~58 kB, several chunks


def _info(server, path: str, data: bytes, *, filename="Fake.mat", variable="fake", shape=CUBE.shape,
          dtype="uint16", sha256=None, size_bytes=None, urls=None) -> DatasetInfo:
    server.files[path] = data
    return DatasetInfo(
        name="fake_scene", title="Fake scene for download tests", sensor="none",
        shape=tuple(shape), dtype=dtype, native_bits=16,
        urls=tuple(urls) if urls else (server.base + path,),
        filename=filename, variable=variable, sha256=sha256, size_bytes=size_bytes,
        crops={"paper": (0, 16, 0, 8)}, credit="test", licence="test",
    )


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_good_file_is_verified_placed_atomically_and_rerun_is_noop(server, tmp_path):
    data = _mat_bytes(CUBE)
    entry = _info(server, "/Fake.mat", data, sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data))
    path = datasets.download(entry, tmp_path, progress=False)
    assert path == tmp_path / "Fake.mat"
    assert path.read_bytes() == data
    assert _leftovers(tmp_path) == ["Fake.mat"]  # no .part left behind
    requests = len(server.log)
    assert datasets.download(entry, tmp_path, progress=False) == path
    assert len(server.log) == requests  # no network on re-run


def test_good_npy_without_checksum_is_verified_by_content(server, tmp_path):
    entry = _info(server, "/Fake.npy", _npy_bytes(CUBE), filename="Fake.npy", variable=None)
    path = datasets.download(entry, tmp_path, progress=False)
    np.testing.assert_array_equal(np.load(path), CUBE)


@pytest.mark.parametrize(
    "case",
    ["sha256", "size", "shape", "dtype", "variable", "html"],
)
def test_wrong_file_is_rejected_and_nothing_is_left(server, tmp_path, case):
    good = _mat_bytes(CUBE)
    kwargs = {}
    data = good
    if case == "sha256":
        kwargs["sha256"] = hashlib.sha256(b"something else").hexdigest()
    elif case == "size":
        kwargs["size_bytes"] = len(good) + 1
    elif case == "shape":
        data = _mat_bytes(CUBE[:, :-1])
    elif case == "dtype":
        data = _mat_bytes(CUBE.astype(np.float64))
    elif case == "variable":
        data = _mat_bytes(CUBE, variable="other")
    elif case == "html":
        data = b"<html><body>Moved. Please log in.</body></html>"
    entry = _info(server, "/Fake.mat", data, **kwargs)
    with pytest.raises(DownloadError) as err:
        datasets.download(entry, tmp_path, progress=False)
    assert "Fake.mat" in str(err.value)
    assert _leftovers(tmp_path) == []


def test_interrupted_transfer_then_rerun_resumes_from_part(server, tmp_path):
    data = _mat_bytes(CUBE)
    entry = _info(server, "/Fake.mat", data)
    server.modes["/Fake.mat"] = "drop"
    server.drop_after = 20_000
    with pytest.raises(DownloadError, match="again to resume"):
        datasets.download(entry, tmp_path, progress=False)
    part = tmp_path / "Fake.mat.part"
    assert part.stat().st_size == 20_000
    assert not (tmp_path / "Fake.mat").exists()

    server.modes["/Fake.mat"] = "normal"
    path = datasets.download(entry, tmp_path, progress=False)
    assert path.read_bytes() == data
    assert server.log[-1] == ("/Fake.mat", "bytes=20000-")  # resumed, not restarted
    assert _leftovers(tmp_path) == ["Fake.mat"]


def test_two_interruptions_then_completion(server, tmp_path):
    data = _mat_bytes(CUBE)
    entry = _info(server, "/Fake.mat", data)
    server.modes["/Fake.mat"] = "drop"
    server.drop_after = 10_000
    for expected in (10_000, 20_000):
        with pytest.raises(DownloadError):
            datasets.download(entry, tmp_path, progress=False)
        assert (tmp_path / "Fake.mat.part").stat().st_size == expected
    server.modes["/Fake.mat"] = "normal"
    assert datasets.download(entry, tmp_path, progress=False).read_bytes() == data


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    data = _mat_bytes(CUBE)
    entry = _info(server, "/Fake.mat", data)
    server.modes["/Fake.mat"] = "drop_ignore_range"
    server.drop_after = 15_000
    with pytest.raises(DownloadError):
        datasets.download(entry, tmp_path, progress=False)
    server.modes["/Fake.mat"] = "ignore_range"
    path = datasets.download(entry, tmp_path, progress=False)
    assert server.log[-1] == ("/Fake.mat", "bytes=15000-")  # asked to resume, got the whole file
    assert path.read_bytes() == data  # not 15000 stale bytes + the whole file


def test_stale_part_with_garbage_is_not_trusted(server, tmp_path):
    """A .part whose bytes are wrong makes the result fail verification; it is then removed."""
    data = _mat_bytes(CUBE)
    entry = _info(server, "/Fake.mat", data)
    (tmp_path / "Fake.mat.part").write_bytes(b"\0" * 5000)
    with pytest.raises(DownloadError):
        datasets.download(entry, tmp_path, progress=False)
    assert _leftovers(tmp_path) == []
    assert datasets.download(entry, tmp_path, progress=False).read_bytes() == data


def test_complete_part_and_416_is_accepted_after_verification(server, tmp_path):
    data = _mat_bytes(CUBE)
    entry = _info(server, "/Fake.mat", data)
    (tmp_path / "Fake.mat.part").write_bytes(data)
    assert datasets.download(entry, tmp_path, progress=False).read_bytes() == data
    assert server.log[-1][1] == f"bytes={len(data)}-"


def test_oversized_stale_part_gets_416_and_is_fetched_again(server, tmp_path):
    data = _mat_bytes(CUBE)
    entry = _info(server, "/Fake.mat", data)
    (tmp_path / "Fake.mat.part").write_bytes(b"x" * (len(data) + 10))
    assert datasets.download(entry, tmp_path, progress=False).read_bytes() == data
    assert [r for _, r in server.log[-2:]] == [f"bytes={len(data) + 10}-", None]


def test_mirror_fallback_and_error_lists_every_url(server, tmp_path):
    data = _mat_bytes(CUBE)
    server.files["/missing.mat"] = b""
    server.modes["/missing.mat"] = "404"
    entry = _info(server, "/Fake.mat", data, urls=[server.base + "/missing.mat", server.base + "/Fake.mat"])
    assert datasets.download(entry, tmp_path, progress=False).read_bytes() == data

    dead = replace(entry, urls=(server.base + "/missing.mat", "http://127.0.0.1:1/Fake.mat"))
    with pytest.raises(DownloadError) as err:
        datasets.download(dead, tmp_path / "other", progress=False)
    assert "HTTP 404" in str(err.value) and "127.0.0.1:1" in str(err.value)


def test_registered_name_download_and_load(server, tmp_path, monkeypatch):
    """The same path the CLI takes: a registered name, HSIBENCH_DATA, load(..., download=True)."""
    entry = _info(server, "/Fake.mat", _mat_bytes(CUBE))
    datasets.register(entry)
    try:
        monkeypatch.setenv("HSIBENCH_DATA", str(tmp_path / "cache"))
        with pytest.raises(DatasetNotFoundError) as err:
            datasets.load("fake_scene")
        msg = str(err.value)
        assert "hsibench datasets download fake_scene" in msg
        assert "--data-dir" in msg and "HSIBENCH_DATA" in msg and entry.url in msg
        scene = datasets.load("fake_scene[crop=paper]", download=True)
        assert scene.name == "fake_scene[crop=paper]"
        assert scene.crop == (0, 16, 0, 8)
        np.testing.assert_array_equal(scene.cube, CUBE[:16, :8])
        assert scene.source == str((tmp_path / "cache" / "Fake.mat").resolve())
        assert datasets.is_downloaded("fake_scene")
    finally:
        datasets.unregister("fake_scene")


def test_generated_scene_has_nothing_to_download(tmp_path):
    with pytest.raises(DownloadError, match="generated"):
        datasets.download("synthetic", tmp_path)
