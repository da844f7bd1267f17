//! Caller memory: pointers checked for NULL, alignment and length before a slice exists, and the
//! regions of one call checked for overlap, so that no `&mut` ever aliases.

use core::mem::size_of;

use super::status::Status;

/// `len` values at `ptr`, for reading: `ptr` may be NULL only when `len` is 0.
///
/// # Safety
/// `ptr` must be valid for reading `len` values of `T` for `'a`, and not written through any other
/// pointer during `'a` (the C caller's contract).
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], Status> {
    if len == 0 {
        return Ok(&[]);
    }
    check(ptr, len)?;
    // SAFETY: non-null and aligned (checked), valid for `len` reads (the caller's contract), and
    // `len · size_of::<T>()` fits `isize` (checked).
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// `len` values at `ptr`, for writing.
///
/// # Safety
/// As [`slice`], for writing, and not referred to through any other pointer during `'a`.
pub(crate) unsafe fn slice_mut<'a, T>(ptr: *mut T, len: usize) -> Result<&'a mut [T], Status> {
    if len == 0 {
        return Ok(&mut []);
    }
    check(ptr, len)?;
    // SAFETY: as in `slice`; the caller guarantees that nothing else refers to these values.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// What [`slice`] asks of a buffer, without making a slice: any pointer when `len` is 0 (C's
/// empty buffers may be NULL), else [`check`]'s.
pub(crate) fn check_buffer<T>(ptr: *const T, len: usize) -> Result<(), Status> {
    if len == 0 { Ok(()) } else { check(ptr, len) }
}

/// A pointer to `len` values of `T`: not NULL, aligned, and no larger than memory can be.
pub(crate) fn check<T>(ptr: *const T, len: usize) -> Result<(), Status> {
    if ptr.is_null() {
        Err(Status::NullPointer)
    } else if !ptr.is_aligned() {
        Err(Status::Misaligned)
    } else if len > isize::MAX as usize / size_of::<T>().max(1) {
        Err(Status::InvalidArgument)
    } else {
        Ok(())
    }
}

/// One value into an out-parameter.
///
/// # Safety
/// `out` must be valid for writing one `T`, and not refer to memory the call holds references
/// to (checked by the caller with [`Regions`]).
pub(crate) unsafe fn put<T>(out: *mut T, value: T) -> Result<(), Status> {
    // SAFETY: the caller's contract; checked non-null and aligned.
    let out = unsafe { slice_mut(out, 1)? };
    out[0] = value;
    Ok(())
}

/// The caller memory one call uses, as byte ranges; the call fails with [`Status::Overlap`] when
/// a region it writes overlaps any other region (regions it only reads may overlap each other).
pub(crate) struct Regions<const N: usize> {
    regions: [(usize, usize, bool); N],
    count: usize,
}

impl<const N: usize> Regions<N> {
    pub fn new() -> Self {
        Regions {
            regions: [(0, 0, false); N],
            count: 0,
        }
    }

    /// `len` values of `T` at `ptr`, written by the call or only read. At most `N` regions; an
    /// empty one is left out.
    pub fn add<T>(mut self, ptr: *const T, len: usize, written: bool) -> Self {
        let start = ptr.addr();
        let end = start.saturating_add(len.saturating_mul(size_of::<T>()));
        if start < end && self.count < N {
            self.regions[self.count] = (start, end, written);
            self.count += 1;
        }
        self
    }

    /// [`Status::Overlap`] when a written region overlaps another one.
    pub fn check(&self) -> Result<(), Status> {
        let r = &self.regions[..self.count];
        for (i, a) in r.iter().enumerate() {
            for b in &r[i + 1..] {
                if (a.2 || b.2) && overlaps(a, b) {
                    return Err(Status::Overlap);
                }
            }
        }
        Ok(())
    }

    /// [`Status::Overlap`] when `len` values of `T` at `ptr`, which the call reads, overlap a
    /// written region.
    pub fn check_read<T>(&self, ptr: *const T, len: usize) -> Result<(), Status> {
        let one = Regions::<1>::new().add(ptr, len, false);
        match one.regions[..one.count].first() {
            Some(x)
                if self.regions[..self.count]
                    .iter()
                    .any(|w| w.2 && overlaps(w, x)) =>
            {
                Err(Status::Overlap)
            }
            _ => Ok(()),
        }
    }
}

fn overlaps(a: &(usize, usize, bool), b: &(usize, usize, bool)) -> bool {
    a.0 < b.1 && b.0 < a.1
}
