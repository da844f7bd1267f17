/*
 * Minimal startup for QEMU's mps2-an386 (Cortex-M4F) with newlib over semihosting (librdimon):
 * the vector table, the reset handler (FPU on, .data copied, .bss zeroed, semihosting stdio
 * opened, main, exit) and fault handlers that end the run through semihosting instead of hanging.
 */
#include <stdint.h>
#include <stdlib.h>

int main(void);
void initialise_monitor_handles(void); /* librdimon: opens stdin, stdout, stderr on ":tt" */

extern uint32_t __data_start[], __data_end[], __data_load[], __bss_start[], __bss_end[];
extern uint32_t __stack_top[];

void Reset_Handler(void);
void Fault_Handler(void);
void _init(void);
void _fini(void);

/* newlib's __libc_init_array / __libc_fini_array call these (crti.o is not linked). */
void _init(void) {}
void _fini(void) {}

/* The C part of the reset, entered with the FPU already on. */
__attribute__((noreturn, used)) void reset_c(void) {
    const uint32_t *src = __data_load;
    for (uint32_t *dst = __data_start; dst < __data_end; dst++) {
        *dst = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end; dst++) {
        *dst = 0;
    }
    initialise_monitor_handles();
    exit(main()); /* flushes stdio; librdimon's _exit reports the status through SYS_EXIT */
}

/* Enable CP10 and CP11 (the FPU) in CPACR before any code that may touch a float register:
 * naked, so that the compiler cannot put anything before it. */
__attribute__((naked, noreturn)) void Reset_Handler(void) {
    __asm__ volatile(
        "ldr r0, =0xE000ED88\n" /* CPACR */
        "ldr r1, [r0]\n"
        "orr r1, r1, #(0xF << 20)\n"
        "str r1, [r0]\n"
        "dsb\n"
        "isb\n"
        "b reset_c\n");
}

/* Any fault or unexpected interrupt: a message, then SYS_EXIT with "run-time error" (QEMU exits
 * with status 1). */
__attribute__((noreturn)) void Fault_Handler(void) {
    static const char message[] = "m4-c: fault or unexpected exception, exiting\n";
    register uint32_t r0 __asm__("r0") = 0x04; /* SYS_WRITE0 */
    register const char *r1 __asm__("r1") = message;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    r0 = 0x18; /* SYS_EXIT */
    register uint32_t reason __asm__("r1") = 0x20023u; /* ADP_Stopped_RunTimeErrorUnknown */
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(reason) : "memory");
    for (;;) {
    }
}

/* Initial stack pointer, reset, then NMI, HardFault, MemManage, BusFault, UsageFault, the
 * reserved slots, SVCall, DebugMonitor, PendSV, SysTick and 32 external interrupts. */
__attribute__((section(".vectors"), used)) void (*const vectors[16 + 32])(void) = {
    (void (*)(void))__stack_top,
    Reset_Handler,
    [2 ... 16 + 32 - 1] = Fault_Handler,
};
