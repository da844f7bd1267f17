//! Parameter groups (`docs/SEMANTICS.md` §1.3): each has its own learning rate, weight decay and
//! gradient-centralization switch. The tensors of the layout ([`crate::Tensor`]) name their group.

use crate::error::{Error, Param};
use crate::hyper::GradPrep;
use crate::lr::{Lr, PastEnd};
use crate::softf64;
use crate::validate;

/// One parameter group: a learning-rate source, a weight decay and a centralization switch.
#[derive(Clone, Copy, Debug)]
pub struct Group<'a> {
    lr: Lr<'a>,
    /// The weight decay, as two words ([`softf64::to_words`]).
    weight_decay: [u32; 2],
    centralize: bool,
    /// The learning rate planned for the step in progress (see [`crate::Optimizer`]).
    planned: f32,
    /// The gradient preparation, set when the optimizer is built.
    prep: GradPrep,
}

impl<'a> Group<'a> {
    /// `weight_decay` finite and ≥ 0 (how it applies is the optimizer's rule: MindSpore's
    /// Momentum and SGD add it to the gradient); a static learning rate finite and ≥ 0.
    /// `centralize` subtracts each row's mean gradient in the group's tensors that have rows.
    pub fn new(lr: Lr<'a>, weight_decay: f64, centralize: bool) -> Result<Self, Error> {
        validate::non_negative(weight_decay, Param::WeightDecay)?;
        if let Lr::Static(v) = lr {
            validate::learning_rate(v)?;
        }
        Ok(Group {
            lr,
            weight_decay: softf64::to_words(weight_decay),
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
        softf64::from_words(self.weight_decay)
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
        softf64::from_words(self.weight_decay)
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

/// The rules that concern groups alone: at least one group, and learning-rate tables that end in
/// an error of one length (MindSpore's rule for list learning rates: a shorter one would stop
/// training at its end); tables that hold their last value may differ.
pub(crate) fn check<G: GroupLike>(groups: &[G]) -> Result<(), Error> {
    if groups.is_empty() {
        return Err(Error::EmptyGroup { group: 0 });
    }
    let mut first_len = None;
    for (i, g) in groups.iter().enumerate() {
        if let Lr::Table(t) = g.lr_source()
            && t.past_end() == PastEnd::Reject
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
