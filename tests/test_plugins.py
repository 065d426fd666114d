"""Codec plugins: a distribution declaring an ``hsibench.codecs`` entry point, installed into a temporary folder.

The plugin (tests/plugin_demo/hsibench_demo_codec) is copied into ``tmp_path`` with a
``*.dist-info`` folder holding its ``entry_points.txt``, exactly what ``pip install`` leaves
in site-packages; subprocesses with that folder on ``PYTHONPATH`` see it as installed.  The
codec then shows up in ``codecs list``, passes ``codecs check``, and runs through ``hsibench
run`` in spawned ``--jobs`` workers (which must load the plugin themselves).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).parent / "plugin_demo" / "hsibench_demo_codec"
REPO = Path(__file__).resolve().parents[1]


def install(site: Path, entry_points: str) -> dict:
    """Put the demo package and a dist-info with ``entry_points`` into ``site``; the env that sees it."""
    shutil.copytree(DEMO, site / DEMO.name)
    info = site / "hsibench_demo_codec-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hsibench-demo-codec\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(REPO), os.environ.get("PYTHONPATH", "")]))
    return env


def hsibench(env: dict, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hsibench", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_plugin_codec_is_listed_checked_and_run_in_workers(tmp_path):
    env = install(tmp_path / "site", "[hsibench.codecs]\nquant = hsibench_demo_codec:Quant\n")
    listed = hsibench(env, "codecs", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "quant: uniform scalar quantiser + zlib (example plugin) [plugin: hsibench-demo-codec 0.1]" in listed.stdout
    assert "level (int, default 9)" in listed.stdout

    checked = hsibench(env, "codecs", "check", "quant", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "quant: 7 of 7 contract checks passed" in checked.stdout

    out = tmp_path / "run"
    ran = hsibench(env, "run", "--codecs", "quant,pca", "--dataset", "synthetic[rows=24,cols=24,bands=12]",
                   "--rates", "1,2", "--jobs", "2", "--out", str(out), "--no-progress", "--no-warmup", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "4 run, 0 already recorded, 0 failed" in ran.stdout
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    # workers append in the order they finish: sort by rate
    quant = sorted((r for r in records if r["codec"]["name"] == "quant"), key=lambda r: r["target_bpppb"])
    assert len(quant) == 2 and all(r["status"] == "ok" and r["codec"]["revision"] == 1 for r in quant)
    assert all(r["worker"]["jobs"] == 2 for r in quant)  # ran in a spawned worker process
    assert all(r["bpppb"] <= r["target_bpppb"] for r in quant)
    assert quant[0]["metrics"]["psnr"] < quant[1]["metrics"]["psnr"]


def test_broken_plugins_are_left_out_with_the_reason(tmp_path):
    env = install(tmp_path / "site", "[hsibench.codecs]\nwrong_name = hsibench_demo_codec:Quant\n"
                                     "missing = hsibench_demo_codec:Nope\npca = demo_clash:Clash\n")
    (tmp_path / "site" / "demo_clash.py").write_text(
        "from hsibench_demo_codec import Quant\n\nclass Clash(Quant):\n    name = 'pca'\n")
    listed = hsibench(env, "codecs", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "wrong_name: [plugin left out]" in listed.stdout and "make them equal" in listed.stdout
    assert "missing: [plugin left out]" in listed.stdout and "AttributeError" in listed.stdout
    assert "pca: [plugin left out]" in listed.stdout and "already registered" in listed.stdout
    assert "pca: spectral KLT" in listed.stdout  # the built-in one stays


def test_the_readme_example_codec_passes_the_contract(tmp_path):
    """The codec of README's "Benchmark your own codec", exactly as printed, registered and checked."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("# mypkg/codec.py")
    source = text[start:text.index("```", start)]
    (tmp_path / "readme_codec.py").write_text(source)
    code = ("import readme_codec; from hsibench import codecs; from hsibench.codecs import contract; "
            "codecs.register(readme_codec.Quant); "
            "bad = [(n, p) for n, p in contract.check('quant') if p]; print(bad); assert not bad")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
