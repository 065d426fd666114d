"""Sensor products: wavelengths, fill values and masks, bad bands, windowed reads; metrics over valid pixels."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from hsibench import datasets, metrics
from hsibench.datasets.readers import open_product
from hsibench.errors import DatasetFormatError, InvalidCubeError, InvalidParameterError
from hsibench.plots import rgb_bands

from .conftest import make_cube

FILL = -9999.0


def write_envi(folder, cube, *, interleave="bsq", header_extra=""):
    """An ENVI .hdr + .img pair (float32 data), the way a sensor product is delivered."""
    layout = {"bsq": (2, 0, 1), "bil": (0, 2, 1), "bip": (0, 1, 2)}[interleave]
    (folder / "flight.img").write_bytes(np.ascontiguousarray(cube.transpose(layout)).astype("<f4").tobytes())
    rows, cols, bands = cube.shape
    (folder / "flight.hdr").write_text(
        f"ENVI\nsamples = {cols}\nlines = {rows}\nbands = {bands}\nheader offset = 0\ndata type = 4\n"
        f"interleave = {interleave}\nbyte order = 0\n{header_extra}")
    return folder / "flight.hdr"


@pytest.fixture
def product_cube():
    """A float cube with fill values outside a diagonal 'flight line', 4 bands."""
    cube = make_cube(20, 16, 4, dtype=np.float32)
    rows, cols = np.mgrid[0:20, 0:16]
    outside = cols > rows + 6  # the upper-right corner is outside the swath
    cube[outside] = FILL
    return cube, ~outside


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
def test_envi_product_loads_with_wavelengths_mask_and_bad_bands(tmp_path, product_cube, interleave):
    cube, valid = product_cube
    hdr = write_envi(tmp_path, cube, interleave=interleave, header_extra=(
        "wavelength units = Micrometers\nwavelength = {0.46, 0.55,\n 0.64, 1.38}\n"
        "bbl = {1, 1, 1, 0}\ndata ignore value = -9999\n"))
    scene = datasets.load(str(hdr))
    np.testing.assert_allclose(scene.wavelengths, [460, 550, 640, 1380])
    np.testing.assert_array_equal(scene.mask, valid)
    np.testing.assert_array_equal(scene.cube, cube)  # codecs still get the whole cube
    assert scene.valid_pixels == int(valid.sum())
    dropped = datasets.load(f"{hdr}[drop_bad_bands=true,crop=2:12,4:12]")
    assert dropped.shape == (10, 8, 3) and dropped.name == "flight.hdr[crop=2:12,4:12,drop_bad_bands=true]"
    np.testing.assert_array_equal(dropped.cube, cube[2:12, 4:12, :3])
    np.testing.assert_allclose(dropped.wavelengths, [460, 550, 640])
    np.testing.assert_array_equal(dropped.mask, valid[2:12, 4:12])
    # a crop inside the swath has no invalid pixel: no mask at all
    assert datasets.load(f"{hdr}[crop=10:20,0:8]").mask is None


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
def test_envi_windows(tmp_path, product_cube, interleave):
    cube, _ = product_cube
    product = open_product(write_envi(tmp_path, cube, interleave=interleave))
    assert product.windowed
    for window in ((1, 3, 2, 5), (0, 20, 0, 16), (19, 20, 15, 16)):
        r0, r1, c0, c1 = window
        np.testing.assert_array_equal(product.read(window), cube[r0:r1, c0:c1])
    with pytest.raises(InvalidParameterError, match="outside the cube"):
        product.read((0, 30, 0, 4))


@pytest.mark.parametrize("units, values, expected", [
    ("Nanometers", "400, 500", [400, 500]), ("", "0.4, 2.5", [400, 2500]), ("Unknown", "400, 2500", [400, 2500]),
    ("micron", "1, 2", [1000, 2000]),
])
def test_envi_wavelength_units(tmp_path, units, values, expected):
    cube = make_cube(8, 8, 2, dtype=np.float32)
    extra = f"wavelength = {{{values}}}\n" + (f"wavelength units = {units}\n" if units else "")
    np.testing.assert_allclose(datasets.load(str(write_envi(tmp_path, cube, header_extra=extra))).wavelengths, expected)


@pytest.mark.parametrize("extra, message", [
    ("wavelength = {400, 500, 600}\n", "3 wavelengths for 2 bands"),
    ("wavelength = {400, x}\n", "not a list of numbers"),
    ("wavelength = {400, 500}\nwavelength units = Degrees\n", "not a length unit"),
    ("bbl = {1}\n", "1 bad-band flags"),
    ("data ignore value = {1, 2}\n", "one number"),
])
def test_envi_bad_metadata(tmp_path, extra, message):
    with pytest.raises(DatasetFormatError, match=message):
        datasets.load(str(write_envi(tmp_path, make_cube(8, 8, 2, dtype=np.float32), header_extra=extra)))


def test_drop_bad_bands_needs_a_bad_band_list(tmp_path, product_cube):
    hdr = write_envi(tmp_path, product_cube[0])
    with pytest.raises(InvalidParameterError, match="bad-band list"):
        datasets.load(f"{hdr}[drop_bad_bands=true]")


def test_all_fill_is_an_error(tmp_path):
    cube = np.full((8, 8, 2), FILL, np.float32)
    with pytest.raises(DatasetFormatError, match="no valid pixel"):
        datasets.load(str(write_envi(tmp_path, cube, header_extra="data ignore value = -9999\n")))


def test_cropping_a_large_envi_file_reads_only_the_window(tmp_path):
    """A 1 GiB (sparse) ENVI file cropped in a fresh process: its peak RSS stays far below the file's size."""
    samples, lines, bands = 1024, 4096, 128  # uint16: 1 GiB
    with open(tmp_path / "big.img", "wb") as fh:
        fh.truncate(samples * lines * bands * 2)
    (tmp_path / "big.hdr").write_text(f"ENVI\nsamples = {samples}\nlines = {lines}\nbands = {bands}\n"
                                      "data type = 12\ninterleave = bsq\nbyte order = 0\n")
    # peak RSS of the child's own image: Linux's VmHWM (ru_maxrss would carry the forking pytest
    # process's peak over exec, hundreds of MB late in a full run), ru_maxrss elsewhere
    code = ("import resource, sys; from hsibench import datasets; "
            "s = datasets.load(sys.argv[1] + '[crop=1000:1064,200:264]'); "
            "hwm = [int(x.split()[1]) for x in open('/proc/self/status') if x.startswith('VmHWM:')] "
            "if sys.platform.startswith('linux') else []; "
            "print(s.shape, hwm[0] // 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "big.hdr")], capture_output=True, text=True,
                         check=True).stdout.split(")")
    assert out[0] == "(64, 64, 128"
    assert int(out[1]) < 400, f"peak RSS {out[1]} MB for a 64 x 64 crop of a 1 GiB file"


def test_geotiff_nodata_wavelengths_and_windowed_reads(tmp_path, product_cube):
    cube, valid = product_cube
    items = "".join(f'<Item name="wavelength" sample="{i}">{w}</Item>' for i, w in enumerate((460, 550, 640, 860)))
    meta = f"<GDALMetadata>{items}<Item name=\"wavelength_units\">nm</Item></GDALMetadata>"
    tifffile.imwrite(tmp_path / "scene.tif", cube, photometric="minisblack", planarconfig="contig",
                     extratags=[(42113, "s", 0, "-9999", True), (42112, "s", 0, meta, True)])
    product = open_product(tmp_path / "scene.tif")
    assert product.windowed and product.nodata == FILL
    scene = datasets.load(str(tmp_path / "scene.tif"))
    np.testing.assert_array_equal(scene.mask, valid)
    np.testing.assert_allclose(scene.wavelengths, [460, 550, 640, 860])
    np.testing.assert_array_equal(datasets.load(f"{tmp_path / 'scene.tif'}[crop=3:9,2:6]").cube, cube[3:9, 2:6])
    # compressed: decoded whole, same values
    tifffile.imwrite(tmp_path / "packed.tif", cube, photometric="minisblack", planarconfig="contig", compression="zlib")
    assert not open_product(tmp_path / "packed.tif").windowed
    np.testing.assert_array_equal(datasets.load(str(tmp_path / "packed.tif")).cube, cube)


def test_npy_and_mat_take_nodata_mask_and_wavelengths(tmp_path, product_cube):
    cube, valid = product_cube
    np.save(tmp_path / "c.npy", cube)
    ragged = valid.copy()
    ragged[0, 0] = False
    np.save(tmp_path / "valid.npy", ragged)
    np.savetxt(tmp_path / "wl.txt", [450, 550, 650, 750])
    scene = datasets.load(f"{tmp_path / 'c.npy'}[nodata=-9999,mask=valid.npy,wavelengths=wl.txt,crop=0:10,0:16]"
                          .replace("valid.npy", str(tmp_path / "valid.npy")).replace("wl.txt", str(tmp_path / "wl.txt")))
    np.testing.assert_array_equal(scene.mask, (valid & ragged)[:10])
    np.testing.assert_allclose(scene.wavelengths, [450, 550, 650, 750])
    assert scene.name == "c.npy[crop=0:10,0:16,nodata=-9999,wavelengths=wl.txt,mask=valid.npy]"
    from_python = datasets.load(tmp_path / "c.npy", mask=valid, wavelengths="400:700")
    np.testing.assert_array_equal(from_python.mask, valid)
    np.testing.assert_allclose(from_python.wavelengths, [400, 500, 600, 700])
    with pytest.raises(InvalidParameterError, match="whole image"):
        datasets.load(tmp_path / "c.npy", mask=valid[:5])
    with pytest.raises(InvalidParameterError, match="own files"):
        datasets.load("synthetic", mask=valid)


def test_synthetic_has_wavelengths_and_drops_its_bad_bands():
    scene = datasets.load("synthetic[rows=16,cols=16,bands=64]")
    assert scene.wavelengths[0] == 400 and scene.wavelengths[-1] == 2500 and scene.mask is None
    dropped = datasets.load("synthetic[rows=16,cols=16,bands=64,drop_bad_bands=true]")
    bbl = datasets.synthetic_bad_bands(64)
    assert dropped.shape[2] == int(bbl.sum()) < 64
    assert not np.any((dropped.wavelengths > 1340) & (dropped.wavelengths < 1420))  # the 1380 nm band is gone


def test_psnr_with_a_mask_ignores_fill_values(product_cube):
    """Independent computation: numpy on the valid pixels only (fill values neither in the errors nor the peak)."""
    cube, valid = product_cube
    rng = np.random.default_rng(3)
    decoded = cube + rng.normal(0, 2, cube.shape).astype(np.float32)
    decoded[~valid] = 0.0  # a codec's wild guess at the fill region: must not count
    x, y = cube[valid].astype(np.float64), decoded[valid].astype(np.float64)
    expected = 10 * math.log10((x.max() - x.min()) ** 2 / np.mean((x - y) ** 2))
    r = metrics.data_range_of(cube, mask=valid)
    assert r == x.max() - x.min() and r < 9999
    assert metrics.psnr(cube, decoded, data_range=r, mask=valid) == pytest.approx(expected, rel=1e-12)
    out = metrics.evaluate(cube, decoded, native_bits=32, with_band_psnr=True, mask=valid)
    assert out["psnr"] == pytest.approx(expected, rel=1e-12) and out["scored_voxels"] == x.size
    assert out["max_abs_error"] == pytest.approx(np.abs(x - y).max())
    assert out["snr"] == pytest.approx(10 * math.log10(x.var() / np.mean((x - y) ** 2)))
    assert metrics.evaluate(cube, decoded, native_bits=32)["psnr"] < expected - 20  # unmasked, the fills dominate
    with pytest.raises(InvalidCubeError, match="no pixel"):
        metrics.mse(cube, decoded, mask=np.zeros_like(valid))


def test_masked_ssim_averages_windows_inside_the_valid_pixels():
    x = make_cube(30, 30, 3, dtype=np.float32)
    y = x + np.random.default_rng(0).normal(0, 3, x.shape).astype(np.float32)
    mask = np.ones((30, 30), bool)
    r = metrics.data_range_of(x)
    assert metrics.ssim(x, y, data_range=r, mask=mask) == pytest.approx(metrics.ssim(x, y, data_range=r))
    garbage = y.copy()
    garbage[:, 20:] = 0
    mask[:, 14:] = False  # windows centred at columns <= 10 see only valid pixels
    assert metrics.ssim(x, garbage, data_range=r, mask=mask) == pytest.approx(
        metrics.ssim(x[:, :14], y[:, :14], data_range=r))


def test_a_masked_scene_runs_and_records_how_many_voxels_were_scored(tmp_path, product_cube):
    from hsibench import runner
    from hsibench.results import flatten, load_records

    cube, valid = product_cube
    hdr = write_envi(tmp_path, cube, header_extra="data ignore value = -9999\nwavelength = {460, 550, 640, 860}\n")
    np.save(tmp_path / "plain.npy", cube)
    runner.run(dataset_specs=[str(hdr), str(tmp_path / "plain.npy")], codec_specs=["pca"], rates=[4.0],
               out=tmp_path / "run", progress=False, warmup=False)
    masked, plain = sorted(load_records(tmp_path / "run"), key=lambda r: r["dataset"]["name"])
    assert masked["status"] == plain["status"] == "ok"
    assert masked["dataset"]["valid_pixels"] == int(valid.sum()) and "valid_pixels" not in plain["dataset"]
    assert masked["dataset"]["wavelengths_nm"] == [460, 550, 640, 860]
    assert masked["metrics"]["scored_voxels"] == int(valid.sum()) * 4
    assert plain["metrics"]["scored_voxels"] == cube.size
    assert flatten(masked)["scored_voxels"] == int(valid.sum()) * 4
    assert masked["metrics"]["data_range"] < 9999 < plain["metrics"]["data_range"]
    assert masked["key"] != plain["key"]
    # a record written before masks existed: every voxel was scored
    old = json.loads(json.dumps(plain))
    del old["metrics"]["scored_voxels"]
    assert flatten(old)["scored_voxels"] == cube.size


def test_false_colour_bands_by_wavelength():
    wl = np.linspace(400, 2500, 64)
    bands, how = rgb_bands(64, wl)
    assert how == "by wavelength" and [round(wl[b]) for b in bands] == [633, 533, 467]
    assert rgb_bands(64, None) == ((47, 32, 16), "by position")
    assert rgb_bands(10, np.linspace(900, 2500, 10))[1] == "by position"  # no visible bands
