"""Where each built-in codec lives: its name and the module whose import registers it.

The registry (:mod:`.base`) imports a codec's module on the first lookup of its name, so
``import hsibench.codecs`` imports no codec module (and none of their kernels): a process that
encodes with speck never loads the neural codecs.  ``tests/test_codec_catalog.py`` checks that
this table and the ``@register`` decorators agree.
"""

BUILTIN: dict[str, str] = {
    "ccsds123": "hsibench.codecs.predictive.ccsds123.codec",
    "coolchic": "hsibench.codecs.neural.coolchic.codec",
    "gnn": "hsibench.codecs.neural.gnn.codec",
    "jpeg2000": "hsibench.codecs.wavelet.jpeg2000",
    "pca": "hsibench.codecs.transform.pca",
    "pca_jpeg2000": "hsibench.codecs.transform.pca_jpeg2000",
    "siren": "hsibench.codecs.neural.siren.codec",
    "speck": "hsibench.codecs.wavelet.speck",
    "spiht": "hsibench.codecs.wavelet.spiht",
}

FAMILIES: tuple[str, ...] = ("hsibench.codecs.neural", "hsibench.codecs.predictive", "hsibench.codecs.transform",
                             "hsibench.codecs.wavelet")
