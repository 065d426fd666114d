"""Hostile inputs to encode and to the CLI: each gets a clear hsibench error, never a crash or garbage.

(test_contract.py covers NaN, 2-D and empty cubes, rates 0, -1, NaN and above the bit depth,
and constant cubes; these are the rest of issue 11's list.)
"""

from __future__ import annotations

import numpy as np
import pytest

from hsibench import codecs
from hsibench.cli import main
from hsibench.errors import InvalidCubeError, InvalidParameterError, InvalidRateError

from .conftest import make_cube
from .contract_specs import CONTRACT_SPECS


def _bad_cubes() -> dict[str, tuple[np.ndarray, type]]:
    cube = make_cube(12, 10, 6)
    inf = cube.astype(np.float32)
    inf[1, 2, 3] = -np.inf
    return {
        "inf": (inf, InvalidCubeError),
        "4-D": (cube[None], InvalidCubeError),
        "1-D": (cube.ravel(), InvalidCubeError),
        "bool": (cube > 1000, InvalidCubeError),
        "complex": (cube.astype(np.complex64), InvalidCubeError),
        "object": (cube.astype(object), InvalidCubeError),
        "beyond float32": (cube.astype(np.float64) * 1e300, InvalidCubeError),
        "empty bands": (cube[:, :, :0], InvalidCubeError),
        # one voxel, or one pixel: no header fits any rate up to the bit depth, gnn needs 2x2 pixels,
        # ccsds123's default prediction needs 2 columns (its message says which settings do not)
        "one voxel": (cube[:1, :1, :1], (InvalidRateError, InvalidCubeError, InvalidParameterError)),
        "one pixel": (cube[:1, :1, :], (InvalidRateError, InvalidCubeError, InvalidParameterError)),
    }


@pytest.mark.parametrize("name", sorted(CONTRACT_SPECS))
def test_bad_cubes_get_a_clear_error(name):
    codec = codecs.get(CONTRACT_SPECS[name]["spec"])
    for what, (cube, error) in _bad_cubes().items():
        with pytest.raises(error) as exc:
            codec.encode(cube, bpppb=8.0)
        assert len(str(exc.value)) > 20, (what, str(exc.value))  # a sentence, not a bare value


@pytest.mark.parametrize("name", sorted(CONTRACT_SPECS))
def test_bad_rates_get_a_clear_error(name):
    codec = codecs.get(CONTRACT_SPECS[name]["spec"])
    cube = make_cube(12, 10, 6)
    for rate in (float("inf"), float("-inf"), -0.0, -1e-9, None, "fast", [1.0]):
        with pytest.raises(InvalidRateError, match="rate"):
            codec.encode(cube, bpppb=rate)


def test_cli_rejects_bad_rates_and_bad_cube_files(tmp_path, capsys):
    cube = make_cube(12, 10, 6).astype(np.float32)
    files = {"flat": cube[:, :, 0], "bool": cube > 1000, "complex": cube.astype(np.complex64), "empty": cube[:0]}
    for stem, arr in files.items():
        np.save(tmp_path / f"{stem}.npy", arr)
    base = ["run", "--codecs", "pca", "--out", str(tmp_path / "run"), "--no-progress"]
    for rates in ("nan", "inf", "-1", "1e400", "0.5,-2", ""):
        assert main(base + ["--dataset", "synthetic[rows=8,cols=8,bands=4]", "--rates", rates]) == 2, rates
        err = capsys.readouterr().err.strip()
        assert err.startswith("hsibench: error:") and "\n" not in err and "rate" in err, err
    for stem in files:  # a file that is not a cube: the command was right, reading failed (exit 1)
        assert main(base + ["--dataset", str(tmp_path / f"{stem}.npy"), "--rates", "1"]) == 1, stem
        err = capsys.readouterr().err.strip()
        assert err.startswith("hsibench: error:") and "\n" not in err, err
    nan = cube.copy()
    nan[0, 0, 0] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    assert main(base + ["--dataset", str(tmp_path / "nan.npy"), "--rates", "1"]) == 1  # recorded as a failed task
    captured = capsys.readouterr()
    assert "NaN or infinite" in captured.out and "NaN or infinite" in captured.err
