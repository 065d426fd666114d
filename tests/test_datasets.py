"""Datasets: registry, specs and crops, file readers (round trips), the synthetic scene, errors."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import tifffile

from hsibench import datasets
from hsibench.datasets import read_cube
from hsibench.errors import (
    DatasetFormatError,
    DatasetNotFoundError,
    HsibenchError,
    InvalidParameterError,
    UnknownDatasetError,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def cube() -> np.ndarray:
    """A small cube with distinct sizes on every axis, so any transposition error shows."""
    return np.random.default_rng(3).integers(0, 5000, (7, 5, 4), dtype=np.uint16)


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

# Shapes as the issue lists them (EHU files; Purdue dc.tif).
EXPECTED = {
    "botswana": ((1476, 256, 145), "Botswana.mat", "Botswana"),
    "pavia": ((1096, 715, 102), "Pavia.mat", "pavia"),
    "paviau": ((610, 340, 103), "PaviaU.mat", "paviaU"),
    "indian_pines": ((145, 145, 200), "Indian_pines_corrected.mat", "indian_pines_corrected"),
    "salinas": ((512, 217, 204), "Salinas_corrected.mat", "salinas_corrected"),
    "ksc": ((512, 614, 176), "KSC.mat", "KSC"),
    "dc_mall": ((1208, 307, 191), "Hyperspectral_Project.zip", "Hyperspectral_Project/dc.tif"),
}


def test_registry_lists_every_scene_and_synthetic():
    assert datasets.names() == sorted([*EXPECTED, "synthetic"])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_registry_entries(name):
    shape, filename, variable = EXPECTED[name]
    entry = datasets.info(name)
    assert (entry.shape, entry.filename, entry.variable) == (shape, filename, variable)
    assert entry.native_bits == 16 and np.dtype(entry.dtype).itemsize == 2
    assert entry.urls and all(u.startswith(("http://", "https://")) for u in entry.urls)
    assert entry.urls[0].startswith("https://")
    assert entry.credit and entry.licence
    assert entry.sha256 is None or len(entry.sha256) == 64
    for r0, r1, c0, c1 in entry.crops.values():
        assert 0 <= r0 < r1 <= shape[0] and 0 <= c0 < c1 <= shape[1]


def test_paper_crops_match_the_seed_paper_sizes():
    sizes = {n: (c[1] - c[0], c[3] - c[2]) for n in ("botswana", "dc_mall", "pavia") for c in [datasets.info(n).crops["paper"]]}
    assert sizes == {"botswana": (512, 256), "dc_mall": (512, 256), "pavia": (512, 512)}


def test_info_is_frozen_and_case_insensitive():
    entry = datasets.info("Botswana")
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        entry.crops["new"] = (0, 1, 0, 1)  # type: ignore[index]
    # The CLI prints records as JSON: the record must survive asdict/json.
    record = json.loads(json.dumps(dataclasses.asdict(entry)))
    assert record["crops"] == {"paper": [0, 512, 0, 256]} and record["shape"] == [1476, 256, 145]


def test_unknown_name_lists_the_registered_names():
    with pytest.raises(UnknownDatasetError) as err:
        datasets.info("botswanna")
    assert "botswana" in str(err.value) and "synthetic" in str(err.value)
    with pytest.raises(UnknownDatasetError):
        datasets.load("botswanna")
    assert isinstance(err.value, HsibenchError)


def test_register_refuses_silent_overwrite():
    with pytest.raises(ValueError):
        datasets.register(dataclasses.replace(datasets.info("ksc"), title="other"))


def test_dtype_matches_checks_width_not_signedness():
    assert datasets.dtype_matches("uint16", np.dtype("int16"))
    assert datasets.dtype_matches("uint16", np.dtype(">u2"))
    assert not datasets.dtype_matches("uint16", np.dtype("uint8"))
    assert not datasets.dtype_matches("uint16", np.dtype("float32"))
    assert datasets.dtype_matches("float32", np.dtype("float32"))
    assert not datasets.dtype_matches("float32", np.dtype("float64"))


def test_default_root(monkeypatch, tmp_path):
    """One cache per user, not per folder: the XDG cache on Linux, whatever the current directory."""
    monkeypatch.delenv("HSIBENCH_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    assert datasets.default_root() == tmp_path / "xdg" / "hsibench"
    monkeypatch.chdir(tmp_path / "..")
    assert datasets.default_root() == tmp_path / "xdg" / "hsibench"
    monkeypatch.setenv("HSIBENCH_DATA", str(tmp_path / "elsewhere"))
    assert datasets.default_root() == tmp_path / "elsewhere"
    assert datasets.path("ksc") == tmp_path / "elsewhere" / "KSC.mat"


# --------------------------------------------------------------------------------------------
# Missing files, specs, crops
# --------------------------------------------------------------------------------------------


def test_missing_file_says_how_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        datasets.load("botswana[crop=paper]", root=tmp_path)
    msg = str(err.value)
    assert "hsibench datasets download botswana" in msg
    assert str(tmp_path / "Botswana.mat") in msg
    assert "--data-dir" in msg and "HSIBENCH_DATA" in msg
    assert datasets.info("botswana").url in msg
    assert isinstance(err.value, FileNotFoundError)


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("botswana", ("botswana", {})),
        ("botswana[crop=paper]", ("botswana", {"crop": "paper"})),
        ("botswana[crop=0:512,0:256]", ("botswana", {"crop": "0:512,0:256"})),
        ("synthetic[rows=64, cols=64,bands=32,seed=1]", ("synthetic", {"rows": "64", "cols": "64", "bands": "32", "seed": "1"})),
        ("a/b.mat[variable=X,crop=0:2,0:3]", ("a/b.mat", {"variable": "X", "crop": "0:2,0:3"})),
    ],
)
def test_parse_spec(spec, expected):
    assert datasets.parse_spec(spec) == expected


@pytest.mark.parametrize("spec", ["synthetic[rows]", "synthetic[rows=1,rows=2]", "[crop=paper]", "synthetic[=3]"])
def test_bad_specs(spec):
    with pytest.raises(InvalidParameterError):
        datasets.parse_spec(spec)


def test_registered_scene_loads_with_named_and_numeric_crops(tmp_path, cube):
    entry = datasets.DatasetInfo(
        name="tiny_scene", title="t", sensor="s", shape=cube.shape, dtype="uint16", native_bits=16,
        urls=("http://127.0.0.1:1/Tiny.mat",), filename="Tiny.mat", variable="tiny",
        crops={"paper": (1, 5, 0, 3)},
    )
    scipy.io.savemat(tmp_path / "Tiny.mat", {"tiny": cube})
    datasets.register(entry)
    try:
        full = datasets.load("tiny_scene", root=tmp_path)
        assert full.name == "tiny_scene" and full.crop is None and full.native_bits == 16
        np.testing.assert_array_equal(full.cube, cube)
        named = datasets.load("tiny_scene[crop=paper]", root=tmp_path)
        assert named.name == "tiny_scene[crop=paper]" and named.crop == (1, 5, 0, 3)
        np.testing.assert_array_equal(named.cube, cube[1:5, 0:3])
        numeric = datasets.load("tiny_scene[crop=2:7,1:5]", root=tmp_path)
        assert numeric.name == "tiny_scene[crop=2:7,1:5]"
        np.testing.assert_array_equal(numeric.cube, cube[2:7, 1:5])
        for bad in ("tiny_scene[crop=0:8,0:2]", "tiny_scene[crop=3:3,0:2]", "tiny_scene[crop=top]", "tiny_scene[crop=-1:2,0:2]"):
            with pytest.raises(InvalidParameterError):
                datasets.load(bad, root=tmp_path)
        with pytest.raises(InvalidParameterError, match="unknown option"):
            datasets.load("tiny_scene[zoom=2]", root=tmp_path)
        # A file in place that is not the registered scene is reported, not used.
        scipy.io.savemat(tmp_path / "Tiny.mat", {"tiny": cube[:, :, :3]})
        with pytest.raises(DatasetFormatError, match="datasets download tiny_scene"):
            datasets.load("tiny_scene", root=tmp_path)
    finally:
        datasets.unregister("tiny_scene")


# --------------------------------------------------------------------------------------------
# Synthetic
# --------------------------------------------------------------------------------------------


def test_synthetic_is_deterministic_uint16_and_shaped():
    a = datasets.synthetic(rows=32, cols=24, bands=16, seed=5)
    b = datasets.synthetic(rows=32, cols=24, bands=16, seed=5)
    assert a.dtype == np.uint16 and a.shape == (32, 24, 16)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, datasets.synthetic(rows=32, cols=24, bands=16, seed=6))


def test_synthetic_default_values_are_sensor_like():
    """Properties the generator is built to have (README, "The synthetic default scene"), checked on the output."""
    cube = datasets.synthetic()
    assert cube.shape == (128, 128, 64) and cube.dtype == np.uint16
    assert 2**12 <= int(cube.max()) < 2**14  # a 12..14-bit range
    assert np.mean(cube == 0) < 1e-4  # the 200 DN dark level keeps it (almost always) off the floor
    wl = datasets.synthetic_wavelengths(64)
    bright, absorbed = int(np.argmin(np.abs(wl - 800))), int(np.argmin(np.abs(wl - 1400)))
    flat = cube.reshape(-1, cube.shape[2]).astype(np.float64)
    # spectrally correlated where there is light; the 1400 nm water band is mostly noise
    assert np.corrcoef(flat[:, bright], flat[:, bright + 1])[0, 1] > 0.95
    assert np.corrcoef(flat[:, absorbed], flat[:, absorbed + 1])[0, 1] < 0.8
    assert flat[:, absorbed].mean() < 0.2 * flat[:, bright].mean()
    # low spectral rank with a tail: a few components hold 99 % of the variance, many more 99.9 %
    centred = flat - flat.mean(axis=0)
    ev = np.linalg.eigvalsh(centred.T @ centred)[::-1]
    share = np.cumsum(ev) / ev.sum()
    assert int(np.searchsorted(share, 0.99)) + 1 <= 8 and int(np.searchsorted(share, 0.999)) + 1 >= 16
    # spatially detailed but not noise: neighbouring pixels of a bright band correlate, not perfectly
    band = cube[:, :, bright].astype(np.float64)
    assert 0.7 < np.corrcoef(band[:, :-1].ravel(), band[:, 1:].ravel())[0, 1] < 0.97
    # the bad-band list marks the deep absorptions (1380, 1880 nm) and the two noisy detector bands
    bad = wl[datasets.synthetic_bad_bands(64) == 0]
    assert any(abs(w - 1380) < 40 for w in bad) and any(abs(w - 1880) < 40 for w in bad) and len(bad) == 6


def test_synthetic_fingerprint_is_stable():
    """Regression pin (computed by this implementation, numpy 2.x PCG64 streams, not a published value).

    Records and reports key datasets by the cube's sha256, so a change to the generator silently
    invalidates stored synthetic results: if this fails, the change must be deliberate (and noted).
    Last deliberate change: the scene built to rank codecs as real data does (issue 14).
    """
    cube = datasets.synthetic(rows=16, cols=16, bands=8, seed=0)
    digest = hashlib.sha256(cube.tobytes()).hexdigest()
    assert digest == "3e1ca9261eef0ac6c4b37cbf8af92164cdbda773882a8b0def22f017028aff79"


def test_synthetic_spec_and_bad_parameters():
    scene = datasets.load("synthetic[rows=16,cols=12,bands=8,seed=2]")
    assert scene.name == "synthetic[rows=16,cols=12,bands=8,seed=2]"
    assert scene.source == "generated" and scene.native_bits == 16 and scene.crop is None
    np.testing.assert_array_equal(scene.cube, datasets.synthetic(16, 12, 8, 2))
    assert datasets.load("synthetic").name == "synthetic"
    for bad in ("synthetic[rows=0]", "synthetic[rows=abc]", "synthetic[seed=-1]", "synthetic[colour=red]"):
        with pytest.raises(InvalidParameterError):
            datasets.load(bad)
    with pytest.raises(InvalidParameterError):
        datasets.synthetic(rows=2.5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Readers: round trips
# --------------------------------------------------------------------------------------------


def test_npy_round_trip(tmp_path, cube):
    np.save(tmp_path / "c.npy", cube)
    scene = datasets.load(str(tmp_path / "c.npy"))
    np.testing.assert_array_equal(scene.cube, cube)
    assert scene.name == "c.npy" and scene.native_bits == 16 and scene.source == str(tmp_path / "c.npy")


def test_npy_float_and_big_endian(tmp_path, cube):
    np.save(tmp_path / "f.npy", cube.astype(">f4"))
    out = read_cube(tmp_path / "f.npy")
    assert out.dtype == np.dtype("float32") and out.dtype.isnative
    np.testing.assert_array_equal(out, cube.astype(np.float32))


def test_mat_v5_round_trip_and_variable_choice(tmp_path, cube):
    scipy.io.savemat(tmp_path / "one.mat", {"X": cube, "wavelengths": np.arange(4.0)})
    np.testing.assert_array_equal(read_cube(tmp_path / "one.mat"), cube)

    scipy.io.savemat(tmp_path / "two.mat", {"A": cube, "B": cube[::-1]}, do_compression=True)
    with pytest.raises(DatasetFormatError, match=r"variable=NAME"):
        read_cube(tmp_path / "two.mat")
    np.testing.assert_array_equal(datasets.load(f"{tmp_path / 'two.mat'}[variable=B]").cube, cube[::-1])
    with pytest.raises(DatasetFormatError, match="no variable"):
        read_cube(tmp_path / "two.mat", "C")


def _write_mat73(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write HDF5 the way MATLAB's ``save -v7.3`` does: 512-byte user block, column-major data."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, arr in arrays.items():
            ds = f.create_dataset(name, data=np.asarray(arr).T)  # MATLAB column-major -> reversed axes
            ds.attrs["MATLAB_class"] = np.bytes_(str(arr.dtype))
        f.create_group("#refs#")
    with open(path, "r+b") as fh:
        header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Tue Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
        fh.write(header.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02IM")


def test_mat_v73_round_trip_is_transposed_back(tmp_path, cube):
    _write_mat73(tmp_path / "v73.mat", {"cube": cube})
    with h5py.File(tmp_path / "v73.mat", "r") as f:
        assert f["cube"].shape == (4, 5, 7)  # what h5py sees: reversed
    out = read_cube(tmp_path / "v73.mat")
    assert out.shape == (7, 5, 4)
    np.testing.assert_array_equal(out, cube)

    _write_mat73(tmp_path / "v73two.mat", {"a": cube, "b": cube + 1, "vec": np.arange(3.0)})
    with pytest.raises(DatasetFormatError, match="several"):
        read_cube(tmp_path / "v73two.mat")
    np.testing.assert_array_equal(read_cube(tmp_path / "v73two.mat", "b"), cube + 1)


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
@pytest.mark.parametrize("byte_order", [0, 1])
def test_envi_round_trip(tmp_path, cube, interleave, byte_order):
    dtype = np.dtype("<u2" if byte_order == 0 else ">u2")
    layout = {"bsq": (2, 0, 1), "bil": (0, 2, 1), "bip": (0, 1, 2)}[interleave]
    offset = 128
    raw = b"\xab" * offset + np.ascontiguousarray(cube.transpose(layout)).astype(dtype).tobytes()
    (tmp_path / "scene.img").write_bytes(raw)
    rows, cols, bands = cube.shape
    (tmp_path / "scene.hdr").write_text(
        "ENVI\ndescription = {\n  a test cube,\n  written by hand}\n"
        f"samples = {cols}\nlines   = {rows}\nbands   = {bands}\nheader offset = {offset}\n"
        f"file type = ENVI Standard\ndata type = 12\ninterleave = {interleave}\n"
        f"byte order = {byte_order}\nwavelength = {{400, 500,\n 600, 700}}\n"
    )
    for target in ("scene.hdr", "scene.img"):
        out = read_cube(tmp_path / target)
        assert out.dtype == np.uint16 and out.dtype.isnative
        np.testing.assert_array_equal(out, cube)
    assert datasets.load(str(tmp_path / "scene.hdr")).name == "scene.hdr"


def test_envi_float_and_img_hdr_naming(tmp_path, cube):
    data = cube.astype(np.float32)
    (tmp_path / "x.img").write_bytes(np.ascontiguousarray(data.transpose(2, 0, 1)).tobytes())
    (tmp_path / "x.img.hdr").write_text(
        f"ENVI\nsamples = {cube.shape[1]}\nlines = {cube.shape[0]}\nbands = {cube.shape[2]}\ndata type = 4\n"
    )
    np.testing.assert_array_equal(read_cube(tmp_path / "x.img.hdr"), data)


@pytest.mark.parametrize(
    "change, message",
    [
        (("data type = 12", "data type = 6"), "not supported"),
        (("interleave = bsq", "interleave = bxq"), "interleave"),
        (("samples = 5", "samples = 50"), "truncated"),
        (("ENVI\n", "NOT ENVI\n"), "not an ENVI header"),
        (("bands = 4\n", ""), "no 'bands'"),
    ],
)
def test_envi_bad_headers(tmp_path, cube, change, message):
    (tmp_path / "s.img").write_bytes(np.ascontiguousarray(cube.transpose(2, 0, 1)).tobytes())
    text = "ENVI\nsamples = 5\nlines = 7\nbands = 4\ndata type = 12\ninterleave = bsq\nbyte order = 0\n"
    (tmp_path / "s.hdr").write_text(text.replace(*change))
    with pytest.raises(DatasetFormatError, match=message):
        read_cube(tmp_path / "s.hdr")


def test_tiff_bands_first_and_bands_last(tmp_path, cube):
    # One page per band (the usual hyperspectral multi-page TIFF, like Purdue's dc.tif).
    tifffile.imwrite(tmp_path / "pages.tif", np.ascontiguousarray(cube.transpose(2, 0, 1)), photometric="minisblack")
    np.testing.assert_array_equal(read_cube(tmp_path / "pages.tif"), cube)
    # Pixel-interleaved (chunky) samples: already bands-last.
    tifffile.imwrite(tmp_path / "chunky.tiff", cube, photometric="minisblack", planarconfig="contig")
    np.testing.assert_array_equal(read_cube(tmp_path / "chunky.tiff"), cube)
    # Planar configuration (bands stored as separate planes of one page).
    tifffile.imwrite(tmp_path / "planar.tif", np.ascontiguousarray(cube.transpose(2, 0, 1)), photometric="minisblack", planarconfig="separate")
    np.testing.assert_array_equal(read_cube(tmp_path / "planar.tif"), cube)


def test_zip_member(tmp_path, cube):
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.ascontiguousarray(cube.transpose(2, 0, 1)).astype(np.int16), photometric="minisblack")
    with zipfile.ZipFile(tmp_path / "Archive.zip", "w") as zf:
        zf.writestr("Archive/dc.tif", buf.getvalue())
        zf.writestr("Archive/readme.txt", "hello")
    out = read_cube(tmp_path / "Archive.zip", "Archive/dc.tif")
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out, cube.astype(np.int16))
    with pytest.raises(DatasetFormatError, match="no member"):
        read_cube(tmp_path / "Archive.zip", "Archive/other.tif")


def test_bad_user_files(tmp_path, cube):
    np.save(tmp_path / "flat.npy", cube[:, :, 0])
    with pytest.raises(DatasetFormatError, match="3-D"):
        read_cube(tmp_path / "flat.npy")
    np.save(tmp_path / "empty.npy", np.zeros((0, 3, 2), np.uint16))
    with pytest.raises(DatasetFormatError, match="empty"):
        read_cube(tmp_path / "empty.npy")
    (tmp_path / "junk.mat").write_bytes(b"this is not a MATLAB file" * 10)
    with pytest.raises(DatasetFormatError):
        read_cube(tmp_path / "junk.mat")
    (tmp_path / "junk.tif").write_bytes(b"II*\0garbage")
    with pytest.raises(DatasetFormatError):
        read_cube(tmp_path / "junk.tif")
    (tmp_path / "cube.xyz").write_bytes(b"")
    with pytest.raises(DatasetFormatError, match="format"):
        read_cube(tmp_path / "cube.xyz")
    with pytest.raises(UnknownDatasetError, match="no such file"):
        datasets.load(str(tmp_path / "missing.npy"))
    with pytest.raises(InvalidParameterError, match="unknown option"):
        np.save(tmp_path / "ok.npy", cube)
        datasets.load(f"{tmp_path / 'ok.npy'}[bands=3]")


def test_user_file_crop(tmp_path, cube):
    np.save(tmp_path / "c.npy", cube)
    scene = datasets.load(f"{tmp_path / 'c.npy'}[crop=1:4,2:5]")
    assert scene.name == "c.npy[crop=1:4,2:5]" and scene.crop == (1, 4, 2, 5)
    np.testing.assert_array_equal(scene.cube, cube[1:4, 2:5])


def test_shared_jasper_ridge_as_user_file():
    path = SHARED_DATA / "jasper_ridge.npy"
    if not path.exists():
        pytest.skip(f"{path} not present")
    scene = datasets.load(str(path))
    assert scene.cube.shape == (100, 100, 198) and scene.cube.dtype == np.uint16
    assert scene.native_bits == 16
