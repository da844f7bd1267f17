#!/usr/bin/env bash
# Counts the simd128 instructions in the kernels of the wasm32-unknown-unknown module and fails
# unless the vector kernels (wide_momentum, wide_sgd, and Adam's in wide_adam) hold f32x4 arithmetic
# (a build that lost +simd128 has none). AdamWeightDecay's update is `f64` arithmetic per element,
# which simd128 cannot fuse exactly: its kernel holds little.
#   wasm/check-simd.sh [module.wasm]
set -euo pipefail
here=$(dirname "$0")
module=${1:-$("$here/../tools/target-dir.sh" "$here/Cargo.toml")/wasm32-unknown-unknown/release/gradstep_wasm.wasm}
wasm-objdump -d "$module" | awk '
    /^[0-9a-f]+ func\[[0-9]+\] </ { name = $3 }
    name ~ /kernel/ && /f32x4\.(add|sub|mul)/ { arith[name]++ }
    name ~ /kernel/ && /v128\.(load|store)/ { mem[name]++ }
    END {
        for (n in arith) {
            printf "%6d f32x4 add/sub/mul, %6d v128 load/store  %s\n", arith[n], mem[n], n
            if (n ~ /wide_momentum/) momentum += arith[n]
            if (n ~ /wide_sgd/) sgd += arith[n]
            if (n ~ /wide_adam[^w]/) adam += arith[n]
        }
        if (momentum == 0 || sgd == 0 || adam < 100) {
            print "no simd128 arithmetic in wide_momentum, wide_sgd or wide_adam"; exit 1
        }
    }'
