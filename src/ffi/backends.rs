//! Kernel backends as C sees them: the `GRADSTEP_BACKEND_*` constants and what this machine has.

use core::ffi::{CStr, c_char};

use super::status::Status;
use crate::kernel::Backend;

/// The widest backend this machine has.
pub const GRADSTEP_BACKEND_AUTO: u32 = 0;
/// One element at a time.
pub const GRADSTEP_BACKEND_SCALAR: u32 = 1;
/// `wide`'s eight lanes (SSE2, NEON, simd128, or arrays).
pub const GRADSTEP_BACKEND_WIDE: u32 = 2;
/// AVX2 (x86_64).
pub const GRADSTEP_BACKEND_AVX2: u32 = 3;
/// AVX-512F (x86_64).
pub const GRADSTEP_BACKEND_AVX512: u32 = 4;

/// The backend of a `GRADSTEP_BACKEND_*` constant.
pub(crate) fn backend_of(id: u32) -> Result<Backend, Status> {
    match id {
        GRADSTEP_BACKEND_AUTO => Ok(Backend::selected()),
        GRADSTEP_BACKEND_SCALAR => Ok(Backend::Scalar),
        GRADSTEP_BACKEND_WIDE => Ok(Backend::Wide),
        GRADSTEP_BACKEND_AVX2 => Ok(Backend::Avx2),
        GRADSTEP_BACKEND_AVX512 => Ok(Backend::Avx512),
        _ => Err(Status::InvalidArgument),
    }
}

/// The `GRADSTEP_BACKEND_*` constant of a backend.
pub(crate) fn backend_id(backend: Backend) -> u32 {
    match backend {
        Backend::Scalar => GRADSTEP_BACKEND_SCALAR,
        Backend::Wide => GRADSTEP_BACKEND_WIDE,
        Backend::Avx2 => GRADSTEP_BACKEND_AVX2,
        Backend::Avx512 => GRADSTEP_BACKEND_AVX512,
    }
}

/// Whether a backend (`GRADSTEP_BACKEND_*`) can run here: 1 or 0.
#[unsafe(no_mangle)]
pub extern "C" fn gradstep_backend_available(backend: u32) -> u32 {
    backend_of(backend).is_ok_and(Backend::is_available) as u32
}

/// The backend `GRADSTEP_BACKEND_AUTO` stands for on this machine.
#[unsafe(no_mangle)]
pub extern "C" fn gradstep_backend_selected() -> u32 {
    backend_id(Backend::selected())
}

/// The instruction set of a backend in this build (`"avx512f"`, `"sse2"`, `"neon"`, …).
#[unsafe(no_mangle)]
pub extern "C" fn gradstep_backend_name(backend: u32) -> *const c_char {
    let name: &'static CStr = match backend_of(backend).map(Backend::instruction_set) {
        Ok("scalar") => c"scalar",
        Ok("avx") => c"avx",
        Ok("sse2") => c"sse2",
        Ok("simd128") => c"simd128",
        Ok("neon") => c"neon",
        Ok("avx2") => c"avx2",
        Ok("avx512f") => c"avx512f",
        _ => c"unknown",
    };
    name.as_ptr()
}
