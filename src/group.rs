//! Parameter groups and the layout of the flat buffers (`docs/SEMANTICS.md` §1.3).
//!
//! The parameters, gradients and optimizer state are three flat `f32` buffers of the same length,
//! owned by the caller. The [`Tensor`]s lie in them back to back, in the caller's order (what
//! MindSpore's `order_params` sets), and each names the one [`Group`] it belongs to — so no tensor
//! can be in two groups, MindSpore's rule by construction. A group has its own learning rate,
//! weight decay and gradient-centralization switch.

use crate::error::{Error, Param};
use crate::hyper::{self, GradPrep};
use crate::lr::{Lr, PastEnd};

/// One tensor of the layout: its length, its leading dimension, and its group.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tensor {
    /// The number of elements.
    pub len: usize,
    /// The leading dimension (rows) of a tensor of rank ≥ 2, which gradient centralization
    /// centres row by row; 0 for a tensor of rank 1 (never centralized).
    pub rows: usize,
    /// The index of the tensor's group.
    pub group: usize,
}

impl Tensor {
    /// A tensor of rank 1 (a bias, a normalization scale): never centralized.
    pub const fn vector(len: usize, group: usize) -> Tensor {
        Tensor {
            len,
            rows: 0,
            group,
        }
    }

    /// A tensor of rank ≥ 2 with `rows` rows (its leading dimension) of `cols` elements: a
    /// dense weight `[out, in]`, or a convolution weight `[out, in·kh·kw]`.
    pub const fn matrix(rows: usize, cols: usize, group: usize) -> Tensor {
        Tensor {
            len: rows.saturating_mul(cols),
            rows,
            group,
        }
    }
}

/// One parameter group: a learning-rate source, a weight decay and a centralization switch.
#[derive(Clone, Copy, Debug)]
pub struct Group<'a> {
    lr: Lr<'a>,
    /// The `f64` weight decay as two words, so that a group is 4-byte aligned: moving a table
    /// of 8-byte-aligned groups on a 32-bit core links a second copy routine (`__aeabi_memcpy8`,
    /// `__aeabi_memclr8`) besides the 4-byte ones a firmware has anyway.
    weight_decay: [u32; 2],
    centralize: bool,
    /// The learning rate planned for the step in progress (see [`crate::optim`]).
    planned: f32,
    /// `F(wd·L)` and `F(1/L)` with the optimizer's loss scale, set when the optimizer is built.
    prep: GradPrep,
}

impl<'a> Group<'a> {
    /// `weight_decay` finite and ≥ 0 (coupled: added to the gradient, MindSpore's way); a static
    /// learning rate finite and ≥ 0. `centralize` subtracts each row's mean gradient in the group's
    /// tensors of rank ≥ 2.
    pub fn new(lr: Lr<'a>, weight_decay: f64, centralize: bool) -> Result<Self, Error> {
        hyper::non_negative(weight_decay, Param::WeightDecay)?;
        if let Lr::Static(v) = lr {
            hyper::learning_rate(v)?;
        }
        Ok(Group {
            lr,
            weight_decay: split(weight_decay),
            centralize,
            planned: 0.0,
            prep: GradPrep::NONE,
        })
    }

    /// The learning-rate source.
    pub fn lr(&self) -> &Lr<'a> {
        &self.lr
    }

    /// The weight decay.
    pub fn weight_decay(&self) -> f64 {
        join(self.weight_decay)
    }

    /// Whether the group centralizes its gradients.
    pub fn centralize(&self) -> bool {
        self.centralize
    }
}

/// What the optimizer core needs of a group; implemented by [`Group`] and by the C API's groups.
pub(crate) trait GroupLike {
    fn lr_source(&self) -> Lr<'_>;
    fn weight_decay(&self) -> f64;
    fn centralize(&self) -> bool;
    fn planned(&self) -> f32;
    fn set_planned(&mut self, lr: f32);
    fn prep(&self) -> GradPrep;
    fn set_prep(&mut self, prep: GradPrep);
    /// Sets a static learning rate; `false` when the source is not static.
    fn set_static(&mut self, lr: f32) -> bool;
}

impl GroupLike for Group<'_> {
    fn lr_source(&self) -> Lr<'_> {
        self.lr
    }
    fn weight_decay(&self) -> f64 {
        join(self.weight_decay)
    }
    fn centralize(&self) -> bool {
        self.centralize
    }
    fn planned(&self) -> f32 {
        self.planned
    }
    fn set_planned(&mut self, lr: f32) {
        self.planned = lr;
    }
    fn prep(&self) -> GradPrep {
        self.prep
    }
    fn set_prep(&mut self, prep: GradPrep) {
        self.prep = prep;
    }
    fn set_static(&mut self, lr: f32) -> bool {
        match &mut self.lr {
            Lr::Static(v) => {
                *v = lr;
                true
            }
            _ => false,
        }
    }
}

/// `N` parameter groups, validated together.
#[derive(Clone, Copy, Debug)]
pub struct GroupTable<'a, const N: usize> {
    groups: [Group<'a>; N],
}

impl<'a, const N: usize> GroupTable<'a, N> {
    /// The groups, in the order tensors name them. Learning-rate tables that end in an error
    /// must all have the same length (MindSpore's rule for list learning rates; a shorter one
    /// would stop training at its end); tables that hold their last value may differ.
    pub fn new(groups: [Group<'a>; N]) -> Result<Self, Error> {
        check_groups(&groups)?;
        Ok(GroupTable { groups })
    }

    /// The groups.
    pub fn groups(&self) -> &[Group<'a>; N] {
        &self.groups
    }

    pub(crate) fn into_inner(self) -> [Group<'a>; N] {
        self.groups
    }
}

/// The rules that concern groups alone: at least one group, and tables ending in an error of
/// one length.
pub(crate) fn check_groups<G: GroupLike>(groups: &[G]) -> Result<(), Error> {
    if groups.is_empty() {
        return Err(Error::EmptyGroup { group: 0 });
    }
    let mut first_len = None;
    for (i, g) in groups.iter().enumerate() {
        if let Lr::Table(t) = g.lr_source()
            && t.past_end() == PastEnd::Error
        {
            let len = t.values().len();
            match first_len {
                None => first_len = Some(len),
                Some(l) if l != len => return Err(Error::TableLengthsDiffer { group: i }),
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// Validates a layout against `groups` groups and returns its total length: every tensor names
/// an existing group, its rows divide its length, every group has a tensor, and the lengths add
/// up without overflow.
pub(crate) fn check_layout(tensors: &[Tensor], groups: usize) -> Result<usize, Error> {
    let mut total = 0usize;
    for (i, t) in tensors.iter().enumerate() {
        if t.group >= groups {
            return Err(Error::GroupOutOfRange {
                tensor: i,
                group: t.group,
            });
        }
        if t.rows > 0 && !t.len.is_multiple_of(t.rows) {
            return Err(Error::TensorRows { tensor: i });
        }
        total = total.checked_add(t.len).ok_or(Error::LayoutTooLarge)?;
    }
    if let Some(group) = (0..groups).find(|&g| !tensors.iter().any(|t| t.group == g)) {
        return Err(Error::EmptyGroup { group });
    }
    Ok(total)
}

/// The element range of tensors `[start, end)` in the flat buffers.
pub(crate) fn element_range(
    tensors: &[Tensor],
    start: usize,
    end: usize,
) -> Result<core::ops::Range<usize>, Error> {
    if start > end || end > tensors.len() {
        return Err(Error::TensorRange { start, end });
    }
    let before: usize = tensors[..start].iter().map(|t| t.len).sum();
    let within: usize = tensors[start..end].iter().map(|t| t.len).sum();
    Ok(before..before + within)
}

/// An `f64` as two words (see [`Group`]'s weight decay).
fn split(x: f64) -> [u32; 2] {
    let b = x.to_bits();
    [b as u32, (b >> 32) as u32]
}

/// The `f64` of [`split`].
fn join(w: [u32; 2]) -> f64 {
    f64::from_bits(w[0] as u64 | (w[1] as u64) << 32)
}
