//! gradstep's C API (`include/gradstep.h`) as a static library for thumbv7em-none-eabihf.
//!
//! The crate only links gradstep in and supplies the `#[panic_handler]` a `no_std` staticlib
//! needs. gradstep's C API never panics; should a panic happen anyway, it ends the program through
//! semihosting (`SYS_EXIT`, "run-time error"), so that QEMU exits with status 1 instead of hanging.
#![no_std]

// Link gradstep: its `#[no_mangle]` `gradstep_*` functions are the library's interface.
extern crate gradstep;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    #[cfg(target_arch = "arm")]
    // SAFETY: the semihosting call SYS_EXIT (r0 = 0x18) with ADP_Stopped_RunTimeErrorUnknown
    // (r1 = 0x20023) only reads r0 and r1; under a debugger or QEMU it does not return.
    unsafe {
        core::arch::asm!("bkpt 0xab", in("r0") 0x18u32, in("r1") 0x20023u32, options(nostack));
    }
    loop {
        core::hint::spin_loop();
    }
}
