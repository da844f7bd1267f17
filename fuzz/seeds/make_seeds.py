#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz targets (fuzz/seeds/<target>/seed-*).

The encoders below mirror `Reader` in fuzz_targets/common/mod.rs (little-endian integers, tag
bytes choosing typical values); the field order of each input is the order in which its target
reads it. Run from anywhere: `python3 fuzz/seeds/make_seeds.py`. The found-* inputs beside the
seeds are inputs on which the fuzzer found bugs (since fixed), kept as regression inputs; each
name says what went wrong. Those of kernel_equivalence and layout_validation are the fuzzer's own
(minimized with `cargo fuzz tmin`; their input format has not changed since); those of capi are
re-encoded below (CAPI_FOUND) in the current format, the same scenario each.
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def u8(x):
    return bytes([x & 0xFF])


def u16(x):
    return struct.pack("<H", x & 0xFFFF)


def u32(x):
    return struct.pack("<I", x & 0xFFFFFFFF)


def u64(x):
    return struct.pack("<Q", x & 0xFFFFFFFFFFFFFFFF)


def flag(b):
    """A bool (`Reader::bool`, low bit)."""
    return u8(1 if b else 0)


def cflag(v):
    """A C flag (`flag` in capi.rs): 0, 1, any u32, or 0x80000000."""
    if v in (0, 1):
        return u8(v)
    if v == 0x80000000:
        return u8(3)
    return u8(2) + u32(v)


TYPICAL64 = {0.0: 0, 1.0: 1, 0.9: 2, 0.5: 3, 1e-4: 4, 128.0: 5, 0.1: 6}


def f64p(v):
    """`Reader::f64_param`: a typical value by tag, else the raw bits."""
    if isinstance(v, str):
        return u8(8) + u8({"nan": 0, "inf": 1, "-inf": 2, "-0": 3}[v])
    if v in TYPICAL64 and not (v == 0.0 and str(v).startswith("-")):
        return u8(TYPICAL64[v])
    return u8(10) + struct.pack("<d", v)


def f32p(v):
    """`Reader::f32_param`: 0.1 and 0.0 by tag, else the raw bits."""
    if v == 0.1:
        return u8(0)
    if v == 0.0:
        return u8(1)
    return u8(3) + struct.pack("<f", v)


def count(n):
    """`Reader::count`."""
    if n == 0:
        return u8(0)
    if n < 256:
        return u8(1) + u8(n)
    if n < 65536:
        return u8(5) + u16(n)
    return u8(7) + u32(n)


def step(k):
    """`Reader::step`: any u32."""
    return u8(5) + u32(k)


def raw(vals):
    """Tensor values in raw mode: the f32 bits."""
    return b"".join(struct.pack("<f", v) if isinstance(v, float) else u32(v) for v in vals)


def moderate(vals):
    """Tensor values in mixed mode as moderate values: (i << 2) · 2^-20 (exact for these)."""
    return b"".join(u32((int(round(v * 2**20)) << 2) & 0xFFFFFFFF) for v in vals)


def ramp(n, scale=1.0, start=0.0):
    return [start + scale * ((i * 37) % 23 - 11) / 16 for i in range(n)]


SPECIALS = [0x7FC00000, 0x00000001, 0x80000001, 0x7F800000, 0xFF800000, 0x7F7FFFFF, 0xFF7FFFFF,
            0x80000000, 0x00000000, 0x3F800000, 0x00800000, 0x7FA00001]


# ----- kernel_equivalence ----------------------------------------------------------------------
# is_sgd, lr, momentum, nesterov, dampening, first, weight decay, loss scale, shape, length
# mismatch, offsets (u16: three nibbles), raw flag, then params, grads, state.

def kernel(sgd, lr, mom, nest, damp, first, wd, scale, shape, mismatch, offsets, is_raw, vals):
    return (flag(sgd) + f32p(lr) + f64p(mom) + flag(nest) + f64p(damp) + flag(first) + f64p(wd)
            + f64p(scale) + shape + u8(mismatch) + u16(offsets) + flag(is_raw) + vals)


def plain(n):
    return u8(0) + u8(n)


def matrix(rows, cols):
    return u8(2) + u8(rows - 1) + u8(cols)


KERNEL = {
    # ApplyMomentum on 40 values, aligned buffers
    "momentum": kernel(0, 0.1, 0.9, 0, 0.0, 0, 0.0, 1.0, plain(40), 0, 0, 0,
                       moderate(ramp(40) + ramp(40, 0.25) + ramp(40, 0.0))),
    # Nesterov, weight decay 1e-4, loss scale 128, 4 centralized rows of 13, misaligned buffers
    "nesterov-decay-centralize": kernel(0, 0.1, 0.9, 1, 0.0, 0, 1e-4, 128.0, matrix(4, 13), 0,
                                        0x135, 0, moderate(ramp(52) + ramp(52, 64.0) + ramp(52, 0.5))),
    # SGD's first step with dampening 0.1 on 33 values
    "sgd-first-dampening": kernel(1, 0.1, 0.9, 0, 0.1, 1, 0.0, 1.0, plain(33), 0, 0x007, 0,
                                  moderate(ramp(33) + ramp(33, 0.5) + ramp(33, 0.1))),
    # every special bit pattern (NaN, subnormals, infinities, ±max, −0) in raw mode, rows of 4
    "specials-raw": kernel(0, 0.5, 0.5, 0, 0.0, 0, 0.5, 2.0, matrix(3, 4), 0, 0x0f2, 1,
                           raw(SPECIALS + SPECIALS[::-1] + SPECIALS[3:] + SPECIALS[:3])),
    # a row count that does not divide the length: BadRows on every path
    "bad-rows": kernel(0, 0.1, 0.9, 0, 0.0, 0, 0.0, 1.0, u8(3) + u8(10) + u8(3), 0, 0, 0,
                       moderate(ramp(30))),
    # grads one value short: LengthMismatch, nothing written
    "wrong-length": kernel(1, 0.1, 0.0, 0, 0.0, 0, 0.0, 1.0, plain(17), 251, 0, 0,
                           moderate(ramp(17) + ramp(16) + ramp(17))),
}

# Adam and AdamWeightDecay (kernel byte 2 and 3): lr, β1, β2, eps, then Adam: weight decay, loss
# scale, K, flags (bit 0 Nesterov, bit 1 AMSGrad), the two beta powers; AdamWeightDecay: weight
# decay. Then the shape, length mismatch, offsets (u32: five nibbles), raw flag, params, grads,
# m, v, v̂ (empty without AMSGrad); a buffer of more than 256 values is a pattern (count byte,
# then 1 + count % 61 values, repeated).

def beta(v):
    """`Reader::beta`: 0.9 and 0.999 by tag, else `f64_param`."""
    if v == 0.9:
        return u8(0)
    if v == 0.999:
        return u8(1)
    return u8(5) + f64p(v)


def eps(v):
    """`Reader::eps`: 1e-8 and 1e-6 by tag, else `f64_param`."""
    return {1e-8: u8(0), 1e-6: u8(1)}.get(v) or u8(5) + f64p(v)


def threads(k):
    """`Reader::threads`: 0, or K in 1..=4."""
    return u8(0) if k == 0 else u8(k + 3)


def power(k=0):
    """`Reader::power`: F(β) multiplied in k more times (the power of step k)."""
    return u8(0) if k == 0 else u8(2) + flag(0) + u8(k)


def adam_kernel(lr, b1, b2, e, wd, scale, k, nest, ams, p1, p2, shape, mismatch, offsets, is_raw,
                vals):
    return (u8(2) + f32p(lr) + beta(b1) + beta(b2) + eps(e) + f64p(wd) + f64p(scale) + threads(k)
            + u8(nest | ams << 1) + power(p1) + power(p2) + shape + u8(mismatch) + u32(offsets)
            + flag(is_raw) + vals)


def adamw_kernel(lr, b1, b2, e, wd, shape, mismatch, offsets, is_raw, vals):
    return (u8(3) + f32p(lr) + beta(b1) + beta(b2) + eps(e) + f64p(wd) + shape + u8(mismatch)
            + u32(offsets) + flag(is_raw) + vals)


def long(n, rows=0):
    """1000..=1100 values (MindSpore's split at K ≥ 2), or any n below 4201; rows: an index into
    [0, 0, 1, 2, 3, 4, 5, 8]."""
    if 1000 <= n <= 1100:
        return u8(5) + u8(n - 1000) + u8(rows)
    return u8(7) + u16(n) + u8(rows)


def amatrix(rows, cols):
    """Adam's rows × cols shape."""
    return u8(3) + u8(rows - 1) + u8(cols)


def pattern(vals):
    """A buffer of more than 256 values: its pattern."""
    return u8(len(vals) - 1) + moderate(vals)


KERNEL.update({
    # Adam's first step, MindSpore's defaults, lr 1e-3, 45 values (body 40, tail 5)
    "adam-plain": adam_kernel(1e-3, 0.9, 0.999, 1e-8, 0.0, 1.0, 1, 0, 0, 0, 0, plain(45), 0, 0, 0,
                              moderate(ramp(45) + ramp(45, 0.5) + [0.0] * 45 + [0.0] * 45)),
    # Nesterov at step 3, K = 2, 1003 values: two chunks of 502 and 501 (tails 496–501, 998–1002)
    "adam-nesterov-k2-1003": adam_kernel(0.01, 0.9, 0.999, 1e-8, 0.0, 1.0, 2, 1, 0, 3, 3,
                                         long(1003), 0, 0x12345, 0,
                                         pattern(ramp(14)) + pattern(ramp(13, 0.5))
                                         + pattern(ramp(11, 0.1)) + pattern([0.25, 0.5, 0.125])),
    # K = 4 over 2500 values: three chunks (834, 834, 832); weight decay and loss scale 128
    "adam-k4-2500": adam_kernel(0.01, 0.5, 0.75, 1e-3, 1e-4, 128.0, 4, 0, 0, 7, 7, long(2500), 0,
                                0x00304, 0, pattern(ramp(17)) + pattern(ramp(19, 64.0))
                                + pattern(ramp(5, 0.1)) + pattern([0.5, 0.25])),
    # AMSGrad, weight decay 1e-4, loss scale 128, 4 centralized rows of 13, K = 3, misaligned
    "amsgrad-decay-scale-centralize": adam_kernel(
        0.1, 0.9, 0.999, 1e-8, 1e-4, 128.0, 3, 0, 1, 5, 5, amatrix(4, 13), 0, 0x51a2b, 0,
        moderate(ramp(52) + ramp(52, 64.0) + ramp(52, 0.1) + [0.5] * 52 + [0.25] * 26 + [1.0] * 26)),
    # every special bit pattern in raw mode, Nesterov, rows of 4
    "adam-specials-raw": adam_kernel(0.5, 0.5, 0.5, 1e-6, 0.5, 2.0, 1, 1, 0, 1, 1, amatrix(3, 4), 0,
                                     0x000f2, 1, raw(SPECIALS + SPECIALS[::-1] + SPECIALS[3:]
                                                     + SPECIALS[:3])),
    # a v̂ given without AMSGrad: LengthMismatch, nothing written
    "adam-vhat-without-amsgrad": adam_kernel(0.1, 0.9, 0.999, 1e-8, 0.0, 1.0, 1, 0, 0, 0, 0,
                                             plain(9), 254, 0, 0, moderate(ramp(37))),
    # AMSGrad with Nesterov: refused by AdamStep::new
    "amsgrad-nesterov": adam_kernel(0.1, 0.9, 0.999, 1e-8, 0.0, 1.0, 1, 1, 1, 0, 0, plain(9), 0, 0,
                                    0, b""),
    # AdamWeightDecay, weight decay 0.01, 3 centralized rows of 11
    "adamw-decay-centralize": adamw_kernel(1e-3, 0.9, 0.999, 1e-6, 0.01, amatrix(3, 11), 0, 0x0321,
                                           0, moderate(ramp(33) + ramp(33, 0.5) + ramp(33, 0.1)
                                                       + [0.25] * 33)),
    # AdamWeightDecay over 1003 values (no split: the same formula everywhere)
    "adamw-1003": adamw_kernel(0.01, 0.5, 0.75, 1e-3, 0.1, long(1003, rows=2), 0, 0, 0,
                               pattern(ramp(23)) + pattern(ramp(7, 0.5)) + pattern(ramp(9, 0.1))
                               + pattern([0.5, 0.25, 1.0])),
})


# ----- layout_validation -----------------------------------------------------------------------
# n_groups, each group (kind, lr f64, lr f32, table, hold_last, schedule, weight decay, centralize),
# n_tensors, each tensor (group byte, kind, sizes), backend, momentum, nesterov, loss scale,
# check_finite, dampening, constructor (0 Momentum over an array of groups, 1 SGD over an array,
# 2 Momentum over a slice, 3 SGD over a slice, 4 Adam over an array, 5 AdamWeightDecay over an
# array, 6 Adam over a slice, 7 AdamWeightDecay over a slice; Adam's and AdamWeightDecay's own
# settings follow), then raw flag, params, state (every buffer), grads (a buffer of more than 256
# values: `pattern`), operations.

def group(kind, lr64=0.1, lr32=0.1, table=(), hold_last=0, source=None, wd=0.0, centralize=0):
    """kind: 0 Lr::new_static(lr64), 1 Lr::Static(lr32), 2 Lr::table, 3 Table with PastEnd,
    4 schedule."""
    src = source if source is not None else u8(4) + f32p(0.1) * 4
    return (u8(kind) + f64p(lr64) + f32p(lr32) + u8(len(table)) + b"".join(f32p(v) for v in table)
            + flag(hold_last) + src + f64p(wd) + flag(centralize))


def cosine_source(min_lr, max_lr, steps):
    return u8(0) + f64p(min_lr) + f64p(max_lr) + count(steps)


# Tensor i is in group i mod n_groups (its first byte below 192).

def vector(n):
    return u8(0) + u8(9) + u8(n)


def mat(rows, cols):
    return u8(0) + u8(4) + u8(rows) + u8(cols)


def settings(backend=0, mom=0.9, nest=0, scale=1.0, check=0, damp=0.0):
    """backend: an index into Backend::ALL (0 scalar, 1 wide, 2 avx2, 3 avx512)."""
    return u8(backend) + f64p(mom) + flag(nest) + f64p(scale) + flag(check) + f64p(damp)


def adam_settings(b1=0, b2=0, e=0, flags=0, k=1):
    """Adam's and AdamWeightDecay's settings after their constructor byte, typical values by
    index: β1 [0.9, 0.5, 0.8, 0.1], β2 [0.999, 0.75, 0.9999, 0.5], eps [1e-8, 1e-6, 1e-3, 0.1];
    flags 0 plain, 3 Nesterov, 5 AMSGrad, 7 both (refused); K."""
    return u8(1) + u8(b1 | b2 << 2 | e << 4) + u8(flags) + threads(k)


def adam_settings_any(b1, b2, e, flags=0, k=1):
    """Any betas and eps (`Reader::beta`, `Reader::eps`)."""
    return u8(0) + beta(b1) + beta(b2) + eps(e) + u8(flags) + threads(k)


def lvec(n, rows=0):
    """A tensor of any length n (kind 2: u64 length, u64 rows, 0 for none)."""
    return u8(0) + u8(2) + u64(n) + u64(rows)


def edit_power(which, bits):
    """Restore of the saved bytes with beta power `which` (0, 1) set to `bits`, checksum fixed."""
    return u8(6) + u8(2) + u8(3) + u8(which) + u32(bits)


def at(offset):
    """A cut point (`cut_point` in layout_validation/parts.rs) `offset` elements into the part
    (0 to its length: its ends included)."""
    return u8(0) + u16(offset)


def at_row(pick=0, row=0, inside=None):
    """A cut point in centralized tensor `pick` (of those the part overlaps) of more than one
    element a row: the start of row `row`, or with `inside` = k a point k + 1 elements into it."""
    return (u8(4) + u8(pick) + u8(row)) if inside is None else (u8(5) + u8(pick) + u8(row) + u8(inside))


def at_outside(how=1, k=0):
    """A cut point outside the part: 0 before its start (by 1 + k), 1 past its end (by 1 + k),
    2 usize::MAX, 3 past the layout."""
    return u8(6) + u8(how) + (u8(k) if how < 2 else b"")


def cuts(*splits, shards=None, order=0, order_arg=b""):
    """How the twin cuts a step into parts: up to 7 splits, each (which part, a cut point: `at`,
    `at_row`, `at_outside`; an int is `at`), valid ones taken and invalid ones refused; then, with
    `shards`, each piece cut into the shards of a plan of that many; then the order of the parts:
    0 as cut, 1 reversed, 2 rotated by u8(order_arg), 3 shuffled (u16 bytes in order_arg)."""
    assert len(splits) < 8
    enc = lambda p: at(p) if isinstance(p, int) else p
    out = u8(len(splits) | (0x08 if shards else 0))
    out += b"".join(u8(i) + enc(p) for i, p in splits)
    if shards:
        out += u8(0) + u16(shards - 1)
    return out + u8(order) + order_arg


def step_ops(n):
    return b"".join(u8(0) + cuts() for _ in range(n))  # whole steps, one part each


LAYOUT = {
    # two groups (fixed lr with decay and centralization; a cosine schedule), Momentum over a
    # an array of groups: three tensors (8 values of a 2x4 matrix, 4, 4), steps, save/restore, lr
    # queries
    "momentum-two-groups": (
        u8(2) + group(0, lr64=0.1, wd=1e-4, centralize=1)
        + group(4, source=cosine_source(0.0, 0.1, 10))
        + u8(3) + mat(2, 4) + vector(4) + vector(4)
        + settings(backend=0, mom=0.9, scale=128.0) + u8(0)
        + flag(0) + moderate(ramp(16)) + moderate([0.0] * 16) + moderate(ramp(16, 0.5))
        + u8(0) + cuts()                               # a whole step (twin: one part)
        + u8(1) + cuts((0, 8), (1, 2), (0, at_row(0, 1, 1)), (0, at_row(0, 1)), order=1)
        # a step, twin cut at elements 8, 10 and 4 (a row boundary; inside the row refused),
        # reversed
        + u8(2) + cuts(shards=3, order=3, order_arg=u16(1) + u16(0))  # a plan of 3 shards
        + u8(5) + u8(0) + u8(0) + u8(0) + f64p(0.05)   # save, step, set_lr, restore
        + u8(8)                                        # the next learning rates
    ),
    # SGD over a slice of groups: a table ending in an error (2 steps), a static group; the
    # third step is past the table's end
    "sgd-table-past-end": (
        u8(2) + group(2, table=(0.1, 0.05)) + group(1, lr32=0.01, wd=0.5)
        + u8(2) + vector(5) + vector(3)
        + settings(backend=1, mom=0.9, damp=0.1) + u8(3)
        + flag(0) + moderate(ramp(8)) + moderate([0.0] * 8) + moderate(ramp(8, 2.0))
        + step_ops(2) + u8(0)                          # steps 0 and 1; step 2 fails
        + u8(4) + u8(1) + f64p(0.2)                    # set_lr of the static group
        + u8(4) + u8(0) + f64p(0.2)                    # set_lr of the table group: NotStatic
    ),
    # wrong lengths, a stale token, cuts outside a part, inside a centralized row (refused) and
    # of a vector, damaged saved state
    "errors": (
        u8(1) + group(0, lr64=0.1, centralize=1)
        + u8(2) + vector(6) + mat(3, 2)
        + settings(backend=2, mom=0.5, nest=1, check=1) + u8(2)
        + flag(0) + moderate(ramp(12)) + moderate(ramp(12, 0.1)) + moderate(ramp(12))
        + u8(3) + u8(1) + u8(0) + flag(1)              # grads one too long
        + u8(3) + u8(2) + u8(1) + flag(0)              # state two too short
        + u8(7) + u8(0) + u8(1) + u8(0) + u8(1) + flag(1)  # a part of tensor 0, then a stale token
        + u8(7) + u8(0) + u8(2) + u8(0) + u8(0) + at_outside(1) + flag(0)  # a cut outside the part
        + u8(7) + u8(1) + u8(2) + u8(0) + u8(0) + at_row(0, 1, 0) + flag(0)  # inside a row: refused
        + u8(7) + u8(0) + u8(2) + u8(0) + u8(0) + at(3) + flag(0)  # a cut of the vector: taken
        + u8(6) + u8(1) + u16(30) + u8(0x40)           # restore with one byte damaged
        + u8(6) + u8(2) + u8(0) + u32(0xFFFFFFFF)      # restore with the step at u32::MAX
        + u8(0) + cuts()                               # ... so the next step overflows
    ),
    # layouts that must be refused: a tensor in no group, a group with no tensor, rows that do
    # not divide, a layout that overflows usize
    "bad-layouts": (
        u8(3) + group(0) + group(0) + group(0)
        + u8(3) + vector(4) + vector(4) + u8(255) + u8(9) + u8(4)
        + settings() + u8(0)
    ),
    "huge-layout": (
        u8(1) + group(1, lr32=0.1)
        + u8(1) + u8(0) + u8(1)                        # one tensor of usize::MAX / 2 + 1 values
        + settings() + u8(2)
    ),
    # a schedule returning NaN and negative values: steps fail and change nothing
    "raw-schedule": (
        u8(1) + group(4, source=u8(4) + f32p(0.1) + f32p(float("nan")) + f32p(-1.0) + f32p(0.0))
        + u8(1) + vector(7)
        + settings(mom=0.0) + u8(1)
        + flag(1) + raw(SPECIALS[:7]) + raw(SPECIALS[5:12]) + raw(SPECIALS[2:9])
        + step_ops(4)
    ),
}


ADAM_LAYOUT_TENSORS = u8(4) + mat(2, 8) + vector(20) + vector(5) + mat(3, 4)   # 53 values
ADAM_LAYOUT_GROUPS = (u8(3) + group(0, lr64=0.01, wd=1e-4, centralize=1)
                      + group(3, table=(0.01, 0.005, 0.002), hold_last=1, wd=0.01)
                      + group(4, source=cosine_source(0.0, 0.01, 6)))

LAYOUT.update({
    # Adam (Nesterov, K = 2, loss scale 128, on AVX2) over an array of three groups: whole steps
    # and steps in parts, save / step / set_lr / restore (the beta powers come back), a restore
    # with beta1_power set to 0.5, the next learning rates
    "adam-three-groups": (
        ADAM_LAYOUT_GROUPS + ADAM_LAYOUT_TENSORS
        + settings(backend=2, scale=128.0) + u8(4) + adam_settings(flags=3, k=2)
        + flag(0) + moderate(ramp(53)) + moderate([0.0] * 106) + moderate(ramp(53, 0.5))
        + u8(0) + cuts() + u8(1) + cuts((0, 21), (1, 5), (0, at_row(0, 1, 2)), order=1)
        + u8(2) + cuts((0, 30), shards=4, order=3, order_arg=u16(3) + u16(1) + u16(7) + u16(2) + u16(0)
                                    + u16(5) + u16(1))
        + u8(5) + u8(0) + u8(0) + u8(0) + f64p(0.05)
        + edit_power(0, 0x3F000000) + u8(0) + cuts((0, 41)) + u8(8)
    ),
    # AMSGrad over a slice of groups (β 0.5 / 0.75, eps 1e-3): steps, wrong lengths (the state is
    # three buffers), parts out of order, a stale token
    "amsgrad-slice-parts": (
        ADAM_LAYOUT_GROUPS + ADAM_LAYOUT_TENSORS
        + settings(backend=1) + u8(6) + adam_settings(1, 1, 2, flags=5, k=1)
        + flag(0) + moderate(ramp(53)) + moderate([0.0] * 159) + moderate(ramp(53, 0.25))
        + step_ops(2)
        + u8(3) + u8(2) + u8(1) + flag(0)                  # state two values short
        + u8(3) + u8(2) + u8(0) + flag(1)                  # state one value too long
        + u8(7) + u8(1) + u8(3) + u8(0) + u8(0) + at(7) + flag(0)  # tensors 1..3, cut in 1
        + u8(7) + u8(0) + u8(2) + u8(0) + u8(1) + flag(1)  # then a stale token
        + u8(0) + cuts((0, 8), (0, at_row(0, 0, 3)), (1, 20), order=2, order_arg=u8(1))
        + u8(1) + cuts(shards=7, order=1)
        + u8(5) + u8(0) + u8(0) + u8(0) + f64p(0.1)
    ),
    # AdamWeightDecay over an array: decoupled decay 0.01 in two groups, centralization (which it
    # honours), save and restore
    "adamw-three-groups": (
        ADAM_LAYOUT_GROUPS + ADAM_LAYOUT_TENSORS
        + settings(backend=3) + u8(5) + adam_settings(0, 0, 1)
        + flag(0) + moderate(ramp(53)) + moderate([0.0] * 106) + moderate(ramp(53, 0.5))
        + step_ops(2) + u8(5) + u8(0) + u8(0) + u8(0) + f64p(0.05) + step_ops(1)
        + u8(6) + u8(1) + u16(40) + u8(0x10)               # a damaged byte: refused
    ),
    # AdamWeightDecay over a slice, a weight decay of −0 (no decay, as MindSpore's flag says),
    # −0 params and moments
    "adamw-neg-zero-decay": (
        u8(1) + group(0, lr64=0.1, wd="-0")
        + u8(1) + vector(12)
        + settings() + u8(7) + adam_settings(1, 1, 2)
        + flag(1) + raw([0x80000000] * 12 + [0x80000000] * 12 + [0] * 12 + SPECIALS)
        + step_ops(3)
    ),
    # Adam (Nesterov), K = 2, one tensor of 1003 values: MindSpore's split into two chunks; over
    # six steps some of the elements whose formula K changes (496–501, 998, 999) change bits
    "adam-k2-1003": (
        u8(1) + group(0, lr64=0.01)
        + u8(1) + lvec(1003)
        + settings() + u8(4) + adam_settings(flags=3, k=2)
        + flag(0) + pattern(ramp(29)) + pattern([0.0]) + pattern(ramp(31, 0.5))
        + step_ops(3)
        + u8(0) + cuts((0, 500), (1, 2), order=1)      # cut at 500 and 502, around the split
        + u8(1) + cuts(shards=5, order=3, order_arg=u16(3) + u16(0) + u16(1) + u16(1))
        + u8(2) + cuts((0, 997), shards=2, order=1)
    ),
    # settings the rules refuse: F(β1) of 1, AMSGrad with Nesterov, K = 0
    "adam-refused-beta-one": (
        u8(1) + group(0) + u8(1) + vector(4) + settings() + u8(4)
        + adam_settings_any(1.0, 0.999, 1e-8)
    ),
    "adam-refused-amsgrad-nesterov": (
        u8(1) + group(0) + u8(1) + vector(4) + settings() + u8(6) + adam_settings(flags=7)
    ),
    "adam-refused-threads-zero": (
        u8(1) + group(0) + u8(1) + vector(4) + settings() + u8(4) + adam_settings(k=0)
    ),
    "adamw-refused-eps": (
        u8(1) + group(0) + u8(1) + vector(4) + settings() + u8(5)
        + adam_settings_any(0.9, 0.999, 1e-46)
    ),
})

# ----- schedules -------------------------------------------------------------------------------
# items: kind byte (0 schedule, 1 warm restarts, 2 warm-up then, 3 sequence, 4 nested, 5 table)

def sched(kind, *params):
    """kind: 0 exponential, 1 natural exp, 2 inverse, 3 cosine, 4 polynomial, 5 warm-up,
    6 warm restarts; params already encoded."""
    return u8(kind) + b"".join(params)


def steps(*ks):
    return u8(len(ks)) + b"".join(step(k) for k in ks)


COSINE = sched(3, f64p(0.0), f64p(0.1), count(100))
EXP_GROWING = sched(0, f64p(0.1), f64p(2.0), count(1), flag(0))
POLY_UPDATE = sched(4, f64p(0.1), f64p(0.01), count(4), f64p(2.0), flag(1))
WARMUP = sched(5, f64p(0.1), count(50))


def fill(kind, *params, probe=1):
    """A table filler; its last parameter is the length adjustment byte, then the entry looked up
    in the filled table (`probe`)."""
    return u8(5) + u8(kind) + b"".join(params) + u16(probe)


SCHEDULES = {
    "cosine": u8(0) + COSINE + steps(50, 99, 100, 4294967295),
    # ExponentialDecayLR(0.1, 2.0, 1): overflows to infinity past step 130: an error, not a value
    "exponential-overflow": u8(0) + EXP_GROWING + steps(10, 126, 127, 128, 200, 1 << 24),
    "polynomial-update": u8(0) + POLY_UPDATE + steps(3, 4, 5, 8, 4000000017),
    "natural-inverse-warmup": (u8(0) + sched(1, f64p(0.1), f64p(0.5), count(10), flag(1)) + steps(9, 10)
                               + u8(0) + sched(2, f64p(0.1), f64p(0.5), count(10), flag(0)) + steps(1000)
                               + u8(0) + WARMUP + steps(25, 50, 51)),
    "warm-restarts": u8(1) + f64p(0.0) + f64p(0.1) + count(10) + count(2) + step(70) + steps(9, 10, 29, 30),
    "warmup-then-cosine": u8(2) + count(50) + COSINE + steps(0, 49, 50, 150),
    "sequence": (u8(3) + u8(1) + WARMUP + COSINE + u8(0) + step(50) + u8(1)
                 + steps(49, 50, 149, 150, 151)),
    "tables": (
        fill(0, u8(3), u8(2) + u8(5), u8(2) + u8(10), u8(2) + u8(15), u8(1), u8(0),
             f64p(0.1), f64p(0.05), f64p(0.01), u8(0))
        + fill(1, u8(0), f64p(0.1), f64p(0.9), u8(2) + u16(20), count(2), count(1), flag(1), u8(0))
        + fill(1, u8(1), f64p(0.1), f64p(0.5), u8(2) + u16(20), count(2), count(2), flag(0), u8(0))
        + fill(1, u8(2), f64p(0.1), f64p(0.5), u8(2) + u16(20), count(2), count(2), flag(1), u8(0))
        + fill(4, f64p(0.0), f64p(0.1), u8(2) + u16(100), count(10), count(10), u8(0))
        + fill(5, f64p(0.1), f64p(0.01), u8(2) + u16(12), count(2), count(3), f64p(2.0), flag(1), u8(0))
        + fill(6, f64p(0.1), u8(2) + u16(10), count(1), count(4), u8(0))
    ),
}


# ----- capi ------------------------------------------------------------------------------------
# setup: tables, four schedules into the slots, 32 damaged bytes, tensors, groups, settings, the
# optimizer pointer, the counts and pointers given to init; then operations (op byte % 21).

BUF_END = 8192


def loc(kind, off=0):
    """A pointer (`loc` in capi.rs): 'null', 'any' (any alignment), 'special' (an object: for an
    optimizer call off % 5 picks the optimizer, the tensors, the groups, the tables, the schedules,
    and off // 5 % 64 the byte in it; for a table filler, a table), 'aligned'."""
    return u8({"null": 0, "any": 1, "special": 2, "aligned": 3}[kind]) + u16(off)


def special(target, at=0):
    """An optimizer call's pointer into an object: 'opt', 'tensors', 'groups', 'tables', 'scheds'."""
    i = ["opt", "tensors", "groups", "tables", "scheds"].index(target)
    return loc("special", i + 5 * at)


def capi_schedule(kind, *params):
    return u8(kind) + b"".join(params)


CAPI_SCHEDS = (
    capi_schedule(3, f64p(0.0), f64p(0.1), count(10))                         # cosine
    + capi_schedule(5, f64p(0.1), count(4))                                   # warm-up
    + capi_schedule(6, f64p(0.0), f64p(0.1), count(3), count(2))              # warm restarts
    + capi_schedule(0, f64p(0.1), f64p(0.9), count(0), cflag(0))              # refused: zero steps
)

OPT = {"null": 0, "misaligned": 1, "over-groups": 2, "over-tensors": 3, "over-settings": 4, "slot": 8}


def capi_setup(tensors, groups, sgd=0, mom=0.9, nest=0, scale=1.0, check=0, backend=0, damp=0.0,
               opt="slot", table=(0.1, 0.05, 0.02, 0.01), settings=2, rule=None, adam=b""):
    """tensors, groups: encoded; opt: where the optimizer struct is (OPT); settings: 0 NULL,
    1 misaligned, 2 good; rule: 0 Momentum, 1 SGD (the default from `sgd`), 2 Adam,
    3 AdamWeightDecay, whose own fields are `adam` (capi_adam)."""
    rule = (1 if sgd else 0) if rule is None else rule
    out = u8(len(table)) + b"".join(f32p(v) for v in table)
    out += CAPI_SCHEDS
    out += bytes(range(32))                                                    # a damaged schedule
    out += u8(len(tensors)) + b"".join(tensors)
    out += u8(len(groups)) + b"".join(groups)
    out += u8(rule) + f64p(mom) + cflag(nest) + f64p(scale) + cflag(check) + u8(backend) + f64p(damp)
    out += adam
    # the optimizer; all tensors (not NULL), all groups (not NULL); the settings
    out += u8(OPT[opt]) + u8(1) + u8(1) + u8(1) + u8(1) + u8(settings)
    return out


def capi_adam(b1=0, b2=0, e=0, ams=0, k=1, any_values=None):
    """Adam's fields (`adam_fields` in capi/model.rs): typical betas and eps by index (as
    adam_settings), or `any_values` = (β1, β2, eps) through `Reader::beta`/`eps`; ams: 0 off, 1 on
    (Nesterov off), ('any', flag) an AMSGrad flag with the Nesterov field as given; K."""
    out = u8(1) + u8(b1 | b2 << 2 | e << 4) if any_values is None else (
        u8(0) + beta(any_values[0]) + beta(any_values[1]) + eps(any_values[2]))
    out += u8(ams) if ams in (0, 1) else u8(3) + cflag(ams[1])
    return out + threads(k)


def ctensor_vec(n, grp):
    return u8(grp) + u8(8) + u8(n)


def ctensor_mat(rows, cols, grp):
    return u8(grp) + u8(3) + u8(rows - 1) + u8(cols)


def ctensor_huge(n, grp):
    """A tensor of n values (no rows)."""
    return u8(grp) + u8(1) + u64(n) + u8(0)


def cgroup_static(lr, wd=0.0, centralize=0):
    return f64p(wd) + cflag(centralize) + u8(0) + f64p(lr)


def cgroup_table(off, n, hold_last=0, wd=0.0):
    return f64p(wd) + cflag(0) + u8(3) + u8(off) + u8(n) + u8(2) + cflag(hold_last)


def cgroup_schedule(which, wd=0.0, centralize=0):
    """which: 0 NULL, 1 damaged, 2 damaged and misaligned, 4 + i: schedule i of CAPI_SCHEDS."""
    return f64p(wd) + cflag(centralize) + u8(5) + u8(which)


def op(kind, *fields):
    return u8(kind) + b"".join(fields)


def canonical3(adjust=0, base=0):
    """three() with the length the call wants: back to back at 4·base bytes."""
    return u8(1) + u8(adjust) + u8(base)


def canonical_len(n, adjust=0, base=0):
    """three() of a kernel call: n values back to back at 4·base bytes."""
    return u8(1) + u16(n) + u8(adjust) + u8(base)


def step_op(adjust=0, base=0, state=0, token=3):
    """A whole step over the canonical buffers (state: 0 the right length, 255 one more, 254 one
    fewer); the token and range bytes are read but unused."""
    return op(7, u8(token), u8(0), u8(0), canonical3(adjust, base), u8(state))


def shard_op(first, end, token=3, base=0):
    """A shard of the elements of tensors [first, end) over the canonical buffers."""
    return op(10, u8(token), u8(1), u8(first), u8(end), canonical3(base=base), u8(0))


def shard_plan(shards, index, token=3):
    """Shard `index` of a plan of `shards` (1–8), by the Rust API, over the canonical buffers."""
    return op(10, u8(token), u8(0), u8(shards - 1), u8(index), canonical3(), u8(0))


def shard_elements(start, end, token=3):
    """A shard of elements [start, end) (below the length + 3) over the canonical buffers."""
    return op(10, u8(token), u8(2), u16(start), u16(end), canonical3(), u8(0))


def with_opt(kind, sel, *fields):
    """An optimizer call on another optimizer pointer: 0 NULL, 1 misaligned, 2 an all-zero one."""
    return u8(kind | 0x80) + u8(sel) + b"".join(fields)


def fill(at, vals, is_raw=False):
    """Values into the call buffers from float index `at`."""
    enc = raw(vals) if is_raw else moderate(vals)
    return op(16, u16(at), flag(is_raw), u8(len(vals))) + enc


def edit_tensor(i, field, *v):
    """field: 0 len (then 0 +1, 1 −1, 2 + u8: that, 3 + u64: that), 1 rows (u8 % 5), 2 group,
    3 swap lengths with tensor u8."""
    return op(17, u8(i), u8(field), *v)


def edit_group(i, field, *v):
    """field: 0 lr_kind, 1 table (offset, where, [u16], length), 2 table_len, 3 schedule (where,
    [u16]), 4 hold_last, 5 centralize, 6 lr, 7 weight_decay."""
    return op(18, u8(i), u8(field), *v)


def damage(word, bit, call):
    """Flips one bit of the optimizer struct for one call (0 step, 1 global_step, 2 set_lr)."""
    return op(20, u8(0), u8(word), u8(bit), u8(call))


MOVE = op(20, u8(1), u8(0), u8(0), u8(0))


def save_op(lw=3):
    """save into the canonical place; lw: 0 NULL, 1 misaligned, 3 good `written`."""
    return op(13, u8(1), u8(0), u8(0), u8(0), u8(0), u8(lw))


def restore_op(at=1024, damage_at=None):
    """restore the last saved bytes (copied to `at`), maybe with one byte damaged."""
    d = u8(1) if damage_at is None else u8(0) + u16(damage_at) + u8(0x40)
    return op(14, loc("aligned", at), u8(0), u8(1), d, u8(0))


def query(sub, g=0, out=loc("aligned", 64), *more):
    """0 lr(g), 1 set_lr(g, f64), 2 global_step, 3 len, 4 elements(g, end; out2), 5 saved_len,
    6 state_len, 7 plan (plan_query)."""
    return op(12, out, u8(g), u8(sub), *more)


def plan_query(shards, index, out=loc("aligned", 64), out2=loc("aligned", 128)):
    """gradstep_optimizer_plan: shards 0, 'most' (usize::MAX), or 1–16; index 'past' (= shards),
    'last', or a number below 256."""
    s = u8(0) if shards == 0 else u8(1) + u8(0) if shards == "most" else u8(3) + u8(shards - 1)
    i = u8(0) if index == "past" else u8(1) + u8(0) if index == "last" else u8(3) + u8(index)
    return query(7, 0, out, out2, s, i)


def adam_kernel_op(adamw, fields, n, scale=1.0, nest=0, set_at=4, set_off=0, base=0, rows=0,
                   lr=1e-3, wd=0.0, backend=0, p1=0, p2=0):
    """gradstep_kernel_adam (or _adamw): Adam's fields, loss scale, Nesterov, check_finite,
    backend field; where the settings are (0 NULL, 1 misaligned, 2 init's, 3 in the call buffers
    at 8·set_off, 4 written to the scratch area); n values back to back at 4·base bytes (the state
    2·n or 3·n); rows (0 none); lr, weight decay, the backend id; the beta powers of step p1, p2."""
    out = op(22 if adamw else 21, fields, f64p(scale), cflag(nest), cflag(0), u8(0), u8(set_at))
    if set_at == 3:
        out += u16(set_off)
    out += canonical_len(n, base=base)
    out += u8(0) if rows == 0 else u8(2) + u8(rows - 1)
    return out + f32p(lr) + f64p(wd) + u8(backend) + power(p1) + power(p2)


THREE = [ctensor_mat(2, 4, 0), ctensor_vec(5, 1), ctensor_mat(3, 2, 2)]
THREE_GROUPS = [cgroup_static(0.1, wd=1e-4, centralize=1), cgroup_table(0, 7, hold_last=1),
                cgroup_schedule(4)]

CAPI = {
    # Momentum over a 2x4 matrix (centralized, static group with decay) and a vector (cosine
    # schedule): steps, lr, set_lr, save, restore, a sharded step
    "momentum-optimizer": (
        capi_setup([ctensor_mat(2, 4, 0), ctensor_vec(5, 1)],
                   [cgroup_static(0.1, wd=1e-4, centralize=1), cgroup_schedule(4)], scale=128.0)
        + fill(0, ramp(39, 0.5))
        + step_op() + step_op()
        + query(0, g=1)                                                   # lr(1)
        + query(1, 0, loc("aligned", 64), f64p(0.05))                     # set_lr(0, 0.05)
        + save_op()
        + step_op()
        + restore_op()
        + op(9, loc("aligned", 2048))                                     # begin_step
        + shard_op(0, 1)                                                  # tensor 0
        + shard_op(1, 2)                                                  # tensor 1
        + op(11, u8(3))                                                   # end_step
        + query(6) + query(5) + query(3) + query(2)
    ),
    # the same layout: plans (of 3 shards, of none, past the last shard, of the most shards); a
    # step in the shards of a plan of 3, out of order; then element ranges: inside the matrix's
    # first row (centralized: refused), reversed, past the buffers, a stale token, the halves of
    # the vector
    "plan-shards": (
        capi_setup([ctensor_mat(2, 4, 0), ctensor_vec(5, 1)],
                   [cgroup_static(0.1, wd=1e-4, centralize=1), cgroup_schedule(4)], scale=128.0)
        + fill(0, ramp(39, 0.5))
        + step_op()
        + plan_query(3, 1) + plan_query(3, "past") + plan_query(0, 0) + plan_query("most", "last")
        + op(9, loc("aligned", 2048))
        + shard_plan(3, 2) + shard_plan(3, 0) + shard_plan(3, 1)
        + op(11, u8(3)) + op(9, loc("aligned", 2048))
        + shard_elements(2, 8) + shard_elements(9, 8) + shard_elements(8, 14)
        + shard_elements(0, 8) + shard_elements(8, 10, token=1) + shard_elements(8, 10)
        + shard_elements(10, 13) + op(11, u8(3)) + step_op()
    ),
    # SGD with a table group (holding its last value) and a static one, Nesterov; wrong tokens
    "sgd-optimizer": (
        capi_setup([ctensor_vec(3, 0), ctensor_vec(4, 1), ctensor_mat(2, 2, 1)],
                   [cgroup_table(0, 4, hold_last=1), cgroup_static(0.01, wd=0.5)],
                   sgd=1, nest=1, backend=1)
        + fill(0, ramp(33, 0.25))
        + step_op() + step_op() + step_op() + step_op() + step_op()      # past the table's end
        + op(11, u8(3))                                                   # end_step: nothing begun
        + op(9, loc("aligned", 3000)) + op(11, u8(1))                     # end_step with step+1
        + op(11, u8(3))
        + query(4, 0, loc("aligned", 64), loc("aligned", 128), u8(2))     # elements(0, 2)
        + query(5)
    ),
    # SGD's first step, momentum and dampening, then a save/restore round trip
    "sgd-first-step": (
        capi_setup([ctensor_vec(7, 0), ctensor_mat(2, 3, 0)], [cgroup_static(0.1, centralize=1)],
                   sgd=1, mom=0.9, damp=0.1)
        + fill(0, ramp(39, 1.0))
        + step_op() + save_op() + step_op() + step_op() + restore_op(2000) + step_op()
    ),
    # kernels: aligned, misaligned, NULL with a length, overlapping, every backend id
    "kernels": (
        capi_setup([], [], opt="null")
        + fill(0, ramp(120, 0.5))
        + op(0, canonical_len(40), u8(0), f32p(0.1), f64p(0.9), f64p(0.0), cflag(1), cflag(0),
             f64p(1e-4), f64p(128.0), u8(0))
        + op(1, canonical_len(100, base=7), u8(2), u8(3), f32p(0.1), f64p(0.9), f64p(0.1),
             cflag(0), cflag(1), f64p(0.0), f64p(1.0), u8(2))
        + op(0, u8(0), loc("any", 1), loc("aligned", 400), loc("aligned", 800), u8(3) + u16(50),
             u8(0), f32p(0.1), f64p(0.9), f64p(0.0), cflag(0), cflag(0), f64p(0.0), f64p(1.0), u8(3))
        + op(0, u8(0), loc("null"), loc("aligned", 400), loc("aligned", 800), u8(3) + u16(50),
             u8(0), f32p(0.1), f64p(0.9), f64p(0.0), cflag(0), cflag(0), f64p(0.0), f64p(1.0), u8(4))
        + op(1, u8(0), loc("aligned", 0), loc("aligned", 40), loc("aligned", 400), u8(3) + u16(50),
             u8(0), f32p(0.1), f64p(0.9), f64p(0.0), cflag(0), cflag(0), f64p(0.0), f64p(1.0), u8(1))
        + op(15, u32(33), u32(2))
    ),
    # the table fillers (one over a group's table), the schedules and their learning rates
    "tables-schedules": (
        capi_setup([], [], opt="null")
        + op(2, loc("aligned", 0), u8(2) + u16(20), u8(1), count(2), count(2), u8(0),
             f64p(0.1), f64p(0.9), cflag(1))
        + op(3, loc("special", 8), u8(2) + u16(20), u8(1), count(2), count(2), u8(3),
             f64p(0.0), f64p(0.1))
        + op(2, loc("aligned", 0), u8(2) + u16(21), u8(1), count(2), count(2), u8(7),
             u8(3), u8(3), u8(1), u8(5), u8(1), u8(7), u8(1), u8(1), f64p(0.1), f64p(0.05),
             f64p(0.01), u8(1), u8(3))                                     # piecewise: 9, 15, 21
        + op(2, loc("aligned", 0), u8(2) + u16(21), u8(1), count(2), count(2), u8(6),
             u8(3), u8(3), u8(1), u8(5), u8(1), u8(7), u8(1), u8(1), f64p(0.1), f64p(0.05),
             f64p(0.01), u8(1), u8(3), loc("aligned", 512))                # its length
        + op(4, u8(1), loc("aligned", 64), capi_schedule(4, f64p(0.1), f64p(0.01), count(4),
                                                         f64p(2.0), cflag(1)),
             step(3), step(5), step(4000000017))
        + op(4, u8(4), capi_schedule(5, f64p(0.2), count(8)), step(3), step(5), step(9))  # slot 1
        + op(5, u8(4), loc("aligned", 128), step(5))
        + op(5, u8(1), loc("aligned", 128), step(5))                       # damaged schedule
        + op(6, u8(2), u8(1), u8(0), u8(1), step(10), u8(1), u8(1), loc("aligned", 128), step(12))
    ),
    # init refused: NULL optimizer, then calls on an uninitialized one
    "init-refused": (
        capi_setup([ctensor_vec(4, 0)], [cgroup_static(0.1)], opt="null")
        + step_op() + query(2) + op(9, loc("aligned", 64))
    ),
    "init-bad-group": (
        capi_setup([ctensor_vec(4, 0), ctensor_vec(4, 1)], [cgroup_static(0.1), cgroup_schedule(1)])
        + step_op()
    ),
    # init with the optimizer over the groups, the tensors, the settings; misaligned settings
    "init-overlaps": capi_setup([ctensor_vec(4, 0)], [cgroup_static(0.1)], opt="over-groups"),
    "init-over-tensors": capi_setup([ctensor_vec(4, 0)], [cgroup_static(0.1)], opt="over-tensors"),
    "init-over-settings": capi_setup([ctensor_vec(4, 0)], [cgroup_static(0.1)],
                                     opt="over-settings"),
    "init-misaligned-settings": capi_setup([ctensor_vec(4, 0)], [cgroup_static(0.1)], settings=1),
    # a layout too large for any buffer: init takes it, every call with buffers refuses them
    "huge-layout-save": (
        capi_setup([ctensor_huge(1 << 40, 0), ctensor_vec(3, 1)],
                   [cgroup_static(0.1), cgroup_table(0, 4)])
        + query(5) + query(6) + query(3) + save_op() + step_op()
        + op(9, loc("aligned", 64)) + op(11, u8(3)) + query(0, g=1) + query(2)
    ),
    # calls on an optimizer init refused, with bad out-parameters
    "uninitialized-bad-out": (
        capi_setup([ctensor_vec(4, 0)], [cgroup_static(-1.0)])
        + query(2, 0, loc("null")) + query(3, 0, loc("any", 3)) + save_op(lw=0)
        + op(9, loc("null"))
    ),
    # the caller's memory edited between calls: a tensor grows (LayoutChanged) and shrinks back,
    # lengths swapped, rows that do not divide, a group switched to a schedule, a table misaligned,
    # a NaN in a table, centralization switched, a tensor moved to another group mid-step
    "edits": (
        capi_setup(THREE, THREE_GROUPS, mom=0.9)
        + fill(0, ramp(60, 0.5)) + step_op()
        + edit_tensor(1, 0, u8(0)) + step_op() + edit_tensor(1, 0, u8(1)) + step_op()
        + edit_tensor(0, 3, u8(1)) + step_op() + edit_tensor(0, 3, u8(1))
        + edit_tensor(2, 1, u8(4)) + step_op() + edit_tensor(2, 1, u8(3))
        + edit_group(1, 0, u8(3)) + edit_group(1, 3, u8(6)) + step_op()
        + edit_group(1, 0, u8(2)) + edit_group(1, 1, u8(1), u8(1), u8(3)) + step_op()
        + edit_group(1, 1, u8(0), u8(7), u8(4)) + op(19, u8(2), f32p(float("nan")))
        + step_op() + op(19, u8(2), f32p(0.05)) + step_op()
        + edit_group(0, 5, cflag(0)) + step_op() + edit_group(0, 7, f64p(0.5)) + step_op()
        + op(9, loc("aligned", 2048)) + edit_tensor(1, 2, u8(0)) + shard_op(0, 3) + op(11, u8(3))
        + edit_group(2, 0, u8(1)) + step_op() + query(1, 2, loc("aligned", 64), f64p(0.2))
        + step_op()
    ),
    # memory a call writes over the optimizer, the tensors, the groups, a table; a group's table
    # over the params; out-parameters over the optimizer
    "overlaps": (
        capi_setup(THREE, THREE_GROUPS)
        + op(7, u8(3), u8(0), u8(0), u8(0), special("opt"), loc("aligned", 400),
             loc("aligned", 800), u8(3) + u16(10), u8(0))
        + op(7, u8(3), u8(0), u8(0), u8(0), loc("aligned", 0), special("tensors"),
             special("groups"), u8(3) + u16(10), u8(0))
        + op(7, u8(3), u8(0), u8(0), u8(0), special("tables"), loc("aligned", 400),
             loc("aligned", 800), u8(3) + u16(10), u8(0))
        + query(2, 0, special("opt")) + query(0, 1, special("groups"))
        + op(9, special("opt", 3))
        + op(13, u8(0), loc("aligned", 0), special("opt"), u8(3) + u16(20), u8(3) + u16(64), u8(3))
        + edit_group(1, 1, u8(0), u8(2), u16(0), u8(8)) + step_op()
        + edit_group(1, 1, u8(0), u8(3), u8(8)) + step_op() + query(0, 1)
        + edit_group(1, 1, u8(0), u8(7), u8(4))
        + edit_group(2, 3, u8(5)) + step_op() + query(0, 2)
        + edit_group(2, 3, u8(6)) + step_op()
    ),
    # a damaged optimizer struct (each call refuses it), then the struct moved to the other slot
    "damaged-and-moved": (
        capi_setup([ctensor_vec(6, 0)], [cgroup_static(0.1)], sgd=1, mom=0.5)
        + fill(0, ramp(18, 0.5)) + step_op()
        + damage(0, 3, 0) + damage(4, 0, 1) + damage(20, 31, 2) + damage(22, 5, 0)
        + MOVE + step_op() + with_opt(7, 2, u8(3), u8(0), u8(0), canonical3(), u8(0))
        + with_opt(12, 1, loc("aligned", 64), u8(0), u8(2))
        + MOVE + step_op() + query(2)
    ),
    # Adam (Nesterov, K = 2, loss scale 128) over three tensors in three groups: steps, the state
    # length (2·len), save, a step, restore (the beta powers come back), a sharded step
    "adam-optimizer": (
        capi_setup(THREE, THREE_GROUPS, rule=2, nest=1, scale=128.0, adam=capi_adam(k=2))
        + fill(0, ramp(38, 0.5))
        + step_op() + step_op() + query(6) + query(5)
        + save_op() + step_op() + restore_op()
        + op(9, loc("aligned", 2048)) + shard_op(1, 3) + shard_op(0, 1) + op(11, u8(3))
        + step_op(state=254) + query(2)
        # shards cutting tensors: Adam's kernel told where a slice lies in its tensor
        + op(9, loc("aligned", 2048)) + shard_elements(2, 10) + shard_elements(0, 4)
        + shard_elements(4, 10) + shard_elements(10, 19) + op(11, u8(3)) + plan_query(4, 2)
    ),
    # AMSGrad (three state buffers, 3·len), β 0.5 / 0.75, eps 1e-3: steps, a damaged restore, a
    # shard, the optimizer moved
    "amsgrad-optimizer": (
        capi_setup(THREE, THREE_GROUPS, rule=2, backend=1, adam=capi_adam(1, 1, 2, ams=1))
        + fill(0, ramp(38, 0.25))
        + step_op() + query(6) + save_op() + step_op() + restore_op(damage_at=40) + restore_op()
        + op(9, loc("aligned", 2048)) + shard_op(0, 3) + op(11, u8(3)) + MOVE + step_op()
    ),
    # AdamWeightDecay: decoupled decay per group, set_lr, save and restore
    "adamw-optimizer": (
        capi_setup(THREE, [cgroup_static(0.01, wd=0.01, centralize=1), cgroup_table(0, 4, wd=0.1),
                           cgroup_schedule(4)], rule=3, backend=2, adam=capi_adam(0, 0, 1))
        + fill(0, ramp(38, 0.5))
        + step_op() + query(1, 0, loc("aligned", 64), f64p(0.05)) + step_op() + query(6)
        + save_op() + step_op() + restore_op() + step_op()
    ),
    # the Adam kernels: plain, AMSGrad (its three state buffers), Nesterov with rows, on each
    # backend id; settings NULL, misaligned, init's, in the call buffers; bad settings; AdamW
    "adam-kernels": (
        capi_setup([], [], opt="null")
        + fill(0, ramp(240, 0.5))
        + adam_kernel_op(False, capi_adam(k=1), 45, backend=1)
        + adam_kernel_op(False, capi_adam(ams=1, k=3), 40, base=2, backend=2, p1=4, p2=4,
                         wd=1e-4, scale=128.0)
        + adam_kernel_op(False, capi_adam(k=2), 36, nest=1, rows=4, backend=3, p1=1, p2=1)
        + adam_kernel_op(False, capi_adam(1, 1, 2), 33, backend=4, lr=0.1)
        + adam_kernel_op(False, capi_adam(), 20, set_at=0)
        + adam_kernel_op(False, capi_adam(), 20, set_at=1)
        + adam_kernel_op(False, capi_adam(), 20, set_at=2)
        + adam_kernel_op(False, capi_adam(), 20, set_at=3, set_off=30)
        + adam_kernel_op(False, capi_adam(any_values=(0.0, 0.999, 1e-8)), 20)
        + adam_kernel_op(False, capi_adam(ams=("any", 1)), 20, nest=1)
        + adam_kernel_op(False, capi_adam(k=0), 20)
        + adam_kernel_op(True, capi_adam(), 40, wd=0.01, backend=2, rows=5)
        + adam_kernel_op(True, capi_adam(any_values=(0.9, float("nan"), 1e-6)), 40)
        + adam_kernel_op(True, capi_adam(any_values=(0.9, 0.999, -0.0)), 40)
    ),
    # init refuses Adam's and AdamWeightDecay's bad settings, before the groups
    "adam-init-beta-one": capi_setup([ctensor_vec(4, 0)], [cgroup_static(-1.0)], rule=2,
                                     adam=capi_adam(any_values=(1.0, 0.999, 1e-8))),
    "adam-init-amsgrad-nesterov": capi_setup([ctensor_vec(4, 0)], [cgroup_static(0.1)], rule=2,
                                             nest=1, adam=capi_adam(ams=("any", 1))),
    "adam-init-threads-zero": capi_setup([ctensor_vec(4, 0)], [cgroup_static(0.1)], rule=2,
                                         adam=capi_adam(k=0)),
    "adamw-init-eps": capi_setup([ctensor_vec(4, 0)], [cgroup_static(0.1)], rule=3,
                                 adam=capi_adam(any_values=(0.9, 0.999, 0.0))),
}

# Inputs on which fuzzing found bugs, re-encoded in the current input format (all fixed but where
# the comment says "open").
CAPI_FOUND = {
    # open: step_shard refuses NULL buffers of length 0 (an empty layout) with NullPointer, where
    # the C API's rule (NULL only with length 0) and gradstep_optimizer_step accept them
    "shard-null-empty-buffers": (
        capi_setup([ctensor_vec(0, 0)], [cgroup_static(0.1)])
        + op(7, u8(3), u8(0), u8(0), u8(0), loc("null"), loc("null"), loc("null"), u8(0), u8(0))
        + op(9, loc("aligned", 64))
        + op(10, u8(3), u8(1), u8(0), u8(1), u8(0), loc("null"), loc("null"), loc("null"), u8(0),
             u8(0))
    ),
    # begin_step with a NULL token pointer planned the step all the same
    "begin-step-bad-token-pointer": (
        capi_setup([ctensor_vec(4, 0)], [cgroup_static(0.1)])
        + op(9, loc("null")) + op(9, loc("any", 1)) + op(11, u8(3)) + shard_op(0, 1)
    ),
    # elements with a NULL len pointer wrote the offset
    "elements-bad-len-pointer": (
        capi_setup([ctensor_vec(4, 0), ctensor_vec(2, 0)], [cgroup_static(0.1)])
        + query(4, 1, loc("aligned", 64), loc("null"), u8(2))
        + query(4, 1, loc("aligned", 64), loc("any", 129), u8(2))
    ),
    # a step that failed after planning left the step planned
    "failed-step-plans": (
        capi_setup([ctensor_vec(4, 0)], [cgroup_static(0.1)], check=1)
        + fill(4, [0x7FC00000, 0, 0, 0], is_raw=True)
        + step_op() + op(11, u8(3)) + shard_op(0, 1) + step_op(state=254) + op(11, u8(3))
    ),
    # a weight decay of −0 was refused
    "neg-zero-weight-decay": (
        capi_setup([ctensor_vec(4, 0)], [f64p("-0") + cflag(0) + u8(0) + f64p(0.1)])
        + fill(0, ramp(12)) + step_op()
    ),
    # save with a NULL or misaligned `written` wrote the saved bytes
    "save-bad-written-pointer": (
        capi_setup([ctensor_vec(4, 0)], [cgroup_static(0.1)])
        + save_op(lw=0) + save_op(lw=1)
    ),
    # a plan's boundary overflowed (total bytes × shard index past 2^128) for AMSGrad over
    # 5.5e17 elements and shard usize::MAX − 2 of usize::MAX
    "plan-overflow": (
        capi_setup([ctensor_huge(550_000_000_000_000_000, 0)], [cgroup_static(0.1)], rule=2,
                   adam=capi_adam(ams=1))
        + query(3) + plan_query(3, 1) + plan_query("most", "last")
    ),
    # saved_len overflowed for a layout larger than memory (now refused at init)
    "saved-len-overflow": (
        capi_setup([ctensor_huge(0xFFFFFFFFFFFFFFFF, 0)], [cgroup_static(0.1)])
        + query(5) + query(6)
    ),
}


def write(target, seeds, prefix="seed-"):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, prefix + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("kernel_equivalence", KERNEL)
    write("layout_validation", LAYOUT)
    write("schedules", SCHEDULES)
    write("capi", CAPI)
    write("capi", CAPI_FOUND, prefix="found-")
