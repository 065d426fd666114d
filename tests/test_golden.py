"""Golden streams: a codec's bytes change only together with its ``revision`` (see tests/golden.py)."""

from __future__ import annotations

import hashlib

import pytest

from hsibench import codecs

from . import golden

GOLDEN = golden.load()
HOW = "python tests/golden.py --update {name}"


def test_every_codec_declares_an_integer_revision_and_has_a_golden_stream():
    for name in codecs.names():
        rev = codecs.codec_class(name).revision
        assert isinstance(rev, int) and not isinstance(rev, bool) and rev >= 1, name
        assert name in golden.SPECS and name in GOLDEN, (
            f"codec '{name}' has no golden stream: add a small spec for it to SPECS in tests/golden.py, "
            f"then run {HOW.format(name=name)}")


@pytest.mark.parametrize("name", sorted(golden.SPECS))
def test_stream_bytes_match_the_golden_hash_of_the_codec_revision(name):
    if name not in codecs.names():
        pytest.skip(f"codec {name} is not registered here")
    if golden.LIBRARY.get(name) == "torch":
        pytest.importorskip("torch")
    pinned = GOLDEN[name]
    lib = golden.LIBRARY.get(name)
    if lib and pinned.get("library", {}).get(lib) != golden.library_version(name):
        pytest.skip(f"{name}'s golden stream was made with {lib} {pinned['library'][lib]}; "
                    f"{lib} {golden.library_version(name)} is installed (its kernels shape these bytes)")
    problem = golden.check(name, golden.stream(name), codecs.codec_class(name).revision, pinned,
                           golden.machine_of(name))
    if problem is not None and problem.startswith("UNPINNED"):
        pytest.skip(problem)
    assert problem is None, problem


def test_changed_bytes_without_a_revision_bump_fail_with_what_to_do():
    pinned = GOLDEN["speck"]
    data = golden.stream("speck")
    assert golden.check("speck", data, pinned["revision"], pinned) is None
    changed = golden.check("speck", data[:-1] + bytes([data[-1] ^ 1]), pinned["revision"], pinned)
    assert "bump `revision`" in changed and "python tests/golden.py --update speck" in changed
    bumped = golden.check("speck", data, pinned["revision"] + 1, pinned)
    assert "regenerate" in bumped and "python tests/golden.py --update speck" in bumped


def test_the_golden_cube_is_integer_arithmetic_only():
    cube = golden.golden_cube()
    assert cube.dtype.name == "uint16" and cube.shape == (24, 20, 16)
    assert hashlib.sha256(cube.tobytes()).hexdigest() == GOLDEN["_cube"]["sha256"]


def test_processor_dependent_streams_fail_only_on_a_pinned_machine():
    pinned = {"revision": 2, "bytes": 3, "sha256": hashlib.sha256(b"abc").hexdigest(),
              "machines": {"m1": {"bytes": 3, "sha256": hashlib.sha256(b"abd").hexdigest()}}}
    assert golden.check("coolchic", b"abc", 2, pinned, "m1") is None  # another machine's pinned stream
    assert golden.check("coolchic", b"abd", 2, pinned, "m2") is None
    changed = golden.check("coolchic", b"xyz", 2, pinned, "m1")
    assert "bump `revision`" in changed and hashlib.sha256(b"abd").hexdigest()[:16] in changed
    assert golden.check("coolchic", b"xyz", 2, pinned, "m2").startswith("UNPINNED")
    assert "regenerate" in golden.check("coolchic", b"abc", 3, pinned, "m2")


def test_only_torch_trained_codecs_are_judged_per_machine():
    pytest.importorskip("torch")
    assert golden.kernel_id() == golden.kernel_id() and len(golden.kernel_id()) == 16
    assert golden.machine_of("coolchic") == golden.kernel_id() and golden.machine_of("speck") is None
