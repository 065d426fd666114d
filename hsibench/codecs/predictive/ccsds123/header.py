"""The CCSDS 123.0-B-2 configuration and its header: what the standard's header says, bit for bit.

:class:`Config` holds every parameter of a compressed image in the standard's own terms (N_X,
N_Y, N_Z, D, P, Ω, R, ν_min, ν_max, t_inc, a_z, r_z, Θ, φ, ψ, the entropy coder with U_max, γ₀,
γ*, K or J, r, B); :func:`write` turns it into the standard's header (image metadata, predictor
metadata with the quantisation and sample-representative subparts, sample-adaptive or
block-adaptive entropy-coder metadata), and
:func:`read` parses a header back, rejecting anything this implementation cannot decode with a
:class:`~hsibench.errors.CorruptDataError` that names the feature.

Layout (CCSDS 123.0-B-2 section 5.3; every part is a whole number of bytes, fields MSB first):

* image metadata, essential subpart (12 bytes): user data 8, N_X 16, N_Y 16, N_Z 16 (each
  mod 2^16), sample type 1, reserved 1, large-D flag 1, D mod 16: 4, encoding order 1
  (0 band-interleaved, 1 BSQ), sub-frame interleaving depth M 16, reserved 2, output word
  size B mod 8: 3, entropy coder type 2, reserved 1, quantizer fidelity control 2, reserved 2,
  supplementary information table count 4;
* predictor primary structure (5 bytes): reserved 1, sample representative flag 1, P 4,
  prediction mode 1 (0 full, 1 reduced), weight exponent offset flag 1, local sum type 2,
  R mod 64: 6, Ω − 4: 4, log2(t_inc) − 4: 4, ν_min + 6: 4, ν_max + 6: 4, weight exponent
  offset table flag 1, weight initialisation method 1, weight initialisation table flag 1,
  weight initialisation resolution 5;
* quantisation (unless lossless): error-limit update period byte (band-interleaved order
  only), then the absolute and/or relative error limit structures (assignment method,
  bit depth, one value or one per band, filled to a byte);
* sample representative subpart (3 bytes, when the flag is set): Θ, φ, ψ (band-independent);
* sample-adaptive entropy coder (2 bytes): U_max mod 32: 5, γ* − 4: 3, γ₀ mod 8: 3, K: 4,
  accumulator initialisation table flag 1;
* or block-adaptive entropy coder (2 bytes): reserved 1, block size J (0: 8, 1: 16, 2: 32,
  3: 64): 2, restricted code options flag 1, reference sample interval r mod 2^12: 12.

Not implemented, and rejected when read: supplementary information tables, custom weight
initialisation, weight exponent offsets, periodic error-limit updating, band-dependent damping
and offset tables, accumulator initialisation tables, D above 16, and the hybrid and
hybrid entropy coder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ....errors import CorruptDataError

# local sum types, as coded in the header
WIDE_NEIGHBOUR, NARROW_NEIGHBOUR, WIDE_COLUMN, NARROW_COLUMN = 0, 1, 2, 3
# quantizer fidelity control methods
LOSSLESS, ABSOLUTE, RELATIVE, ABSOLUTE_AND_RELATIVE = 0, 1, 2, 3
SAMPLE_ADAPTIVE, BLOCK_ADAPTIVE = 0, 2  # entropy coder types (1, the hybrid coder, is not implemented)
BLOCK_SIZES = (8, 16, 32, 64)  # the block-adaptive coder's J, coded by its index
MAX_REF_INTERVAL = 4096  # the block-adaptive coder's largest reference sample interval r (coded mod 2^12)
MAX_D = 16  # this implementation's largest dynamic range (the standard allows 32)
MAX_SIZE = 1 << 16  # N_X, N_Y, N_Z are coded mod 2^16


@dataclass(frozen=True)
class Config:
    """Every parameter of one CCSDS 123.0-B-2 image, named as in the standard.

    ``abs_limits`` (a_z) and ``rel_limits`` (r_z) hold one value per band; they are read only
    when ``fidelity`` uses them, and ``abs_depth``/``rel_depth`` (D_A, D_R) are the bit depths
    they are written with.
    """

    rows: int  # N_Y
    cols: int  # N_X
    bands: int  # N_Z
    signed: bool  # sample type
    D: int  # dynamic range in bits
    bsq: bool = False  # encoding order: band-sequential, else band-interleaved with depth M
    M: int = 1  # sub-frame interleaving depth (M = N_Z: BIP, M = 1: BIL)
    P: int = 3  # spectral bands used for prediction
    full: bool = True  # full (else reduced) prediction mode
    local_sum: int = WIDE_NEIGHBOUR
    R: int = 64  # register size
    omega: int = 19  # weight component resolution Ω
    t_inc_exp: int = 6  # weight update change interval t_inc = 2^t_inc_exp
    nu_min: int = -1  # initial weight update scaling exponent parameter
    nu_max: int = 3  # final weight update scaling exponent parameter
    fidelity: int = LOSSLESS
    abs_limits: tuple[int, ...] = field(default=())  # a_z
    abs_depth: int = 1  # D_A
    rel_limits: tuple[int, ...] = field(default=())  # r_z
    rel_depth: int = 1  # D_R
    theta: int = 0  # sample representative resolution Θ
    phi: int = 0  # damping φ
    psi: int = 0  # offset ψ
    u_max: int = 18  # unary length limit
    gamma_0: int = 1  # initial count exponent γ₀
    gamma_star: int = 6  # rescaling counter size γ*
    K: int = 3  # accumulator initialisation constant (u_max..K: sample-adaptive only, defaults otherwise)
    coder: int = SAMPLE_ADAPTIVE  # entropy coder type
    J: int = 64  # block-adaptive: block size
    r: int = MAX_REF_INTERVAL  # block-adaptive: reference sample interval (blocks; segments restart here)
    restricted: bool = False  # block-adaptive: restricted set of code options (D <= 4 only)
    B: int = 1  # output word size in bytes

    @property
    def uses_abs(self) -> bool:
        return self.fidelity in (ABSOLUTE, ABSOLUTE_AND_RELATIVE)

    @property
    def uses_rel(self) -> bool:
        return self.fidelity in (RELATIVE, ABSOLUTE_AND_RELATIVE)

    @property
    def has_representative(self) -> bool:
        """Whether the sample representative subpart is written (else Θ = φ = ψ = 0)."""
        return bool(self.theta or self.phi or self.psi)

    @property
    def block_adaptive(self) -> bool:
        return self.coder == BLOCK_ADAPTIVE

    @property
    def voxels(self) -> int:
        return self.rows * self.cols * self.bands

    def problems(self) -> list[str]:
        """What in this configuration the standard (or this implementation) does not allow."""
        out = []
        for name, v in (("rows", self.rows), ("cols", self.cols), ("bands", self.bands)):
            if not 1 <= v <= MAX_SIZE:
                out.append(f"{name} = {v} is outside 1..65536")
        if not 2 <= self.D <= MAX_D:
            out.append(f"dynamic range D = {self.D} is outside 2..{MAX_D} (this implementation stops at 16 bits)")
        if not self.bsq and not 1 <= self.M <= self.bands:
            out.append(f"sub-frame interleaving depth M = {self.M} is outside 1..N_Z = {self.bands}")
        if not 0 <= self.P <= 15:
            out.append(f"P = {self.P} is outside 0..15")
        if self.cols == 1 and self.full:
            out.append("full prediction mode needs images at least 2 columns wide (standard 4.3); use reduced")
        if self.cols == 1 and self.local_sum in (WIDE_NEIGHBOUR, NARROW_NEIGHBOUR):
            out.append("neighbour-oriented local sums read the upper-right neighbour: images 1 column wide need column-oriented sums")
        if not 4 <= self.omega <= 19:
            out.append(f"weight resolution omega = {self.omega} is outside 4..19")
        if not max(32, self.D + self.omega + 2) <= self.R <= 64:
            out.append(f"register size R = {self.R} is outside max(32, D + omega + 2) = {max(32, self.D + self.omega + 2)}..64")
        if not 4 <= self.t_inc_exp <= 11:
            out.append(f"t_inc = 2^{self.t_inc_exp} is outside 2^4..2^11")
        if not -6 <= self.nu_min <= self.nu_max <= 9:
            out.append(f"need -6 <= nu_min <= nu_max <= 9; got nu_min = {self.nu_min}, nu_max = {self.nu_max}")
        out += self._limit_problems()
        if not 0 <= self.theta <= 4:
            out.append(f"theta = {self.theta} is outside 0..4")
        if not (0 <= self.phi < 1 << self.theta and 0 <= self.psi < 1 << self.theta):
            out.append(f"phi = {self.phi} and psi = {self.psi} must be in 0..2^theta - 1 = {(1 << self.theta) - 1}")
        if self.fidelity == LOSSLESS and self.psi:
            out.append("psi must be 0 in lossless compression")
        if self.coder not in (SAMPLE_ADAPTIVE, BLOCK_ADAPTIVE):
            out.append(f"entropy coder type {self.coder} is not implemented (0: sample-adaptive, 2: block-adaptive)")
        if self.J not in BLOCK_SIZES:
            out.append(f"block size J = {self.J} is not one of 8, 16, 32, 64")
        if not 1 <= self.r <= MAX_REF_INTERVAL:
            out.append(f"reference sample interval r = {self.r} is outside 1..{MAX_REF_INTERVAL}")
        if self.restricted and self.D > 4:
            out.append(f"the restricted code options need D <= 4; D = {self.D}")
        if not self.block_adaptive:  # the sample-adaptive coder's parameters (not in a block-adaptive header)
            if not 8 <= self.u_max <= 32:
                out.append(f"u_max = {self.u_max} is outside 8..32")
            if not 1 <= self.gamma_0 <= 8:
                out.append(f"gamma_0 = {self.gamma_0} is outside 1..8")
            if not max(4, self.gamma_0 + 1) <= self.gamma_star <= 11:
                out.append(f"gamma_star = {self.gamma_star} is outside max(4, gamma_0 + 1)..11")
            if not 0 <= self.K <= min(self.D - 2, 14):
                out.append(f"accumulator initialisation constant K = {self.K} is outside 0..min(D - 2, 14) = {min(self.D - 2, 14)}")
        if not 1 <= self.B <= 8:
            out.append(f"output word size B = {self.B} is outside 1..8 bytes")
        return out

    def _limit_problems(self) -> list[str]:
        out = []
        if self.fidelity not in (LOSSLESS, ABSOLUTE, RELATIVE, ABSOLUTE_AND_RELATIVE):
            return [f"unknown quantizer fidelity control method {self.fidelity}"]
        top = min(self.D - 1, 16)
        for used, name, limits, depth in (
            (self.uses_abs, "absolute", self.abs_limits, self.abs_depth),
            (self.uses_rel, "relative", self.rel_limits, self.rel_depth),
        ):
            if not used:
                continue
            if not 1 <= depth <= top:
                out.append(f"{name} error limit bit depth {depth} is outside 1..min(D - 1, 16) = {top}")
            elif len(limits) != self.bands or not all(0 <= v < 1 << depth for v in limits):
                out.append(f"{name} error limits must be {self.bands} values in 0..{(1 << depth) - 1}")
        return out


def limit_depth(limits) -> int:
    """The smallest error-limit bit depth (D_A or D_R, at least 1) that holds every limit."""
    return max(1, max(int(v) for v in limits).bit_length())


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


class _Bits:
    """MSB-first bit accumulator for the header (a few dozen bytes; plain Python)."""

    def __init__(self):
        self.fields: list[tuple[int, int]] = []
        self.nbits = 0

    def put(self, value: int, n: int) -> None:
        if not 0 <= value < 1 << n:
            raise ValueError(f"header field value {value} does not fit in {n} bits")
        self.fields.append((value, n))
        self.nbits += n

    def fill(self) -> None:
        """Zero fill bits up to the next byte boundary."""
        self.put(0, -self.nbits % 8)

    def tobytes(self) -> bytes:
        assert self.nbits % 8 == 0
        acc = 0
        for value, n in self.fields:
            acc = (acc << n) | value
        return acc.to_bytes(self.nbits // 8, "big")


def write(cfg: Config) -> bytes:
    """The standard's header for ``cfg`` (raises ValueError if ``cfg`` is not valid)."""
    bad = cfg.problems()
    if bad:
        raise ValueError("; ".join(bad))
    b = _Bits()
    # image metadata, essential subpart
    b.put(0, 8)  # user-defined data
    for v in (cfg.cols, cfg.rows, cfg.bands):
        b.put(v % MAX_SIZE, 16)
    b.put(int(cfg.signed), 1)
    b.put(0, 1)
    b.put(int(cfg.D > 16), 1)
    b.put(cfg.D % 16, 4)
    b.put(int(cfg.bsq), 1)
    b.put(0 if cfg.bsq else cfg.M % MAX_SIZE, 16)
    b.put(0, 2)
    b.put(cfg.B % 8, 3)
    b.put(cfg.coder, 2)
    b.put(0, 1)
    b.put(cfg.fidelity, 2)
    b.put(0, 2)
    b.put(0, 4)  # supplementary information tables
    # predictor metadata, primary structure
    b.put(0, 1)
    b.put(int(cfg.has_representative), 1)
    b.put(cfg.P, 4)
    b.put(0 if cfg.full else 1, 1)
    b.put(0, 1)  # weight exponent offsets all zero
    b.put(cfg.local_sum, 2)
    b.put(cfg.R % 64, 6)
    b.put(cfg.omega - 4, 4)
    b.put(cfg.t_inc_exp - 4, 4)
    b.put(cfg.nu_min + 6, 4)
    b.put(cfg.nu_max + 6, 4)
    b.put(0, 1)  # weight exponent offset table flag
    b.put(0, 1)  # default weight initialisation
    b.put(0, 1)  # weight initialisation table flag
    b.put(0, 5)  # weight initialisation resolution (0 with default initialisation)
    # quantisation
    if cfg.fidelity != LOSSLESS:
        if not cfg.bsq:
            b.put(0, 8)  # no periodic error-limit updating
        for used, limits, depth in ((cfg.uses_abs, cfg.abs_limits, cfg.abs_depth), (cfg.uses_rel, cfg.rel_limits, cfg.rel_depth)):
            if not used:
                continue
            dependent = len(set(limits)) > 1
            b.put(0, 1)
            b.put(int(dependent), 1)
            b.put(0, 2)
            b.put(depth % 16, 4)
            for v in limits if dependent else limits[:1]:
                b.put(int(v), depth)
            b.fill()
    # sample representatives
    if cfg.has_representative:
        b.put(0, 5)
        b.put(cfg.theta, 3)
        for v in (cfg.phi, cfg.psi):
            b.put(0, 1)
            b.put(0, 1)  # band-independent
            b.put(0, 1)  # no table
            b.put(0, 1)
            b.put(v, 4)
    if cfg.block_adaptive:
        b.put(0, 1)
        b.put(BLOCK_SIZES.index(cfg.J), 2)
        b.put(int(cfg.restricted), 1)
        b.put(cfg.r % MAX_REF_INTERVAL, 12)
    else:  # sample-adaptive entropy coder
        b.put(cfg.u_max % 32, 5)
        b.put(cfg.gamma_star - 4, 3)
        b.put(cfg.gamma_0 % 8, 3)
        b.put(cfg.K, 4)
        b.put(0, 1)  # accumulator initialisation table flag
    return b.tobytes()


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


class _Reader:
    """MSB-first reader over the header bytes; running off the end is a corrupt stream."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0  # bits

    def get(self, n: int) -> int:
        end = self.pos + n
        if end > 8 * len(self.data):
            raise CorruptDataError("the CCSDS 123 codestream ends inside its header")
        value = 0
        for i in range(self.pos, end):
            value = (value << 1) | ((self.data[i >> 3] >> (7 - (i & 7))) & 1)
        self.pos = end
        return value

    def zero(self, n: int, what: str) -> None:
        if self.get(n):
            raise CorruptDataError(f"CCSDS 123 header: reserved bits ({what}) are not zero")

    def fill(self) -> None:
        self.zero(-self.pos % 8, "fill bits")


def _unsupported(feature: str) -> CorruptDataError:
    return CorruptDataError(f"this CCSDS 123 codestream uses {feature}, which hsibench's ccsds123 decoder does not implement")


def read(data: bytes) -> tuple[Config, int]:
    """Parse a header; return the configuration and the byte offset where the body starts."""
    r = _Reader(data)
    r.get(8)  # user-defined data: ignored
    cols, rows, bands = (r.get(16) or MAX_SIZE for _ in range(3))
    signed = bool(r.get(1))
    r.zero(1, "image metadata")
    large_d = r.get(1)
    D = (r.get(4) or 16) + 16 * large_d
    bsq = bool(r.get(1))
    M = r.get(16)
    r.zero(2, "image metadata")
    B = r.get(3) or 8
    coder = r.get(2)
    r.zero(1, "image metadata")
    fidelity = r.get(2)
    r.zero(2, "image metadata")
    if r.get(4):
        raise _unsupported("supplementary information tables")
    if coder not in (SAMPLE_ADAPTIVE, BLOCK_ADAPTIVE):
        raise _unsupported("the hybrid entropy coder" if coder == 1 else f"entropy coder type {coder}")
    if D > MAX_D:
        raise _unsupported(f"a dynamic range of {D} bits (above 16)")
    if not bsq:
        M = M or MAX_SIZE
    r.zero(1, "predictor metadata")
    representative = r.get(1)
    P = r.get(4)
    full = r.get(1) == 0
    if r.get(1):
        raise _unsupported("weight exponent offsets")
    local_sum = r.get(2)
    R = r.get(6) or 64
    omega = r.get(4) + 4
    t_inc_exp = r.get(4) + 4
    nu_min = r.get(4) - 6
    nu_max = r.get(4) - 6
    r.get(1)  # weight exponent offset table flag (offsets are all zero)
    if r.get(1):
        raise _unsupported("custom weight initialisation")
    r.get(1)
    r.get(5)
    limits: dict[str, tuple[tuple[int, ...], int]] = {}
    if fidelity != LOSSLESS:
        if not bsq:
            r.zero(1, "error limit update period")
            if r.get(1):
                raise _unsupported("periodic error-limit updating")
            r.zero(2, "error limit update period")
            r.get(4)
        for kind, used in (("abs", fidelity in (ABSOLUTE, ABSOLUTE_AND_RELATIVE)), ("rel", fidelity in (RELATIVE, ABSOLUTE_AND_RELATIVE))):
            if not used:
                continue
            r.zero(1, "error limit structure")
            dependent = r.get(1)
            r.zero(2, "error limit structure")
            depth = r.get(4) or 16
            values = tuple(r.get(depth) for _ in range(bands if dependent else 1))
            r.fill()
            limits[kind] = (values if dependent else values * bands, depth)
    theta = phi = psi = 0
    if representative:
        r.zero(5, "sample representative structure")
        theta = r.get(3)
        values = []
        for what in ("damping", "offset"):
            r.zero(1, "sample representative structure")
            if r.get(1) or r.get(1):
                raise _unsupported(f"band-dependent {what} tables")
            r.zero(1, "sample representative structure")
            values.append(r.get(4))
        phi, psi = values
    coder_fields: dict = {}
    if coder == BLOCK_ADAPTIVE:
        r.zero(1, "block-adaptive entropy coder")
        coder_fields = {"coder": coder, "J": BLOCK_SIZES[r.get(2)], "restricted": bool(r.get(1)),
                        "r": r.get(12) or MAX_REF_INTERVAL}
    else:
        u_max = r.get(5) or 32
        gamma_star = r.get(3) + 4
        gamma_0 = r.get(3) or 8
        K = r.get(4)
        table_flag = r.get(1)
        if K == 15 or table_flag:
            raise _unsupported("an accumulator initialisation table")
        coder_fields = {"u_max": u_max, "gamma_star": gamma_star, "gamma_0": gamma_0, "K": K}
    abs_limits, abs_depth = limits.get("abs", ((), 1))
    rel_limits, rel_depth = limits.get("rel", ((), 1))
    cfg = Config(
        rows=rows, cols=cols, bands=bands, signed=signed, D=D, bsq=bsq, M=M if not bsq else 1, P=P, full=full,
        local_sum=local_sum, R=R, omega=omega, t_inc_exp=t_inc_exp, nu_min=nu_min, nu_max=nu_max,
        fidelity=fidelity, abs_limits=abs_limits, abs_depth=abs_depth, rel_limits=rel_limits, rel_depth=rel_depth,
        theta=theta, phi=phi, psi=psi, B=B, **coder_fields,
    )
    bad = cfg.problems()
    if bad:
        raise CorruptDataError("invalid CCSDS 123 header: " + "; ".join(bad))
    return cfg, r.pos // 8
