#!/usr/bin/env bash
# gradstep's cost on a Cortex-M4F (thumbv7em-none-eabihf): builds this firmware with and without
# gradstep, prints the size difference per section and the stack of one step (measured by painting,
# under QEMU), and exits non-zero when a budget is exceeded:
#   flash (.text + .rodata + .data) <= 4096 B, static RAM (.data + .bss) == 0 B, stack <= 512 B
# for one Momentum optimizer of three groups: a table, a fixed lr, and one schedule; and
#   flash <= 8192 B, static RAM == 0 B, stack <= 1024 B
# for an Adam and an AdamWeightDecay optimizer over the same groups. The budget
# holds for the primary schedule, WarmUpLR; the other five are reported beside it (cosine decay
# needs `sin` in f64, the decays with `pow` need glibc's powf: MindSpore's bits cost flash).
#
#   firmware/m4-size/check.sh                       # budget on the primary schedule (warmup)
#   M4_SIZE_SCHEDULE=inverse firmware/m4-size/check.sh
#   M4_SIZE_GATE=all firmware/m4-size/check.sh      # budget on every schedule kind
#   M4_SIZE_QUICK=1 firmware/m4-size/check.sh       # primary only: no per-schedule, opt-level rows
#
# Needs: rustup target thumbv7em-none-eabihf, qemu-system-arm, arm-none-eabi-size and
# arm-none-eabi-nm (binutils-arm-none-eabi) or llvm-size / llvm-nm.
set -euo pipefail

start=$(date +%s)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" # the repo's .cargo/config.toml holds the QEMU runner

TARGET=thumbv7em-none-eabihf
PRIMARY=${M4_SIZE_SCHEDULE:-warmup}
GATE=${M4_SIZE_GATE:-primary}
QUICK=${M4_SIZE_QUICK:-0}
SCHEDULES=(warmup inverse cosine exponential natural polynomial)
FLASH_BUDGET=4096
RAM_BUDGET=0
STACK_BUDGET=512
ADAM_FLASH_BUDGET=8192
ADAM_STACK_BUDGET=1024

pick() { for t in "$@"; do command -v "$t" >/dev/null 2>&1 && { echo "$t"; return; }; done; echo "missing: $*" >&2; exit 2; }
SIZE=$(pick arm-none-eabi-size llvm-size)
NM=$(pick arm-none-eabi-nm llvm-nm)

manifest=firmware/m4-size/Cargo.toml
tdir=$("$root/tools/target-dir.sh" "$root/firmware/m4-size/Cargo.toml")
out=firmware/m4-size/results
mkdir -p "$out"

profile_dir() { case $1 in release) echo release ;; *) echo "$1" ;; esac; }

# build PROFILE NAME [FEATURES]: builds and copies the ELF to results/PROFILE-NAME.elf
build() {
    local profile=$1 name=$2 features=${3:-}
    cargo build -q --manifest-path "$manifest" --target "$TARGET" --profile "$profile" \
        ${features:+--features "$features"}
    cp "$tdir/$TARGET/$(profile_dir "$profile")/m4-size" "$out/$profile-$name.elf"
}

# sections ELF: prints ".text .rodata .data .bss" sizes
sections() {
    "$SIZE" -A "$1" | awk '
        $1 == ".text" { t = $2 } $1 == ".rodata" { r = $2 } $1 == ".data" { d = $2 } $1 == ".bss" { b = $2 }
        END { print t + 0, r + 0, d + 0, b + 0 }'
}

# stack PROFILE FEATURES: runs the firmware under QEMU (the cargo runner) and prints stack_bytes
stack() {
    local profile=$1 features=$2 log
    log=$(cargo run -q --manifest-path "$manifest" --target "$TARGET" --profile "$profile" \
        ${features:+--features "$features"} 2>&1) || { echo "QEMU run failed ($features):" >&2; echo "$log" >&2; exit 1; }
    awk '$1 == "stack_bytes" { print $2 }' <<<"$log"
}

fail=0
check() { # check WHAT VALUE BUDGET
    if (($2 > $3)); then
        echo "OVER BUDGET: $1 = $2 B > $3 B"
        fail=1
    fi
}

# --- the primary configuration: with and without, section by section -----------------------------
build release without
build release "$PRIMARY" "gradstep,sched-$PRIMARY"
read -r wt wr wd wb < <(sections "$out/release-without.elf")
read -r gt gr gd gb < <(sections "$out/release-$PRIMARY.elf")
base_stack=$(stack release "")
step_stack=$(stack release "gradstep,sched-$PRIMARY")

echo "gradstep on thumbv7em-none-eabihf (Cortex-M4F), opt-level \"s\", lto, codegen-units 1"
echo "one Momentum, 3 groups (table + wd + centralization, fixed lr, $PRIMARY schedule + wd), 5 tensors"
echo
printf '%-28s %9s %9s %11s\n' section without with difference
for s in text:$wt:$gt rodata:$wr:$gr data:$wd:$gd bss:$wb:$gb; do
    IFS=: read -r n a b <<<"$s"
    printf '%-28s %9d %9d %11d\n' ".$n" "$a" "$b" $((b - a))
done
flash=$(((gt + gr + gd) - (wt + wr + wd)))
ram=$(((gd + gb) - (wd + wb)))
printf '%-28s %9d %9d %11d   budget %d\n' "flash (.text+.rodata+.data)" $((wt + wr + wd)) $((gt + gr + gd)) $flash $FLASH_BUDGET
printf '%-28s %9d %9d %11d   budget %d\n' "static RAM (.data+.bss)" $((wd + wb)) $((gd + gb)) $ram $RAM_BUDGET
printf '%-28s %9d %9d %11s   budget %d\n' "stack of one step (painted)" "$base_stack" "$step_stack" "" $STACK_BUDGET
echo "(stack: bytes below the caller's stack pointer written during the call; 'without' is the empty call)"
check "flash ($PRIMARY)" $flash $FLASH_BUDGET
check "static RAM ($PRIMARY)" $ram $RAM_BUDGET
check "stack ($PRIMARY)" "$step_stack" $STACK_BUDGET

# --- Adam and AdamWeightDecay over the same groups ---------------------------------------------------
echo
echo "Adam and AdamWeightDecay over the same groups ($PRIMARY schedule), MindSpore's default settings"
printf '%-16s %7s %7s %7s %7s %9s %7s %7s   budget flash %d, ram %d, stack %d\n' optimizer .text .rodata .data .bss flash ram stack \
    $ADAM_FLASH_BUDGET $RAM_BUDGET $ADAM_STACK_BUDGET
for o in adam adamw; do
    build release "$o" "gradstep,sched-$PRIMARY,opt-$o"
    read -r t r d b < <(sections "$out/release-$o.elf")
    st=$(stack release "gradstep,sched-$PRIMARY,opt-$o")
    f=$(((t + r + d) - (wt + wr + wd)))
    m=$(((d + b) - (wd + wb)))
    name=$([[ $o == adam ]] && echo Adam || echo AdamWeightDecay)
    printf '%-16s %7d %7d %7d %7d %9d %7d %7d\n' "$name" $((t - wt)) $((r - wr)) $((d - wd)) $((b - wb)) $f $m "$st"
    check "flash ($name)" $f $ADAM_FLASH_BUDGET
    check "static RAM ($name)" $m $RAM_BUDGET
    check "stack ($name)" "$st" $ADAM_STACK_BUDGET
done

# --- every schedule kind as the one schedule ---------------------------------------------------------
if [[ $QUICK != 1 ]]; then
    echo
    printf '%-12s %7s %7s %7s %7s %9s %7s %7s\n' schedule .text .rodata .data .bss flash ram stack
    for s in "${SCHEDULES[@]}"; do
        [[ $s == "$PRIMARY" ]] || build release "$s" "gradstep,sched-$s"
        read -r t r d b < <(sections "$out/release-$s.elf")
        if [[ $s == "$PRIMARY" ]]; then st=$step_stack; else st=$(stack release "gradstep,sched-$s"); fi
        f=$(((t + r + d) - (wt + wr + wd)))
        m=$(((d + b) - (wd + wb)))
        printf '%-12s %7d %7d %7d %7d %9d %7d %7d\n' "$s" $((t - wt)) $((r - wr)) $((d - wd)) $((b - wb)) $f $m "$st"
        if [[ $GATE == all && $s != "$PRIMARY" ]]; then
            check "flash ($s)" $f $FLASH_BUDGET
            check "static RAM ($s)" $m $RAM_BUDGET
            check "stack ($s)" "$st" $STACK_BUDGET
        fi
    done
    echo "(differences against the build without gradstep; stack in bytes, absolute)"

    echo
    printf '%-10s %9s %9s %11s\n' opt-level without with "flash diff"
    for p in release release-z release-3; do
        if [[ $p != release ]]; then
            build "$p" without
            build "$p" "$PRIMARY" "gradstep,sched-$PRIMARY"
        fi
        read -r t r d _ < <(sections "$out/$p-without.elf")
        read -r t2 r2 d2 _ < <(sections "$out/$p-$PRIMARY.elf")
        case $p in release) l='"s"' ;; release-z) l='"z"' ;; release-3) l=3 ;; esac
        printf '%-10s %9d %9d %11d\n' "$l" $((t + r + d)) $((t2 + r2 + d2)) $(((t2 + r2 + d2) - (t + r + d)))
    done
fi

# --- who takes the space: symbols of the build with gradstep that the build without lacks ----------
echo
echo "largest symbols added or grown by gradstep ($PRIMARY; bytes, from $NM --size-sort -C --print-size):"
# -t d: decimal sizes; a symbol is "name" = everything after the address, size and type columns
"$NM" -C -t d --print-size --size-sort "$out/release-without.elf" >"$out/release-without.syms"
"$NM" -C -t d --print-size --size-sort "$out/release-$PRIMARY.elf" >"$out/release-$PRIMARY.syms"
awk 'function name() { s = $0; sub(/^[^ ]+ +[^ ]+ +[^ ]+ +/, "", s); return s }
     NR == FNR { if (NF >= 4) without[name()] += $2; next }
     NF >= 4 { n = name(); had = n in without; d = $2 - (had ? without[n] : 0)
               if (d > 0) printf "%7d %s %s%s\n", d, $3, n, had ? " (grew from " without[n] + 0 " to " $2 + 0 ")" : "" }' \
    "$out/release-without.syms" "$out/release-$PRIMARY.syms" | sort -rn | head -n "${M4_SIZE_TOP:-20}"
echo "(LTO inlines the optimizer: m4_size::step holds Optimizer::step with its kernels, m4_size::__cortex_m_rt_main the construction)"

echo
echo "check.sh: $(($(date +%s) - start)) s"
if ((fail)); then
    echo "gradstep exceeds its Cortex-M4F budget"
    exit 1
fi
echo "gradstep is within its Cortex-M4F budget"
