#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz targets (fuzz/seeds/<target>/seed-*).

The encoders below mirror `Reader` in fuzz_targets/common/mod.rs (little-endian integers, tag
bytes choosing typical values); the field order of each input is the order in which its target
reads it. Run from anywhere: `python3 fuzz/seeds/make_seeds.py`. The found-* inputs beside the
seeds are not written here: they are inputs the fuzzer found (minimized with `cargo fuzz tmin`)
that made gradstep fail before it was fixed, kept as regression inputs; each name says what
went wrong.
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


# ----- layout_validation -----------------------------------------------------------------------
# n_groups, each group (kind, lr f64, lr f32, table, hold_last, schedule, weight decay, centralize),
# n_tensors, each tensor (group byte, kind, sizes), path, momentum, nesterov, loss scale,
# check_finite, dampening, constructor, then raw flag, params, state, grads, operations.

def group(kind, lr64=0.1, lr32=0.1, table=(), hold_last=0, source=None, wd=0.0, centralize=0):
    """kind: 0 Lr::fixed(lr64), 1 Lr::Static(lr32), 2 Lr::table, 3 Table with PastEnd, 4 schedule."""
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


def settings(path=0, mom=0.9, nest=0, scale=1.0, check=0, damp=0.0):
    return u8(path) + f64p(mom) + flag(nest) + f64p(scale) + flag(check) + f64p(damp)


def step_ops(n):
    return b"".join(u8(0) + u8(0) + flag(0) for _ in range(n))  # whole steps, one shard each


LAYOUT = {
    # two groups (fixed lr with decay and centralization; a cosine schedule), Momentum over a
    # GroupTable: three tensors (8 values of a 2x4 matrix, 4, 4), steps, save/restore, lr queries
    "momentum-two-groups": (
        u8(2) + group(0, lr64=0.1, wd=1e-4, centralize=1)
        + group(4, source=cosine_source(0.0, 0.1, 10))
        + u8(3) + mat(2, 4) + vector(4) + vector(4)
        + settings(path=0, mom=0.9, scale=128.0) + u8(0)
        + flag(0) + moderate(ramp(16)) + moderate([0.0] * 16) + moderate(ramp(16, 0.5))
        + u8(0) + u8(0) + flag(0)                      # a whole step (twin: one shard)
        + u8(1) + u8(2) + u8(1) + u8(2) + flag(1)      # a step, twin in two shards, reversed
        + u8(5) + u8(0) + u8(0) + u8(0) + f64p(0.05)   # save, step, set_lr, restore
        + u8(8)                                        # the next learning rates
    ),
    # SGD over a slice of groups: a table ending in an error (2 steps), a static group; the
    # third step is past the table's end
    "sgd-table-past-end": (
        u8(2) + group(2, table=(0.1, 0.05)) + group(1, lr32=0.01, wd=0.5)
        + u8(2) + vector(5) + vector(3)
        + settings(path=1, mom=0.9, damp=0.1) + u8(3)
        + flag(0) + moderate(ramp(8)) + moderate([0.0] * 8) + moderate(ramp(8, 2.0))
        + step_ops(2) + u8(0)                          # steps 0 and 1; step 2 fails
        + u8(4) + u8(1) + f64p(0.2)                    # set_lr of the static group
        + u8(4) + u8(0) + f64p(0.2)                    # set_lr of the table group: NotStatic
    ),
    # wrong lengths, a stale token, damaged saved state
    "errors": (
        u8(1) + group(0, lr64=0.1)
        + u8(2) + vector(6) + mat(3, 2)
        + settings(path=2, mom=0.5, nest=1, check=1) + u8(2)
        + flag(0) + moderate(ramp(12)) + moderate(ramp(12, 0.1)) + moderate(ramp(12))
        + u8(3) + u8(1) + u8(0) + flag(1)              # grads one too long
        + u8(3) + u8(2) + u8(1) + flag(0)              # state two too short
        + u8(7) + u8(0) + u8(1) + u8(0) + flag(1)      # a shard of tensor 0, then a stale token
        + u8(6) + u8(1) + u16(30) + u8(0x40)           # restore with one byte damaged
        + u8(6) + u8(2) + u8(0) + u32(0xFFFFFFFF)      # restore with the step at u32::MAX
        + u8(0) + u8(0) + flag(0)                      # ... so the next step overflows
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


def fill(kind, *params):
    return u8(5) + u8(kind) + b"".join(params)


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

AREA = 4096


def loc(kind, off=0):
    """A pointer into the call buffers: 'null', 'any' (any alignment) or 'aligned'."""
    return u8({"null": 0, "any": 1, "aligned": 2}[kind]) + u16(off)


def capi_schedule(kind, *params):
    return u8(kind) + b"".join(params)


CAPI_SCHEDS = (
    capi_schedule(3, f64p(0.0), f64p(0.1), count(10))                         # cosine
    + capi_schedule(5, f64p(0.1), count(4))                                   # warm-up
    + capi_schedule(6, f64p(0.0), f64p(0.1), count(3), count(2))              # warm restarts
    + capi_schedule(0, f64p(0.1), f64p(0.9), count(0), cflag(0))              # refused: zero steps
)


def capi_setup(tensors, groups, sgd=0, mom=0.9, nest=0, scale=1.0, check=0, path=0, damp=0.0,
               opt=2, table=(0.1, 0.05, 0.02, 0.01)):
    """tensors: encoded; groups: encoded list; opt: 0 NULL, 1 misaligned, 2 the box."""
    out = u8(len(table)) + b"".join(f32p(v) for v in table)
    out += CAPI_SCHEDS
    out += bytes(range(32))                                                    # a damaged schedule
    out += u8(len(tensors)) + b"".join(tensors)
    out += u8(len(groups)) + b"".join(groups)
    out += flag(sgd) + f64p(mom) + cflag(nest) + f64p(scale) + cflag(check) + u8(path) + f64p(damp)
    out += u8(opt) + u8(1) + u8(1) + u8(1) + u8(1) + u8(1)  # all tensors and groups, settings given
    return out


def ctensor_vec(n, grp):
    return u8(grp) + u8(8) + u8(n)


def ctensor_mat(rows, cols, grp):
    return u8(grp) + u8(3) + u8(rows - 1) + u8(cols)


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


def step_op(adjust=0, base=0):
    return op(7, u8(3), u8(0), u8(0), canonical3(adjust, base))


CAPI = {
    # Momentum over a 2x4 matrix (centralized, static group with decay) and a vector (cosine
    # schedule): steps, a step with a short buffer, lr, set_lr, save, restore, a sharded step
    "momentum-optimizer": (
        capi_setup([ctensor_mat(2, 4, 0), ctensor_vec(5, 1)],
                   [cgroup_static(0.1, wd=1e-4, centralize=1), cgroup_schedule(4)], scale=128.0)
        + step_op() + step_op(base=3)
        + op(12, loc("aligned", 64), u8(1), u8(0))                        # lr(1)
        + op(12, loc("aligned", 64), u8(0), u8(1), f64p(0.05))            # set_lr(0, 0.05)
        + op(13, u8(1), u8(0), u8(0), u8(0), u8(0), u8(2))                # save
        + step_op()
        + op(14, loc("aligned", 1024), u8(0), u8(1), u8(1), u8(0))        # restore the save
        + op(9, loc("aligned", 2048))                                     # begin_step
        + op(10, u8(3), u8(0), u8(1), canonical3())                       # shard: tensor 0
        + op(10, u8(3), u8(1), u8(2), canonical3(base=5))                 # shard: tensor 1
        + op(11, u8(3))                                                   # end_step
    ),
    # SGD with a table group (holding its last value) and a static one, Nesterov; wrong tokens
    "sgd-optimizer": (
        capi_setup([ctensor_vec(3, 0), ctensor_vec(4, 1), ctensor_mat(2, 2, 1)],
                   [cgroup_table(0, 4, hold_last=1), cgroup_static(0.01, wd=0.5)],
                   sgd=1, nest=1, path=1)
        + step_op() + step_op() + step_op() + step_op() + step_op()      # past the table's end
        + op(11, u8(3))                                                   # end_step: nothing begun
        + op(9, loc("aligned", 3000)) + op(11, u8(1))                     # end_step with step+1
        + op(11, u8(3))
        + op(12, loc("aligned", 64), u8(0), u8(4), loc("aligned", 128), u8(2))   # elements
        + op(12, loc("aligned", 64), u8(0), u8(5))                        # saved_len
    ),
    # kernels: aligned, misaligned, NULL with a length, overlapping, every path id
    "kernels": (
        capi_setup([], [], opt=0)
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
    # the table fillers, the schedules and their learning rates
    "tables-schedules": (
        capi_setup([], [], opt=0)
        + op(2, loc("aligned", 0), u8(2) + u16(20), u8(1), count(2), count(2), u8(0),
             f64p(0.1), f64p(0.9), cflag(1))
        + op(3, loc("aligned", 0), u8(2) + u16(20), u8(1), count(2), count(2), u8(3),
             f64p(0.0), f64p(0.1))
        + op(2, loc("aligned", 0), u8(2) + u16(21), u8(1), count(2), count(2), u8(7),
             u8(3), u8(3), u8(1), u8(5), u8(1), u8(7), u8(1), u8(1), f64p(0.1), f64p(0.05),
             f64p(0.01), u8(1), u8(3))                                     # piecewise: 9, 15, 21
        + op(2, loc("aligned", 0), u8(2) + u16(21), u8(1), count(2), count(2), u8(6),
             u8(3), u8(3), u8(1), u8(5), u8(1), u8(7), u8(1), u8(1), f64p(0.1), f64p(0.05),
             f64p(0.01), u8(1), u8(3), loc("aligned", 512))                # its length
        + op(4, loc("aligned", 64), capi_schedule(4, f64p(0.1), f64p(0.01), count(4), f64p(2.0),
                                                   cflag(1)), step(3), step(5), step(4000000017))
        + op(5, u8(4), loc("aligned", 128), step(5))
        + op(5, u8(1), loc("aligned", 128), step(5))                       # damaged schedule
        + op(6, u8(2), u8(1), u8(0), u8(1), step(10), u8(1), u8(1), loc("aligned", 128), step(12))
    ),
    # init refused: NULL optimizer, then calls on an uninitialized one
    "init-refused": (
        capi_setup([ctensor_vec(4, 0)], [cgroup_static(0.1)], opt=0)
        + step_op() + op(12, loc("aligned", 64), u8(0), u8(2)) + op(9, loc("aligned", 64))
    ),
    "init-bad-group": (
        capi_setup([ctensor_vec(4, 0), ctensor_vec(4, 1)], [cgroup_static(0.1), cgroup_schedule(1)])
        + step_op()
    ),
}


def write(target, seeds):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, "seed-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("kernel_equivalence", KERNEL)
    write("layout_validation", LAYOUT)
    write("schedules", SCHEDULES)
    write("capi", CAPI)
