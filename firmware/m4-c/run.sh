#!/usr/bin/env bash
# firmware/m4-c: gradstep's C API on an emulated Cortex-M4F, checked against the host.
#
#   1. builds gradstep for thumbv7em-none-eabihf as a static library (lib/, a panic handler around
#      gradstep with features = ["capi"]) and for the host (cargo rustc ... staticlib,cdylib);
#   2. generates target/gen/digits_data.h (the first DIGITS_COUNT rows of data/digits);
#   3. builds train_digits.c as firmware for QEMU's mps2-an386 (arm-none-eabi-gcc, newlib over
#      semihosting, startup.c, mps2-an386.ld) and, from the same source, for the host (gcc);
#   4. checks that neither C object contracts to FMA nor calls anything but gradstep and stdio;
#   5. runs the firmware under QEMU (with a timeout) and the host program, and fails unless both
#      succeed and print the same lines (the same loss bits and final parameter bits), "info:"
#      lines (the machine and kernel backend) excepted.
#
# Usage: firmware/m4-c/run.sh   (from anywhere; outputs in firmware/m4-c/target/)
# Environment: QEMU_TIMEOUT (seconds, default 60), DIGITS_COUNT (default 64), HOST_CC (default gcc).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$HERE/target
QEMU_TIMEOUT=${QEMU_TIMEOUT:-60}
DIGITS_COUNT=${DIGITS_COUNT:-64}
HOST_CC=${HOST_CC:-gcc}
START=$(date +%s.%N)

step() { printf '== %s\n' "$*"; }
fail() {
    printf 'm4-c: FAIL: %s\n' "$*" >&2
    exit 1
}

# Flags shared by both compilers: C11, warnings are errors, and no FMA contraction (GCC's default
# for ISO C is -ffp-contract=off, but for GNU C it is "fast", and the M4F has vfma.f32).
CFLAGS=(-std=c11 -Wall -Wextra -Werror -O2 -g -ffp-contract=off)
M4_FLAGS=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)

cd "$ROOT"
mkdir -p "$OUT/gen" "$OUT/m4" "$OUT/host"

step "gradstep for thumbv7em-none-eabihf (firmware/m4-c/lib)"
cargo build --release --target thumbv7em-none-eabihf --manifest-path "$HERE/lib/Cargo.toml"
M4_LIB=$("$ROOT/tools/target-dir.sh" "$HERE/lib/Cargo.toml")/thumbv7em-none-eabihf/release/libgradstep_m4.a

step "gradstep for the host (cargo rustc --lib --release --features capi --crate-type staticlib,cdylib)"
cargo rustc --lib --release --features capi --crate-type staticlib,cdylib
HOST_LIB=$("$ROOT/tools/target-dir.sh")/release/libgradstep.a

step "data: the first $DIGITS_COUNT digits"
python3 "$HERE/gen_digits.py" --count "$DIGITS_COUNT" "$ROOT/data/digits/digits.csv.gz" "$OUT/gen/digits_data.h"

step "firmware: arm-none-eabi-gcc, newlib + semihosting, mps2-an386"
INCLUDES=(-I"$ROOT/include" -I"$OUT/gen")
arm-none-eabi-gcc "${M4_FLAGS[@]}" "${CFLAGS[@]}" -pedantic -ffunction-sections -fdata-sections \
    "${INCLUDES[@]}" -c "$HERE/train_digits.c" -o "$OUT/m4/train_digits.o"
arm-none-eabi-gcc "${M4_FLAGS[@]}" "${CFLAGS[@]}" -ffunction-sections -fdata-sections \
    -c "$HERE/startup.c" -o "$OUT/m4/startup.o"
# --gc-sections drops the unused references to rust_eh_personality in the precompiled core.
arm-none-eabi-gcc "${M4_FLAGS[@]}" --specs=rdimon.specs -nostartfiles -T "$HERE/mps2-an386.ld" \
    -Wl,--gc-sections -Wl,--no-warn-execstack -Wl,-Map="$OUT/m4/train_digits.map" \
    "$OUT/m4/train_digits.o" "$OUT/m4/startup.o" "$M4_LIB" -o "$OUT/m4/train_digits.elf"
arm-none-eabi-size "$OUT/m4/train_digits.elf"

step "host: $HOST_CC, the same source"
"$HOST_CC" "${CFLAGS[@]}" -pedantic "${INCLUDES[@]}" -c "$HERE/train_digits.c" -o "$OUT/host/train_digits.o"
"$HOST_CC" "$OUT/host/train_digits.o" "$HOST_LIB" -lm -lpthread -ldl -Wl,--gc-sections \
    -o "$OUT/host/train_digits"

step "checks: no FMA, nothing called but gradstep and stdio"
if arm-none-eabi-objdump -d "$OUT/m4/train_digits.o" | grep -E '\bv(fn?m[as]|fm[as])\.f32' >&2; then
    fail "the firmware's C code contracts to FMA"
fi
if objdump -d "$OUT/host/train_digits.o" | grep -E '\bvf(n)?m(add|sub)' >&2; then
    fail "the host's C code contracts to FMA"
fi
# (grep without -q: it reads all of objdump's output, so pipefail sees no SIGPIPE)
arm-none-eabi-objdump -d "$OUT/m4/train_digits.o" | grep -E '\bvmul\.f32' >/dev/null ||
    fail "the firmware's C code does not use the FPU (hard float)"
ALLOWED='^(gradstep_[a-z_]+|printf|puts|putchar|memset|memcpy|__aeabi_f2d)$'
for nm_obj in "arm-none-eabi-nm $OUT/m4/train_digits.o" "nm $OUT/host/train_digits.o"; do
    extra=$($nm_obj -u | awk '{print $2}' | grep -vE "$ALLOWED" || true)
    [ -z "$extra" ] || fail "train_digits.o calls more than gradstep and stdio (libm?): $extra"
done

step "run: qemu-system-arm -machine mps2-an386 (timeout ${QEMU_TIMEOUT}s)"
set +e
timeout "$QEMU_TIMEOUT" qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
    -semihosting-config enable=on,target=native -kernel "$OUT/m4/train_digits.elf" \
    </dev/null >"$OUT/m4/output.txt"
m4_status=$?
set -e
grep -v '^params\[' "$OUT/m4/output.txt" || true
case $m4_status in
    0) ;;
    124) fail "the firmware timed out after ${QEMU_TIMEOUT}s (a hang)" ;;
    *) fail "the firmware exited with status $m4_status" ;;
esac

step "run: host"
"$OUT/host/train_digits" >"$OUT/host/output.txt" || fail "the host program exited with status $?"
grep '^info:' "$OUT/host/output.txt"

step "compare: M4 against host"
for side in m4 host; do
    [ "$(tail -n 1 "$OUT/$side/output.txt")" = done ] || fail "the $side output is incomplete"
done
if ! diff -u --label m4 --label host <(grep -v '^info:' "$OUT/m4/output.txt") \
    <(grep -v '^info:' "$OUT/host/output.txt") >"$OUT/output.diff"; then
    head -n 40 "$OUT/output.diff" >&2
    fail "the M4 and host outputs differ (full diff: $OUT/output.diff)"
fi
lines=$(grep -vc '^info:' "$OUT/m4/output.txt")
params=$(sed -n 's/^params\[ *[0-9]*\]//p' "$OUT/m4/output.txt" | wc -w)
checksum=$(sed -n 's/^final params fnv1a \([0-9a-f]*\).*/\1/p' "$OUT/m4/output.txt")
printf 'm4-c: OK: M4 and host print identical output (%s lines: every loss, %s final parameter bits, fnv1a %s) in %.1f s\n' \
    "$lines" "$params" "$checksum" "$(awk "BEGIN { print $(date +%s.%N) - $START }")"
