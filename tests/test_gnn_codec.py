"""The gnn codec end to end on tiny cubes: keys, tiles, pruning, folding, decoder PSNR, bad input."""

from __future__ import annotations


import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hsibench import codecs  # noqa: E402
from hsibench.codecs.neural.gnn.structure import Geometry, Structure, pruned_count  # noqa: E402
from hsibench.errors import (  # noqa: E402
    CorruptDataError,
    DeviceMemoryError,
    InvalidCubeError,
    InvalidParameterError,
    InvalidRateError,
    KeyRequiredError,
)

from .conftest import make_cube, psnr_of as _psnr  # noqa: E402

# no wall-clock budget: on a loaded machine the quick schedule's 20 s would cut training short
FAST = "epochs=150,progress=false,time_budget_s=100000"


@pytest.fixture(scope="module")
def cube():
    return make_cube(32, 32, 12, seed=3)


def test_decoder_reproduces_recorded_psnr_and_info_is_json(cube):
    import json

    codec = codecs.get(f"gnn[{FAST},log_every=10]")
    data = codec.encode(cube, bpppb=4.0)
    info = codec.info
    json.dumps(info)  # the runner records it
    fresh = codecs.get("gnn")
    assert abs(_psnr(cube, fresh.decode(data)) - info["psnr_decoded"]) < 0.05
    sched = info["schedule"]
    assert info["device"] == "cpu" and info["epochs"] == 150 and sched["policy"] == "quick"
    # "epochs" is the main phase; pruning and fine-tune epochs come on top, and all of them ran
    assert info["epochs_run"]["main"] == sched["epochs"]["main"] == 150
    assert info["epochs_run"] == {k: v for k, v in sched["epochs"].items() if v or k == "main"}
    assert info["curve"][-1][0] == sum(info["epochs_run"].values()) and len(info["curve"][0]) == 4
    assert info["bpppb"] == 8 * len(data) / cube.size <= 4.0
    assert set(info["searched"]) == {"blocks", "channels", "prune", "weights"}
    assert codec.describe_stream(data)["blocks"] == info["structure"]["blocks"]


def test_batchnorm_folding_is_exact_for_one_image():
    from hsibench.codecs.neural.gnn.model import Generator, deployed_forward, fold_batchnorm

    geo, st = Geometry(20, 24, 5), Structure(3, 6, 0.0, "float32")
    torch.manual_seed(0)
    model = Generator(geo, st)
    with torch.no_grad():  # make BN non-trivial
        for bn in model.bns:
            bn.weight.uniform_(0.5, 2)
            bn.bias.uniform_(-0.5, 0.5)
    z = torch.randn(1, geo.latent)
    model.train()
    with torch.no_grad():
        ref = model(z)
    out = deployed_forward(fold_batchnorm(model, z), z, geo, st)
    assert out.shape == (1, 5, 20, 24)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


def test_keyed_stream_needs_the_right_key(cube):
    codec = codecs.get(f"gnn[{FAST},key=987654321,blocks=3,weights=int8]")
    assert codec.config["keyed"] and codec.secrets() == {"key": 987654321}
    data = codec.encode(cube, bpppb=6.0)
    assert b"987654321" not in data and "seed" not in codec.describe_stream(data)
    with pytest.raises(KeyRequiredError):
        codecs.get("gnn").decode(data)
    right = _psnr(cube, codecs.get("gnn").decode(data, key=987654321))
    wrong = _psnr(cube, codecs.get("gnn").decode(data, key=987654322))
    assert right - wrong >= 15, (right, wrong)
    with pytest.raises(InvalidParameterError):
        codecs.get("gnn[keyed=true]")


def test_pruning_removes_the_requested_fraction(cube):
    from hsibench.codecs.neural import storage
    from hsibench.codecs.neural.gnn.structure import layout

    codec = codecs.get(f"gnn[{FAST},blocks=3,channels=4,prune=0.6,weights=float32]")
    data = codec.encode(cube, bpppb=12.0)
    header, payload = codecs.base.unpack(data)
    geo = Geometry(32, 32, 12)
    st = Structure(3, 4, 0.6, "float32")
    fc = storage.decode(payload, layout(geo, st), "float32")[0]
    assert int((fc == 0).sum()) == pruned_count(fc.size, 0.6)
    assert codec.info["epochs_run"]["prune"] > 0


def test_tiles_reassemble_without_seams():
    cube = make_cube(64, 64, 8, seed=5)
    codec = codecs.get("gnn[epochs=300,progress=false,time_budget_s=100000,tile=32,overlap=8,tile_batch=4,blocks=3,channels=12,"
                       "weights=float16]")
    data = codec.encode(cube, bpppb=16.0)
    assert codec.info["tiles"] == 9  # 3 x 3 overlapping 32-pixel tiles cover 64 x 64
    out = codecs.get("gnn").decode(data)
    assert out.shape == cube.shape
    assert abs(_psnr(cube, out) - codec.info["psnr_decoded"]) < 0.05
    assert codec.info["psnr_decoded"] > 30
    # seams: the jump across a tile border is no larger than the jumps elsewhere in the image
    err = np.abs(np.diff(out.astype(np.float64) - cube, axis=0)).mean(axis=(1, 2))
    assert err.max() < 4 * np.median(err)


def test_cube_too_small_for_blocks(cube):
    with pytest.raises(InvalidCubeError, match="blocks"):
        codecs.get(f"gnn[{FAST},blocks=6]").encode(cube, bpppb=8.0)
    with pytest.raises(InvalidCubeError):
        codecs.get(FAST.join(["gnn[", "]"])).encode(cube[:1], bpppb=8.0)


def test_rate_too_low_says_the_smallest_rate(cube):
    with pytest.raises(InvalidRateError, match=r"at least|needs about") as err:
        codecs.get(f"gnn[{FAST}]").encode(cube, bpppb=0.05)
    smallest = float(str(err.value).split("needs about ")[1].split(" bpppb")[0])
    data = codecs.get("gnn[epochs=5,progress=false]").encode(cube, bpppb=smallest * 1.1)
    assert 8 * len(data) / cube.size <= smallest * 1.1


def test_corrupted_bytes_and_bad_secrets(cube):
    codec = codecs.get("gnn[epochs=5,progress=false]")
    data = codec.encode(cube, bpppb=4.0)
    with pytest.raises(CorruptDataError):
        codec.decode(data[:-1])
    bad = bytearray(data)
    bad[-10] ^= 1
    with pytest.raises(CorruptDataError):
        codec.decode(bytes(bad))
    with pytest.raises(InvalidParameterError):
        codec.decode(data, password=1)


def test_device_out_of_memory_message(cube, monkeypatch):
    from hsibench.codecs.neural.gnn import train

    def boom(self, *a, **k):
        raise train.oom_types()[0]("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(train.Trainer, "run", boom)
    with pytest.raises(DeviceMemoryError, match="lower channels.*tile="):
        codecs.get(FAST.join(["gnn[", "]"])).encode(cube, bpppb=4.0)


def test_cuda_request_without_cuda_is_a_clear_error(cube):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(InvalidParameterError, match="CUDA"):
        codecs.get(f"gnn[{FAST},device=cuda]").encode(cube, bpppb=4.0)


def test_import_without_torch_is_lazy():
    import subprocess
    import sys

    code = "import sys, hsibench.codecs as c; assert 'gnn' in c.names(); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_trained_int8_weights_take_at_most_30_percent_of_float32():
    cube = make_cube(64, 64, 16, seed=4)
    sizes, psnrs = {}, {}
    epochs = {"int8": 100}
    for w in ("int8", "float32"):  # float32 gets the int8 run's main epochs: same training, then QAT
        codec = codecs.get(f"gnn[epochs={epochs[w]},progress=false,blocks=3,channels=8,prune=0,weights={w}]")
        codec.encode(cube, bpppb=16.0)
        sizes[w], psnrs[w] = codec.info["payload_bytes"], codec.info["psnr_decoded"]
        epochs["float32"] = codec.info["epochs_run"]["main"]
    assert sizes["int8"] <= 0.30 * sizes["float32"], sizes
    assert psnrs["int8"] >= psnrs["float32"] - 0.3, psnrs


def test_missing_torch_is_a_clear_error(monkeypatch):
    import builtins

    from hsibench.codecs.neural.gnn import codec as gnn_codec
    from hsibench.errors import MissingDependencyError

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(MissingDependencyError, match="torch"):
        gnn_codec._torch()


def test_snapshots_of_the_output_band(cube):
    codec = codecs.get("gnn[epochs=40,progress=false,snapshots=4,snapshot_band=5,blocks=3,channels=4,weights=float32]")
    codec.encode(cube, bpppb=12.0)
    snap = codec.info["snapshots"]
    assert snap["band"] == 5 and snap["tile"] is None and snap["epochs"][0] == 1 and snap["epochs"][-1] == 40
    first, last = (np.asarray(snap["images"][i]) for i in (0, -1))
    assert first.shape == cube.shape[:2]
    truth = cube[:, :, 5].astype(np.float64)
    assert np.abs(last - truth).mean() < np.abs(first - truth).mean()  # it learns


def test_mixed_precision_code_path_on_the_cpu(cube, monkeypatch):
    """The CUDA bfloat16 autocast path, run with CPU autocast (no GPU here): it trains and folds."""
    from hsibench.codecs.neural.gnn import train

    real_init = train.Trainer.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self.amp_dtype = torch.bfloat16

    monkeypatch.setattr(train.Trainer, "__init__", init)
    codec = codecs.get("gnn[epochs=60,progress=false,blocks=3,channels=4,weights=float32]")
    data = codec.encode(cube, bpppb=12.0)
    assert abs(_psnr(cube, codecs.get("gnn").decode(data)) - codec.info["psnr_decoded"]) < 0.05
    assert codec.info["psnr_decoded"] > 20
