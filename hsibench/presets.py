"""Named study presets: ``hsibench run --preset NAME`` runs a documented grid of codecs and rates.

A preset is a list of groups (codec specs, with ``|`` sweeps, and the target rates they run
at) plus, optionally, a codec whose achieved rates every other codec is run at too
(``match_rate``), so that reports compare codecs at equal bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidParameterError

CLASSICAL = ("speck", "spiht", "pca", "jpeg2000", "pca_jpeg2000", "ccsds123")
CLASSICAL_RATES = (0.1, 0.25, 0.5, 1.0, 2.0)


@dataclass(frozen=True)
class Group:
    """Codec specs (sweeps allowed) run at the same target rates."""

    codecs: tuple[str, ...]
    rates: tuple[float, ...]


@dataclass(frozen=True)
class Preset:
    """A named study: groups of tasks, in the order they run, and the codec others are matched to."""

    name: str
    doc: str
    groups: tuple[Group, ...]
    match_rate: str | None = None


PAPER = Preset(
    name="paper",
    doc=(
        "Deng, Cen & Zhang (2020) at the paper's schedule (schedule=paper: 15 000 main-phase epochs, Adam lr 5e-4, "
        "loss |y - y_hat|^p): the classical codecs' rate-distortion curves (CCSDS 123.0-B-2 among them); the paper's "
        "structures (blocks 2, 3, 4 x "
        "FC pruning 0 and 0.67) with the paper's float32 weights at 0.5 and 2 bpppb (CR 32 and 8 against 16-bit "
        "data; channels: the most that fit the rate); the real 8-bit stream of the 4-block network at the same "
        "rates; the loss powers p = 1 and 2 beside p = 1.5 (Table 1, 4 blocks, 2 bpppb); then every classical codec "
        "at each GNN stream's exact size (--match-rate gnn)"
    ),
    groups=(
        Group(CLASSICAL, CLASSICAL_RATES),
        Group(("gnn[blocks=2|3|4,prune=0|0.67,weights=float32,schedule=paper]",), (0.5, 2.0)),
        Group(("gnn[blocks=4,prune=0|0.67,weights=int8,schedule=paper]",), (0.5, 2.0)),
        Group(("gnn[blocks=4,prune=0,weights=float32,schedule=paper,p=1|2]",), (2.0,)),
    ),
    match_rate="gnn",
)

PRESETS = {p.name: p for p in (PAPER,)}


def get(name: str) -> Preset:
    """The preset called ``name``; an error listing the presets otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InvalidParameterError(f"unknown preset {name!r}; available: {', '.join(PRESETS)}") from None
