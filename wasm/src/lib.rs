//! gradstep's C API as a WebAssembly module: every `gradstep_*` function is exported, and
//! `alloc_f32` hands out aligned `f32` buffers from a fixed arena in the module's memory, so that
//! JavaScript can fill them through a `Float32Array` view (see `train.mjs`).
#![no_std]

use core::ptr::addr_of_mut;

pub use gradstep::ffi::*;

/// 256 KiB for buffers; `alloc_f32` never frees.
const ARENA_WORDS: usize = 64 * 1024;
static mut ARENA: [f32; ARENA_WORDS] = [0.0; ARENA_WORDS];
static mut USED: usize = 0;

/// `n` zeroed floats from the arena, or 0 (NULL) when it is full.
#[unsafe(no_mangle)]
pub extern "C" fn alloc_f32(n: usize) -> *mut f32 {
    // SAFETY: wasm32-unknown-unknown runs one thread, and this is the only code touching ARENA
    // and USED; the returned range is handed out once.
    unsafe {
        let used = *addr_of_mut!(USED);
        if n > ARENA_WORDS - used {
            return core::ptr::null_mut();
        }
        *addr_of_mut!(USED) = used + n;
        (addr_of_mut!(ARENA) as *mut f32).add(used)
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
