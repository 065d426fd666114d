"""The catalog of built-in codecs agrees with the ``@register`` decorators, and lookups import lazily."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

from hsibench.codecs import base, catalog


def _import_every_codec_module() -> None:
    for family in catalog.FAMILIES:
        pkg = importlib.import_module(family)
        for info in pkgutil.walk_packages(pkg.__path__, family + "."):
            importlib.import_module(info.name)


def test_catalog_names_every_registered_codec_and_its_module():
    _import_every_codec_module()
    built_in = {n: cls for n, cls in base._REGISTRY.items() if cls.__module__.startswith("hsibench.")}
    assert sorted(built_in) == sorted(catalog.BUILTIN), "add the codec to hsibench/codecs/catalog.py (or remove it)"
    for name, cls in built_in.items():
        assert cls.__module__ == catalog.BUILTIN[name], f"{name} is registered by {cls.__module__}"


_PROBE = """
import json, sys, hsibench.codecs as c
codec_modules = set({modules!r})
before = sorted(codec_modules & set(sys.modules))
names = c.names()
after_names = sorted(codec_modules & set(sys.modules))
c.get("speck")
print(json.dumps([before, after_names, sorted(codec_modules & set(sys.modules)), names]))
"""


def test_import_and_names_import_no_codec_module_and_get_imports_only_its_family():
    out = subprocess.run([sys.executable, "-c", _PROBE.format(modules=sorted(catalog.BUILTIN.values()))],
                         capture_output=True, text=True, check=True).stdout.strip()
    before, after_names, after_get, names = json.loads(out.splitlines()[-1])
    assert before == [] and after_names == []
    assert "hsibench.codecs.wavelet.speck" in after_get
    assert not any(m.startswith("hsibench.codecs.neural") for m in after_get)
    assert sorted(catalog.BUILTIN) == [n for n in names if n in catalog.BUILTIN]
