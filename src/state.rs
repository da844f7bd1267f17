//! Saved optimizer state: the step counter, SGD's first-step flag, the groups' static learning
//! rates and the state buffer, as bytes, so that training resumes bit for bit.
//!
//! Format (version 1), all integers little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `GSTP` |
//! | 2 | format version |
//! | 1 | optimizer: 1 Momentum, 2 SGD |
//! | 1 | flags: bit 0 set once a step has completed |
//! | 4 | global step |
//! | 4 | number of groups `N` |
//! | 8 | state length `n` |
//! | 4·N | each group's static learning rate (`f32` bits), or `0xffffffff` if not static |
//! | 4·n | the state buffer (`f32`, little-endian) |
//! | 4 | FNV-1a checksum of everything before it |

use crate::error::{Buffer, Error, SavedStateProblem};
use crate::group::GroupLike;
use crate::lr::Lr;
use crate::optim::{Core, Update};

const MAGIC: [u8; 4] = *b"GSTP";
const VERSION: u16 = 1;
const HEADER: usize = 4 + 2 + 1 + 1 + 4 + 4 + 8;
/// The marker of a group whose learning rate is not static (a NaN, which no static lr is).
const NOT_STATIC: u32 = 0xffff_ffff;

/// The number of bytes saved for `groups` groups and a state of `len` elements; `usize::MAX`
/// (a length no buffer has, so saving and restoring fail with a length error) when that does not
/// fit a `usize` (a layout may declare more elements than memory holds).
pub(crate) fn saved_len(groups: usize, len: usize) -> usize {
    (HEADER + 4)
        .saturating_add(groups.saturating_mul(4))
        .saturating_add(len.saturating_mul(4))
}

/// FNV-1a, 32 bits: enough to notice damaged bytes, small enough for a microcontroller.
fn checksum(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, &b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

fn static_lr<G: GroupLike>(g: &G) -> u32 {
    match g.lr_source() {
        Lr::Static(v) => v.to_bits(),
        _ => NOT_STATIC,
    }
}

pub(crate) fn save<U: Update, G: GroupLike>(
    core: &Core<'_, U>,
    groups: &[G],
    state: &[f32],
    out: &mut [u8],
) -> Result<usize, Error> {
    if state.len() != core.total {
        return Err(Error::LengthMismatch {
            buffer: Buffer::State,
            expected: core.total,
            actual: state.len(),
        });
    }
    let len = saved_len(groups.len(), state.len());
    let Some(out) = out.get_mut(..len) else {
        return Err(Error::LengthMismatch {
            buffer: Buffer::SavedState,
            expected: len,
            actual: out.len(),
        });
    };
    let (body, sum) = out.split_at_mut(len - 4);
    let (header, rest) = body.split_at_mut(HEADER);
    header[0..4].copy_from_slice(&MAGIC);
    header[4..6].copy_from_slice(&VERSION.to_le_bytes());
    header[6] = U::KIND;
    header[7] = core.rule.started() as u8;
    header[8..12].copy_from_slice(&core.step.to_le_bytes());
    header[12..16].copy_from_slice(&(groups.len() as u32).to_le_bytes());
    header[16..24].copy_from_slice(&(state.len() as u64).to_le_bytes());
    let (lrs, rest) = rest.split_at_mut(4 * groups.len());
    for (chunk, g) in lrs.chunks_exact_mut(4).zip(groups) {
        chunk.copy_from_slice(&static_lr(g).to_le_bytes());
    }
    write_f32s(state, rest);
    sum.copy_from_slice(&checksum(body).to_le_bytes());
    Ok(len)
}

pub(crate) fn restore<U: Update, G: GroupLike>(
    core: &mut Core<'_, U>,
    groups: &mut [G],
    bytes: &[u8],
    state: &mut [f32],
) -> Result<(), Error> {
    use SavedStateProblem::*;
    let bad = Error::SavedState;
    if state.len() != core.total {
        return Err(Error::LengthMismatch {
            buffer: Buffer::State,
            expected: core.total,
            actual: state.len(),
        });
    }
    if bytes.len() < HEADER || bytes[0..4] != MAGIC {
        return Err(bad(NotASavedState));
    }
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    if u16::from_le_bytes([bytes[4], bytes[5]]) != VERSION {
        return Err(bad(Version));
    }
    if bytes[6] != U::KIND {
        return Err(bad(Optimizer));
    }
    if u32_at(12) as usize != groups.len() {
        return Err(bad(Groups));
    }
    let len = u64::from_le_bytes(bytes[16..24].try_into().map_err(|_| bad(Length))?);
    if len != core.total as u64 || bytes.len() != saved_len(groups.len(), core.total) {
        return Err(bad(Length));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 4);
    if checksum(body).to_le_bytes() != sum {
        return Err(bad(Checksum));
    }
    let lrs = &bytes[HEADER..HEADER + 4 * groups.len()];
    for (chunk, g) in lrs.chunks_exact(4).zip(groups.iter()) {
        let saved = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        if (saved == NOT_STATIC) != (static_lr(g) == NOT_STATIC) {
            return Err(bad(Groups));
        }
    }
    // everything checked: now write
    for (chunk, g) in lrs.chunks_exact(4).zip(groups.iter_mut()) {
        let saved = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        if saved != NOT_STATIC {
            g.set_static(f32::from_bits(saved));
        }
    }
    read_f32s(&bytes[HEADER + 4 * groups.len()..bytes.len() - 4], state);
    core.step = u32_at(8);
    core.rule.set_started(bytes[7] & 1 != 0);
    core.planned = None;
    Ok(())
}

/// `values` as little-endian bytes into `out` (4 per value).
fn write_f32s(values: &[f32], out: &mut [u8]) {
    if cfg!(target_endian = "little") {
        out.copy_from_slice(bytemuck::cast_slice(values));
    } else {
        for (chunk, v) in out.chunks_exact_mut(4).zip(values) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
    }
}

/// Little-endian bytes (4 per value) into `values`.
fn read_f32s(bytes: &[u8], values: &mut [f32]) {
    if cfg!(target_endian = "little") {
        bytemuck::cast_slice_mut::<f32, u8>(values).copy_from_slice(bytes);
    } else {
        for (v, chunk) in values.iter_mut().zip(bytes.chunks_exact(4)) {
            *v = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
    }
}
