#!/usr/bin/env bash
# Counts the simd128 instructions in the kernels of the wasm32-unknown-unknown module and fails
# unless both vector kernels (wide_momentum, wide_sgd) hold f32x4 arithmetic (a build that lost
# +simd128 has none).
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
        }
        if (momentum == 0 || sgd == 0) { print "no simd128 arithmetic in wide_momentum or wide_sgd"; exit 1 }
    }'
