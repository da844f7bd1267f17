//! The world: the one allocation all the memory the C API sees lives in, pointers into it,
//! the memory each call uses, and the group array field by field.

use super::*;

// ----- the world ---------------------------------------------------------------------------------

/// Byte offsets in the world. The call buffers come first; the objects the optimizer calls use
/// come next, up to `LIMIT` (the furthest a buffer of an optimizer call reaches, so that it can
/// overlap them); the settings, scratch arrays, the second optimizer slot and an all-zero area
/// come last, where no buffer reaches.
pub(crate) const BUF_END: usize = 8192;
pub(crate) const TABLES: usize = 8192;
pub(crate) const N_TABLE: usize = 64;
pub(crate) const TABLES_END: usize = TABLES + 4 * N_TABLE;
pub(crate) const SCHEDS: usize = 8448;
pub(crate) const N_SCHEDS: usize = 4;
pub(crate) const GARBAGE: usize = 8576;
pub(crate) const GARBAGE_MISALIGNED: usize = 8609;
pub(crate) const TENSORS: usize = 8704;
pub(crate) const MAX_TENSORS: usize = 7;
pub(crate) const GROUPS: usize = 8896;
pub(crate) const MAX_GROUPS: usize = 5;
pub(crate) const OPT_A: usize = 9280;
pub(crate) const LIMIT: usize = OPT_A + OPT_SIZE;
pub(crate) const SETTINGS: usize = 9408;
pub(crate) const SCRATCH: usize = 9472;
pub(crate) const OPT_B: usize = 10240;
pub(crate) const ZERO: usize = 10368;
pub(crate) const WORLD: usize = 10496;

pub(crate) const TENSOR_SIZE: usize = 24;
pub(crate) const GROUP_SIZE: usize = 72;
pub(crate) const OPT_SIZE: usize = 112;
pub(crate) const SCHED_SIZE: usize = 32;

/// The largest state the model restores (larger layouts are checked only for what needs no
/// model: failures change nothing).
pub(crate) const MAX_MODEL_STATE: usize = 1 << 16;

/// The world: one zeroed, 64-byte aligned allocation, handed to gradstep only as raw pointers;
/// the harness reads and writes it through the same pointer, never while a call runs.
pub(crate) struct World(pub(crate) *mut u8);

impl World {
    pub(crate) fn new() -> World {
        // SAFETY: a non-zero size.
        let p = unsafe { alloc_zeroed(Layout::from_size_align(WORLD, 64).unwrap()) };
        assert!(!p.is_null());
        World(p)
    }
    pub(crate) fn addr(&self, off: usize) -> usize {
        self.0 as usize + off
    }
    pub(crate) fn at<T>(&self, off: usize) -> *mut T {
        assert!(off <= WORLD);
        // SAFETY: inside the allocation (or one past its end).
        unsafe { self.0.add(off) as *mut T }
    }
    pub(crate) fn ptr<T>(&self, loc: Loc) -> *mut T {
        match loc {
            Loc::Null => null_mut(),
            Loc::At { off, .. } => self.at(off),
        }
    }
    /// A copy of every byte (no type in the world has padding: checked at the start).
    pub(crate) fn snapshot(&self) -> Vec<u8> {
        // SAFETY: WORLD initialized bytes; no call runs.
        unsafe { std::slice::from_raw_parts(self.0, WORLD) }.to_vec()
    }
    pub(crate) fn bytes(&self, off: usize, len: usize) -> Vec<u8> {
        assert!(off + len <= WORLD);
        // SAFETY: in bounds; no call runs.
        unsafe { std::slice::from_raw_parts(self.0.add(off), len) }.to_vec()
    }
    pub(crate) fn put_bytes(&mut self, off: usize, b: &[u8]) {
        assert!(off + b.len() <= WORLD);
        // SAFETY: in bounds; no call runs.
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), self.0.add(off), b.len()) }
    }
    /// `len` floats at `off` (fewer if they do not fit: only for pointers a call must refuse).
    pub(crate) fn f32s(&self, off: usize, len: usize) -> Vec<f32> {
        self.bytes(off, 4 * len.min((WORLD - off) / 4))
            .chunks_exact(4)
            .map(|c| f32::from_ne_bytes(c.try_into().unwrap()))
            .collect()
    }
    pub(crate) fn put_f32s(&mut self, off: usize, v: &[f32]) {
        let b: Vec<u8> = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
        self.put_bytes(off, &b);
    }
    pub(crate) fn read<T: Copy>(&self, off: usize) -> T {
        assert!(off + size_of::<T>() <= WORLD);
        // SAFETY: in bounds; plain data without padding.
        unsafe { (self.0.add(off) as *const T).read_unaligned() }
    }
    pub(crate) fn write<T: Copy>(&mut self, off: usize, v: T) {
        assert!(off + size_of::<T>() <= WORLD);
        // SAFETY: in bounds; plain data without padding.
        unsafe { (self.0.add(off) as *mut T).write_unaligned(v) }
    }
    pub(crate) fn tensor(&self, i: usize) -> Tensor {
        self.read(TENSORS + TENSOR_SIZE * i)
    }
    pub(crate) fn group(&self, i: usize) -> CGroup {
        self.read(GROUPS + GROUP_SIZE * i)
    }
    pub(crate) fn group_ptr(&self, i: usize) -> *mut CGroup {
        self.at(GROUPS + GROUP_SIZE * i)
    }
    /// The world offset of an address in it, if it is in it.
    pub(crate) fn offset_of(&self, addr: usize) -> Option<usize> {
        addr.checked_sub(self.0 as usize).filter(|&o| o < WORLD)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.0, Layout::from_size_align(WORLD, 64).unwrap()) }
    }
}

/// Where a pointer points: NULL, or an offset into the world with the end of the memory a
/// length may cover from there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Loc {
    Null,
    At { off: usize, limit: usize },
}

impl Loc {
    pub(crate) fn at(off: usize, limit: usize) -> Loc {
        Loc::At { off, limit }
    }
    /// Room for values of `size` bytes from here (unbounded for NULL).
    pub(crate) fn room(self, size: usize) -> usize {
        match self {
            Loc::Null => usize::MAX,
            Loc::At { off, limit } => limit.saturating_sub(off) / size,
        }
    }
    /// What gradstep accepts for `len` values of `align`: any pointer when `len` is 0, else
    /// non-null and aligned (the world is 64-byte aligned).
    pub(crate) fn valid(self, len: usize, align: usize) -> bool {
        len == 0 || matches!(self, Loc::At { off, .. } if off % align == 0)
    }
    pub(crate) fn off(self) -> usize {
        match self {
            Loc::Null => 0,
            Loc::At { off, .. } => off,
        }
    }
}

/// Which memory a pointer of a call may point into.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Scope {
    /// The call buffers only (kernels, table fillers, schedules).
    Buf,
    /// The call buffers, or a learning-rate table (a table filler that rewrites a group's table).
    Tables,
    /// The call buffers up to `LIMIT`, or one of the objects an optimizer call uses: the
    /// optimizer struct, the tensor array, the group array, a table, a schedule.
    Opt,
}

/// A pointer: mostly aligned for `align`, sometimes anywhere, sometimes NULL, sometimes into an
/// object (`Scope`).
pub(crate) fn loc(r: &mut Reader, align: usize, size: usize, scope: Scope, live_opt: usize) -> Loc {
    let t = r.u8();
    let o = r.u16() as usize % (BUF_END - size.min(BUF_END - 1));
    let limit = if scope == Scope::Opt { LIMIT } else { BUF_END };
    match t % 16 {
        0 => Loc::Null,
        1 => Loc::at(o, limit),
        2 if scope == Scope::Tables => Loc::at(TABLES + o % (4 * N_TABLE) / 4 * 4, TABLES_END),
        2 if scope == Scope::Opt => {
            let (base, end) = match o % 5 {
                0 => (live_opt, live_opt + OPT_SIZE),
                1 => (TENSORS, LIMIT),
                2 => (GROUPS, LIMIT),
                3 => (TABLES, LIMIT),
                _ => (SCHEDS, LIMIT),
            };
            let off = base + (o / 5) % 64 / align * align;
            Loc::at(off.min(end), end.max(LIMIT).min(WORLD))
        }
        _ => Loc::at(o / align * align, limit),
    }
}

/// A length for values of `size` bytes at `locs`: never more than the memory behind a non-null
/// pointer; with only NULL pointers, anything (even `usize::MAX`).
pub(crate) fn length(r: &mut Reader, locs: &[Loc], size: usize) -> usize {
    let room = locs
        .iter()
        .map(|l| l.room(size))
        .min()
        .unwrap_or(usize::MAX);
    let want = match r.u8() % 16 {
        0 => 0,
        1 => usize::MAX,
        2 => r.u64() as usize,
        _ => r.u16() as usize % 400,
    };
    want.min(room)
}

pub(crate) type Span = (usize, usize);

pub(crate) fn overlaps(a: Span, b: Span) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// What one call uses: a byte span (absolute addresses), whether it writes it, and whether the
/// pointer is one it accepts (non-null and aligned, or of length 0).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Use {
    pub(crate) span: Option<Span>,
    pub(crate) written: bool,
    pub(crate) ok: bool,
}

pub(crate) fn use_of(
    w: &World,
    l: Loc,
    len: usize,
    size: usize,
    align: usize,
    written: bool,
) -> Use {
    Use {
        // as gradstep counts them: NULL is address 0 (two NULL pointers with lengths overlap)
        span: match l {
            _ if len == 0 => None,
            Loc::At { off, .. } => Some((w.addr(off), w.addr(off) + len.saturating_mul(size))),
            Loc::Null => Some((0, len.saturating_mul(size))),
        },
        written,
        ok: l.valid(len, align),
    }
}

/// An object at a world offset, always a good pointer.
pub(crate) fn use_at(w: &World, off: usize, bytes: usize, written: bool) -> Use {
    Use {
        span: (bytes > 0).then(|| (w.addr(off), w.addr(off) + bytes)),
        written,
        ok: true,
    }
}

/// Whether memory some use writes overlaps another use.
pub(crate) fn conflict(uses: &[Use]) -> bool {
    uses.iter().enumerate().any(|(i, a)| {
        uses[i + 1..].iter().any(|b| {
            (a.written || b.written)
                && matches!((a.span, b.span), (Some(x), Some(y)) if overlaps(x, y))
        })
    })
}

/// Good pointers that do not overlap where they are written.
pub(crate) fn all_ok(uses: &[Use]) -> bool {
    uses.iter().all(|u| u.ok) && !conflict(uses)
}

pub(crate) fn status_of<T>(r: Result<T, Error>) -> Status {
    match r {
        Ok(_) => Status::Ok,
        Err(e) => Status::from(e),
    }
}

pub(crate) fn backend_of(id: u32) -> Option<Backend> {
    match id {
        GRADSTEP_BACKEND_AUTO => Some(Backend::selected()),
        GRADSTEP_BACKEND_SCALAR => Some(Backend::Scalar),
        GRADSTEP_BACKEND_WIDE => Some(Backend::Wide),
        GRADSTEP_BACKEND_AVX2 => Some(Backend::Avx2),
        GRADSTEP_BACKEND_AVX512 => Some(Backend::Avx512),
        _ => None,
    }
}

pub(crate) fn backend_id(r: &mut Reader) -> u32 {
    match r.u8() % 8 {
        6 => r.u32(),
        k => (k % 5) as u32,
    }
}

pub(crate) fn flag(r: &mut Reader) -> u32 {
    match r.u8() % 4 {
        0 => 0,
        1 => 1,
        2 => r.u32(),
        _ => 0x8000_0000,
    }
}

/// FNV-1a, 32 bits: the checksum of the saved-state format (`src/state.rs`).
pub(crate) fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, &b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

pub(crate) fn first_difference(a: &[u8], b: &[u8]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!("byte {i}: {:#04x} -> {:#04x}", b[i], a[i]),
        None => "none".into(),
    }
}

// ----- groups, field by field ------------------------------------------------------------------

/// The `_private` word gradstep keeps a planned learning rate in (`src/ffi/groups.rs`): scratch
/// that a failed call may change.
pub(crate) const PLANNED_WORD: usize = 1;

/// A group's caller fields.
pub(crate) type Public = (u64, u64, usize, usize, usize, u32, u32, u32);

pub(crate) fn public(g: &CGroup) -> Public {
    (
        g.lr.to_bits(),
        g.weight_decay.to_bits(),
        g.table.addr(),
        g.table_len,
        g.schedule.addr(),
        g.lr_kind,
        g.hold_last,
        g.centralize,
    )
}

/// The group array, field by field: the caller fields, and gradstep's words.
pub(crate) fn groups_of(w: &World) -> Vec<(Public, [u32; 5])> {
    (0..MAX_GROUPS)
        .map(|i| {
            let g = w.group(i);
            (public(&g), g._private)
        })
        .collect()
}
