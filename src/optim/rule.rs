//! The update an optimizer applies: [`Rule`], implemented by one type per MindSpore optimizer.
//!
//! A rule knows how many state buffers it keeps, how a group's weight decay and the loss scale
//! become its gradient preparation, the scalars it keeps across steps (SGD's first-step flag;
//! Adam's beta powers), and how to update one tensor. Everything else — groups, learning rates,
//! the layout, validation, sharding, saved state, the C API — is the optimizer's, shared by all
//! rules: adding an optimizer is a rule, a kernel and a C constructor.

use crate::error::Error;
use crate::hyper::GradPrep;
use crate::kernel::Backend;
use crate::reference::Rows;

/// The most state buffers a rule keeps (Adam with AMSGrad: m, v and v̂).
pub(crate) const MAX_STATE_BUFFERS: usize = 3;

/// The words a rule's settings and scalars take in the C API's optimizer struct.
#[cfg(feature = "capi")]
pub(crate) const RULE_WORDS: usize = 10;

/// One tensor's buffers in a step, or a slice of them (a shard may cut a tensor): its
/// parameters, gradients and the rule's state buffers (the first [`Rule::state_buffers`] of them;
/// the rest are empty), and where the slice lies in the tensor.
pub(crate) struct Streams<'b> {
    pub params: &'b mut [f32],
    pub grads: &'b [f32],
    pub state: [&'b mut [f32]; MAX_STATE_BUFFERS],
    /// The index in its tensor of the slice's first element.
    pub offset: usize,
    /// The tensor's length.
    pub tensor_len: usize,
}

pub(crate) mod sealed {
    use super::*;

    /// The machinery of a [`Rule`](super::Rule), private to the crate.
    pub trait RuleImpl: Copy {
        /// Identifies the rule in saved state and in the C API.
        const KIND: u8;

        /// The number of state buffers.
        fn buffers(&self) -> usize;

        /// A group's gradient preparation from its weight decay (validated and rounded here).
        fn prep(&self, weight_decay: f64) -> Result<GradPrep, Error>;

        /// The scalars the rule keeps across steps, as saved.
        fn scalars(&self) -> [u32; 2];

        /// The rule with saved scalars, or `None` when they are not values it can hold.
        fn with_scalars(self, scalars: [u32; 2]) -> Option<Self>;

        /// Advances the scalars once a step has completed.
        fn end_step(&mut self);

        /// Updates one non-empty tensor whose buffers were checked; cannot fail.
        fn update(&self, backend: Backend, lr: f32, prep: GradPrep, rows: Rows, s: Streams<'_>);

        /// The rule as plain words (the C API keeps it in caller memory).
        #[cfg(feature = "capi")]
        fn encode(&self) -> [u32; RULE_WORDS];

        /// The rule from [`RuleImpl::encode`]'s words, or `None` for words it never writes.
        #[cfg(feature = "capi")]
        fn decode(words: &[u32; RULE_WORDS]) -> Option<Self>;
    }
}

/// The update an [`Optimizer`](crate::Optimizer) applies to each tensor: [`MomentumRule`]
/// (MindSpore's `nn.Momentum`), [`SgdRule`] (`nn.SGD`), [`AdamRule`] (`nn.Adam`) or
/// [`AdamWRule`] (`nn.AdamWeightDecay`). Sealed: the rules are gradstep's.
///
/// [`MomentumRule`]: crate::MomentumRule
/// [`SgdRule`]: crate::SgdRule
/// [`AdamRule`]: crate::AdamRule
/// [`AdamWRule`]: crate::AdamWRule
pub trait Rule: sealed::RuleImpl + core::fmt::Debug {
    /// The number of state buffers the rule keeps, each as long as the parameters.
    fn state_buffers(&self) -> usize {
        self.buffers()
    }
}
