//! The layout of the flat buffers: one [`Tensor`] descriptor per tensor, back to back, in the
//! caller's order (what MindSpore's `order_params` sets), each naming the one group it belongs to
//! — so no tensor can be in two groups, MindSpore's rule by construction (`docs/SEMANTICS.md` §1.3).

use core::num::NonZeroUsize;
use core::ops::Range;

use crate::error::Error;

/// One tensor of the layout: its length, its leading dimension, and its group.
///
/// Laid out as C lays out three `size_t`s (C's `gradstep_tensor`, where `rows` 0 means none),
/// and every bit pattern is a value: the C API reads the caller's array as it is.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tensor {
    /// The number of elements.
    pub len: usize,
    /// The leading dimension (rows) of a tensor of rank ≥ 2, which gradient centralization
    /// centres row by row; none (0 in C) for a tensor of rank 1, never centralized. It must
    /// divide `len`.
    pub rows: Option<NonZeroUsize>,
    /// The index of the tensor's group.
    pub group: usize,
}

impl Tensor {
    /// A tensor of rank 1 (a bias, a normalization scale): never centralized.
    pub const fn vector(len: usize, group: usize) -> Tensor {
        Tensor {
            len,
            rows: None,
            group,
        }
    }

    /// A tensor of rank ≥ 2 with `rows` rows (its leading dimension) of `cols` elements: a
    /// dense weight `[out, in]`, or a convolution weight `[out, in·kh·kw]`. A tensor of no rows
    /// has no elements and nothing to centralize.
    pub const fn matrix(rows: usize, cols: usize, group: usize) -> Tensor {
        Tensor {
            len: rows.saturating_mul(cols),
            rows: NonZeroUsize::new(rows),
            group,
        }
    }
}

/// The most elements a layout may have: every buffer of them (and the bytes of a saved state)
/// must fit in memory, whose objects are at most `isize::MAX` bytes. Leaves room for a rule's
/// several state buffers and for the saved state's header.
pub(crate) const MAX_ELEMENTS: usize = isize::MAX as usize / 16 - 64;

/// Validates a layout against `groups` groups and returns its total length: [`total`]'s rules,
/// and every group has a tensor.
pub(crate) fn check(tensors: &[Tensor], groups: usize) -> Result<usize, Error> {
    let total = total(tensors, groups)?;
    if let Some(group) = (0..groups).find(|&g| !tensors.iter().any(|t| t.group == g)) {
        return Err(Error::EmptyGroup { group });
    }
    Ok(total)
}

/// The total length of a layout whose every tensor names one of `groups` groups and has rows
/// that divide its length, with at most [`MAX_ELEMENTS`] elements: what a step relies on, checked
/// in one pass (the C API's layout is re-read at every call).
pub(crate) fn total(tensors: &[Tensor], groups: usize) -> Result<usize, Error> {
    let mut total = 0usize;
    for (i, t) in tensors.iter().enumerate() {
        if t.group >= groups {
            return Err(Error::GroupOutOfRange {
                tensor: i,
                group: t.group,
            });
        }
        if let Some(rows) = t.rows
            && !t.len.is_multiple_of(rows.get())
        {
            return Err(Error::TensorRows { tensor: i });
        }
        total = total.checked_add(t.len).ok_or(Error::LayoutTooLarge)?;
    }
    if total > MAX_ELEMENTS {
        return Err(Error::LayoutTooLarge);
    }
    Ok(total)
}

/// The element range of tensors `[start, end)` in the flat buffers, of a layout that
/// [`check`] accepted.
pub(crate) fn elements(tensors: &[Tensor], range: Range<usize>) -> Result<Range<usize>, Error> {
    let Range { start, end } = range;
    if start > end || end > tensors.len() {
        return Err(Error::TensorRange { start, end });
    }
    let before: usize = tensors[..start].iter().map(|t| t.len).sum();
    let within: usize = tensors[start..end].iter().map(|t| t.len).sum();
    Ok(before..before + within)
}
