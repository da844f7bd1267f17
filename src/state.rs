//! The saved-state codec: a header, the groups' static learning rates and the state buffers, as
//! bytes, so that training resumes bit for bit. It knows the format, not the optimizers: the
//! optimizer fills a [`Header`] and checks the one it reads back.
//!
//! Format (version 2), all integers little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `GSTP` |
//! | 2 | format version |
//! | 1 | rule: 1 Momentum, 2 SGD |
//! | 1 | number of state buffers `b` |
//! | 4 | global step |
//! | 4 | number of groups `N` |
//! | 8 | length `n` of each state buffer |
//! | 8 | the rule's own values (SGD: bit 0 of the first word set once a step has completed) |
//! | 4·N | each group's static learning rate (`f32` bits), or `0xffffffff` if not static |
//! | 4·b·n | the state buffers, one after the other (`f32`, little-endian) |
//! | 4 | FNV-1a checksum of everything before it |

use crate::error::{Buffer, Error, SavedStateProblem};

const MAGIC: [u8; 4] = *b"GSTP";
const VERSION: u16 = 2;
const HEADER: usize = 4 + 2 + 1 + 1 + 4 + 4 + 8 + 8;
/// The marker of a group whose learning rate is not static (a NaN, which no static lr is).
pub(crate) const NOT_STATIC: u32 = 0xffff_ffff;

/// What the optimizer writes about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub rule: u8,
    pub buffers: u8,
    pub step: u32,
    pub groups: u32,
    pub len: u64,
    pub scalars: [u32; 2],
}

/// The number of bytes saved for `groups` groups and `values` state values. The callers' bounds
/// (a layout of at most `layout::MAX_ELEMENTS` elements, a group array that fits in memory) keep
/// it well inside `usize`.
pub(crate) const fn saved_len(groups: usize, values: usize) -> usize {
    HEADER + 4 * groups + 4 * values + 4
}

/// FNV-1a, 32 bits: enough to notice damaged bytes, small enough for a microcontroller.
pub(crate) fn checksum(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, &b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

/// Writes `header`, the `lrs` (one per group) and `values` (all state buffers) into the start of
/// `out`; returns the number of bytes written. Nothing is written when `out` is too short.
pub(crate) fn write(
    header: &Header,
    lrs: impl ExactSizeIterator<Item = u32>,
    values: &[f32],
    out: &mut [u8],
) -> Result<usize, Error> {
    let len = saved_len(lrs.len(), values.len());
    let Some(out) = out.get_mut(..len) else {
        return Err(Error::LengthMismatch {
            buffer: Buffer::SavedState,
            expected: len,
            actual: out.len(),
        });
    };
    let (body, sum) = out.split_at_mut(len - 4);
    let (head, rest) = body.split_at_mut(HEADER);
    head[0..4].copy_from_slice(&MAGIC);
    head[4..6].copy_from_slice(&VERSION.to_le_bytes());
    head[6] = header.rule;
    head[7] = header.buffers;
    head[8..12].copy_from_slice(&header.step.to_le_bytes());
    head[12..16].copy_from_slice(&header.groups.to_le_bytes());
    head[16..24].copy_from_slice(&header.len.to_le_bytes());
    head[24..28].copy_from_slice(&header.scalars[0].to_le_bytes());
    head[28..32].copy_from_slice(&header.scalars[1].to_le_bytes());
    let (lr_bytes, value_bytes) = rest.split_at_mut(rest.len() - 4 * values.len());
    for (chunk, lr) in lr_bytes.chunks_exact_mut(4).zip(lrs) {
        chunk.copy_from_slice(&lr.to_le_bytes());
    }
    write_f32s(values, value_bytes);
    sum.copy_from_slice(&checksum(body).to_le_bytes());
    Ok(len)
}

/// Saved bytes whose format, lengths and checksum are right.
pub(crate) struct Saved<'b> {
    pub header: Header,
    lrs: &'b [u8],
    values: &'b [u8],
}

/// Reads the bytes [`write`] wrote: the magic, the version, lengths that agree with the header,
/// and the checksum.
pub(crate) fn read(bytes: &[u8]) -> Result<Saved<'_>, Error> {
    use SavedStateProblem::*;
    let bad = Error::SavedState;
    if bytes.len() < HEADER + 4 || bytes[0..4] != MAGIC {
        return Err(bad(NotASavedState));
    }
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    if u16::from_le_bytes([bytes[4], bytes[5]]) != VERSION {
        return Err(bad(Version));
    }
    let header = Header {
        rule: bytes[6],
        buffers: bytes[7],
        step: u32_at(8),
        groups: u32_at(12),
        len: u32_at(16) as u64 | (u32_at(20) as u64) << 32,
        scalars: [u32_at(24), u32_at(28)],
    };
    // the lengths the header announces, without overflow whatever it says
    let lrs = 4 * header.groups as u64;
    let total = (header.len)
        .checked_mul(4 * header.buffers as u64)
        .and_then(|values| values.checked_add(HEADER as u64 + lrs + 4));
    if total != Some(bytes.len() as u64) {
        return Err(bad(Length));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 4);
    if checksum(body).to_le_bytes() != sum {
        return Err(bad(Checksum));
    }
    let (lrs, values) = body[HEADER..].split_at(lrs as usize);
    Ok(Saved {
        header,
        lrs,
        values,
    })
}

impl Saved<'_> {
    /// Group `i`'s saved static learning rate (bits), or [`NOT_STATIC`].
    pub fn lrs(&self) -> impl Iterator<Item = u32> + '_ {
        self.lrs
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
    }

    /// The state values into `out`, which the caller has checked holds exactly as many.
    pub fn values_into(&self, out: &mut [f32]) {
        read_f32s(self.values, out);
    }
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
