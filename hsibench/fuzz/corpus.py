"""Valid streams to mutate: a few encodings per codec, covering its stream variants.

The classical codecs code a 32 x 32 x 16 uint16 synthetic cube (16 k voxels, the cube of
issue 11), and a float32 (int16 for ccsds123) variant; the trained codecs (gnn, siren,
coolchic) a 16 x 16 x 8 cube with a few training epochs, so that building their corpus takes
seconds.  Each codec gets streams of every shape its format has
(arithmetic-coded and raw bits, packet and dyadic trees, empty payloads of constant cubes,
float32 / float16 / 8-bit weights, pruning, tiles, a keyed latent, several images in one
network; siren's three weight precisions, coolchic's linear and MLP synthesis and a near-empty
latent stream; CCSDS 123 lossless and near-lossless, absolute and relative limits, sample
representatives, BIP, BIL and BSQ orders, signed samples, sample- and block-adaptive
coders with zero-block runs and short segments), because a mutation can only reach
the decoder paths its base stream takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..datasets.synthetic import synthetic

__all__ = ["CORPUS", "Base", "build"]


@dataclass(frozen=True)
class Base:
    """How to make one valid stream: codec spec, rate, cube variant, decode method and secrets."""

    spec: str
    bpppb: float
    cube: str = "u16"  # "u16", "i16", "f32" or "const"
    method: str = "decode"  # or "decode_images" (gnn: several images in one network)
    secrets: dict[str, Any] = field(default_factory=dict)


_GNN = "gnn[epochs=5,progress=false,threads=1,prune_rounds=1"
_SIREN = "siren[epochs=5,progress=false,threads=1,depth=2"
_COOLCHIC = "coolchic[epochs=4,progress=false,threads=1"
TRAINED = ("gnn", "siren", "coolchic")  # coded on a 16 x 16 x 8 cube
CORPUS: dict[str, list[Base]] = {
    "speck": [Base("speck", 0.25), Base("speck", 1.0), Base("speck[ac=false,kind=dyadic]", 1.0),
              Base("speck", 2.0, "f32"), Base("speck", 1.0, "const")],
    "spiht": [Base("spiht", 0.25), Base("spiht", 1.0), Base("spiht[ac=false,kind=dyadic]", 1.0),
              Base("spiht", 2.0, "f32"), Base("spiht", 1.0, "const")],
    "pca": [Base("pca", 0.5), Base("pca", 2.0), Base("pca[components=0]", 1.0), Base("pca", 1.0, "f32")],
    "jpeg2000": [Base("jpeg2000", 1.0), Base("jpeg2000[spectral_levels=0,resolutions=2]", 0.5),
                 Base("jpeg2000", 1.0, "f32")],
    "pca_jpeg2000": [Base("pca_jpeg2000", 1.0), Base("pca_jpeg2000[components=0]", 0.5),
                     Base("pca_jpeg2000", 2.0, "f32")],
    "gnn": [Base(_GNN + "]", 8.0), Base(_GNN + ",weights=float16,prune=0.5]", 16.0),
            Base(_GNN + ",weights=float32,blocks=2]", 16.0, "f32"),
            Base(_GNN + ",tile=8,overlap=2,key=7]", 8.0, secrets={"key": 7}),
            Base(_GNN + "]", 8.0, method="decode_images"), Base(_GNN + "]", 8.0, "const")],
    "siren": [Base(_SIREN + "]", 8.0), Base(_SIREN + ",weights=int8,width=12]", 4.0),
              Base(_SIREN + ",weights=float32,width=6]", 8.0, "f32"), Base(_SIREN + "]", 8.0, "const")],
    "coolchic": [Base(_COOLCHIC + "]", 4.0), Base(_COOLCHIC + ",hidden=4,levels=2]", 8.0, "f32"),
                 Base(_COOLCHIC + ",k=2,arm=4]", 2.5), Base(_COOLCHIC + "]", 4.0, "const")],
    "ccsds123": [Base("ccsds123[coder=sample]", 2.5), Base("ccsds123[max_error=0,coder=sample]", 16.0),
                 Base("ccsds123[order=bsq,P=0,coder=sample]", 3.0, "i16"),
                 Base("ccsds123[order=bil,max_error=3,relative_error=40,theta=2,phi=1,psi=1,coder=sample]", 8.0),
                 Base("ccsds123[prediction=reduced,local_sum=column,narrow=true,coder=sample]", 2.0),
                 Base("ccsds123", 4.0, "const"), Base("ccsds123[coder=block,J=8]", 0.5),
                 Base("ccsds123[max_error=0,coder=block,J=64]", 16.0),
                 Base("ccsds123[coder=block,J=16,ref_interval=5,order=bsq]", 1.0, "i16")],
}


def cube_for(codec: str, variant: str) -> np.ndarray:
    """The cube a base stream codes (deterministic)."""
    shape = (16, 16, 8) if codec in TRAINED else (32, 32, 16)
    cube = synthetic(*shape, seed=11)
    if variant == "f32":
        return (cube.astype(np.float32) - 2000.0) / 3.0
    if variant == "i16":
        return (cube.astype(np.int32) - 3000).astype(np.int16)
    if variant == "const":
        return np.full(shape, 1234, dtype=np.uint16)
    return cube


def build(codec: str) -> list[tuple[Base, bytes]]:
    """Encode the codec's base streams: ``[(base, stream), ...]``."""
    from .. import codecs

    out = []
    for base in CORPUS[codec]:
        c = codecs.get(base.spec)
        cube = cube_for(codec, base.cube)
        if base.method == "decode_images":
            data = c.encode_images([cube, cube[::-1].copy()], bpppb=base.bpppb)
        else:
            data = c.encode(cube, bpppb=base.bpppb)
        out.append((base, data))
    return out
