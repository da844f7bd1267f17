//! Parameter groups as a C caller fills them.

use super::ptr::{Regions, check, slice};
use super::schedules::CSchedule;
use super::status::Status;
use crate::error::Param;
use crate::group::GroupLike;
use crate::hyper::GradPrep;
use crate::lr::{Lr, PastEnd, Table};
use crate::validate;

/// A static learning rate (`lr`).
pub const GRADSTEP_LR_STATIC: u32 = 1;
/// A table (`table`, `table_len`, `hold_last`).
pub const GRADSTEP_LR_TABLE: u32 = 2;
/// A schedule (`schedule`).
pub const GRADSTEP_LR_SCHEDULE: u32 = 3;

/// One parameter group, filled by the caller (or by `gradstep_group_static`,
/// `gradstep_group_table`, `gradstep_group_schedule`). Init reads `lr` and `weight_decay` once;
/// every step reads `lr_kind`, the table or schedule, and `centralize` again (a group that was
/// not static at init cannot become static: it has no learning rate). `_private` is
/// gradstep's: it keeps there what a step needs between calls without an allocation. The table
/// and schedule must outlive the optimizer, and a group array belongs to one optimizer.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CGroup {
    /// The static learning rate: finite, ≥ 0.
    pub lr: f64,
    /// The weight decay: finite, ≥ 0.
    pub weight_decay: f64,
    /// The table of learning rates, one per step.
    pub table: *const f32,
    /// The table's length.
    pub table_len: usize,
    /// The schedule.
    pub schedule: *const CSchedule,
    /// `GRADSTEP_LR_STATIC`, `GRADSTEP_LR_TABLE` or `GRADSTEP_LR_SCHEDULE`.
    pub lr_kind: u32,
    /// Past the table's end: 0 is an error, otherwise the last value is kept.
    pub hold_last: u32,
    /// Centralize the gradients of the group's tensors that have rows: 0 or 1.
    pub centralize: u32,
    /// gradstep's: the current static learning rate, the planned one, `F(wd·L)`, `F(1/L)`, flags.
    pub _private: [u32; 5],
}

const CURRENT_LR: usize = 0;
const PLANNED_LR: usize = 1;
const DECAY: usize = 2;
const UNSCALE: usize = 3;
const PREP_FLAGS: usize = 4;

impl CGroup {
    fn new(lr_kind: u32, weight_decay: f64, centralize: u32) -> CGroup {
        CGroup {
            lr: 0.0,
            weight_decay,
            table: core::ptr::null(),
            table_len: 0,
            schedule: core::ptr::null(),
            lr_kind,
            hold_last: 0,
            centralize,
            _private: [0; 5],
        }
    }

    /// Checks what the caller filled in and sets the current static learning rate (at init).
    pub(crate) fn init(&mut self) -> Result<(), Status> {
        validate::non_negative(self.weight_decay, Param::WeightDecay)?;
        self.check_source()?;
        // a group that is not static has no static learning rate: NaN, refused if the caller
        // switches it to static later (`check_source`)
        self._private[CURRENT_LR] = f32::NAN.to_bits();
        if self.lr_kind == GRADSTEP_LR_STATIC {
            let lr = validate::non_negative_f32(self.lr, Param::LearningRate)?;
            self._private[CURRENT_LR] = lr.to_bits();
        }
        if self.lr_kind == GRADSTEP_LR_TABLE {
            // SAFETY: the caller's contract: the table is valid for `table_len` reads.
            let values = unsafe { slice(self.table, self.table_len)? };
            Table::new(values, PastEnd::Reject)?;
        }
        Ok(())
    }

    /// Checks the fields a step reads, which the caller may have changed since init: a known
    /// kind, a static one only if the group was static at init (init read its `lr`), and a table
    /// or schedule that can be read (its values are checked as they are used).
    pub(crate) fn check_source(&self) -> Result<(), Status> {
        match self.lr_kind {
            GRADSTEP_LR_STATIC if f32::from_bits(self._private[CURRENT_LR]).is_nan() => {
                Err(Status::NotStatic)
            }
            GRADSTEP_LR_STATIC => Ok(()),
            GRADSTEP_LR_TABLE if self.table_len == 0 => Err(Status::EmptyTable),
            GRADSTEP_LR_TABLE => check(self.table, self.table_len),
            GRADSTEP_LR_SCHEDULE => {
                // SAFETY: the caller's contract: the schedule is valid for one read.
                let s = unsafe { slice(self.schedule, 1)? };
                s[0].schedule().map(|_| ()).ok_or(Status::InvalidArgument)
            }
            _ => Err(Status::InvalidArgument),
        }
    }

    /// [`Status::Overlap`] when the table or schedule this group reads overlaps memory the call
    /// writes.
    pub(crate) fn check_overlap<const N: usize>(&self, regions: &Regions<N>) -> Result<(), Status> {
        match self.lr_kind {
            GRADSTEP_LR_TABLE => regions.check_read(self.table, self.table_len),
            GRADSTEP_LR_SCHEDULE => regions.check_read(self.schedule, 1),
            _ => Ok(()),
        }
    }
}

impl GroupLike for CGroup {
    fn lr_source(&self) -> Lr<'_> {
        // Checked by every call that reads it (`check_source`); anything wrong all the same gives
        // NaN, which the step rejects.
        match self.lr_kind {
            GRADSTEP_LR_STATIC => Lr::Static(f32::from_bits(self._private[CURRENT_LR])),
            GRADSTEP_LR_TABLE => {
                let past_end = if self.hold_last != 0 {
                    PastEnd::HoldLast
                } else {
                    PastEnd::Reject
                };
                // SAFETY: the caller's contract: the table outlives the optimizer, and the call
                // checked that it overlaps nothing it writes.
                match unsafe { slice(self.table, self.table_len) } {
                    Ok(values) => Lr::Table(Table::unchecked(values, past_end)),
                    Err(_) => Lr::Static(f32::NAN),
                }
            }
            GRADSTEP_LR_SCHEDULE => {
                // SAFETY: as for the table.
                match unsafe { slice(self.schedule, 1) } {
                    Ok(s) => Lr::Schedule(&s[0]),
                    Err(_) => Lr::Static(f32::NAN),
                }
            }
            _ => Lr::Static(f32::NAN),
        }
    }
    fn weight_decay(&self) -> f64 {
        self.weight_decay
    }
    fn centralize(&self) -> bool {
        self.centralize != 0
    }
    fn planned(&self) -> f32 {
        f32::from_bits(self._private[PLANNED_LR])
    }
    fn set_planned(&mut self, lr: f32) {
        self._private[PLANNED_LR] = lr.to_bits();
    }
    fn prep(&self) -> GradPrep {
        let (flags, p) = (self._private[PREP_FLAGS], &self._private);
        GradPrep::from_parts(
            (flags & 1 != 0).then_some(f32::from_bits(p[DECAY])),
            (flags & 2 != 0).then_some(f32::from_bits(p[UNSCALE])),
        )
    }
    fn set_prep(&mut self, prep: GradPrep) {
        let p = &mut self._private;
        p[DECAY] = prep.decay().unwrap_or(0.0).to_bits();
        p[UNSCALE] = prep.unscale().unwrap_or(1.0).to_bits();
        p[PREP_FLAGS] = prep.decay().is_some() as u32 | (prep.unscale().is_some() as u32) << 1;
    }
    fn set_static(&mut self, lr: f32) -> bool {
        if self.lr_kind == GRADSTEP_LR_STATIC {
            self._private[CURRENT_LR] = lr.to_bits();
            true
        } else {
            false
        }
    }
}

/// A group with a static learning rate `lr`.
#[unsafe(no_mangle)]
pub extern "C" fn gradstep_group_static(lr: f64, weight_decay: f64, centralize: u32) -> CGroup {
    CGroup {
        lr,
        ..CGroup::new(GRADSTEP_LR_STATIC, weight_decay, centralize)
    }
}

/// A group whose learning rate at step `k` is `table[k]` (`hold_last`: keep the last value past
/// the end instead of an error).
#[unsafe(no_mangle)]
pub extern "C" fn gradstep_group_table(
    table: *const f32,
    table_len: usize,
    hold_last: u32,
    weight_decay: f64,
    centralize: u32,
) -> CGroup {
    CGroup {
        table,
        table_len,
        hold_last,
        ..CGroup::new(GRADSTEP_LR_TABLE, weight_decay, centralize)
    }
}

/// A group whose learning rate comes from `schedule`.
#[unsafe(no_mangle)]
pub extern "C" fn gradstep_group_schedule(
    schedule: *const CSchedule,
    weight_decay: f64,
    centralize: u32,
) -> CGroup {
    CGroup {
        schedule,
        ..CGroup::new(GRADSTEP_LR_SCHEDULE, weight_decay, centralize)
    }
}
