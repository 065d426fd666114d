"""The same contract for every registered codec (hsibench.codecs.contract): round trip, rate, quality,
bytes alone, determinism, bad bytes, bad inputs, constant cube."""

from __future__ import annotations

import pytest

from hsibench import codecs
from hsibench.codecs import contract

from .conftest import make_cube
from .contract_specs import CONTRACT_SPECS


def test_every_codec_has_contract_spec():
    assert sorted(CONTRACT_SPECS) == codecs.names()


@pytest.fixture(scope="module", params=sorted(CONTRACT_SPECS))
def encoded(request):
    """Encode the tiny cube once per codec and rate; share the streams between the checks."""
    entry = CONTRACT_SPECS[request.param]
    cube = make_cube()
    codec = codecs.get(entry["spec"])
    streams = [codec.encode(cube, bpppb=r) for r in entry["rates"]]
    return entry, cube, codec, streams


def test_round_trip_shape_dtype_and_rate(encoded):
    entry, cube, codec, streams = encoded
    contract.check_round_trip(codec, cube, entry["rates"], streams)


def test_quality_rises_with_rate(encoded):
    entry, cube, codec, streams = encoded
    contract.check_quality_rises(codec, cube, streams)


def test_decode_from_bytes_alone(encoded):
    entry, cube, codec, streams = encoded
    contract.check_bytes_alone(entry["spec"], codec, streams)


def test_same_inputs_same_bytes(encoded):
    entry, cube, codec, streams = encoded
    contract.check_deterministic(entry["spec"], cube, entry["rates"][0], streams[0])


def test_garbage_bytes_rejected(encoded):
    entry, cube, codec, streams = encoded
    contract.check_garbage_rejected(codec, streams)


def test_bad_cubes_and_rates_rejected(encoded):
    entry, cube, codec, _ = encoded
    contract.check_bad_inputs(codec, cube)


def test_constant_cube(encoded):
    entry, cube, codec, _ = encoded
    contract.check_constant(codec, cube, entry["rates"][-1])


def test_the_checks_can_fail():
    """A codec that breaks each rule is caught by the check for it (so the suite above can fail)."""
    import numpy as np

    cube = make_cube()
    codec = codecs.get("pca")
    streams = [codec.encode(cube, bpppb=r) for r in (0.5, 2.0)]
    with pytest.raises(contract.ContractViolation, match="exceeds the target"):
        contract.check_round_trip(codec, cube, [0.25, 1.0], streams)
    with pytest.raises(contract.ContractViolation, match="does not rise"):
        contract.check_quality_rises(codec, cube, streams[::-1])

    class Lenient:  # decodes anything to zeros
        def secrets(self):
            return {}

        def decode(self, data, **_):
            return np.zeros(cube.shape, np.float32)

    with pytest.raises(contract.ContractViolation, match="returned a cube"):
        contract.check_garbage_rejected(Lenient(), streams)
    with pytest.raises(contract.ContractViolation, match="does not decode to its value"):
        contract.check_constant(type("C", (Lenient,), {"encode": lambda self, c, bpppb: b""})(), cube, 1.0)
