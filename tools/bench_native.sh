#!/usr/bin/env bash
# Default build against `-C target-cpu=native`, interleaved: builds the kernels bench both ways, then
# runs the gradstep cells of the two binaries alternately, round by round, each into its own
# CRITERION_HOME, so that the machine's drift hits both alike. Prints the comparison table.
#
#     tools/bench_native.sh            # about 4 minutes
set -euo pipefail
cd "$(dirname "$0")/.."

bench_binary() {
    cargo bench --bench kernels --no-run --message-format=json 2>/dev/null |
        python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "kernels" and m.get("executable"):
        print(m["executable"])'
}

default=$(bench_binary)
native=$(CARGO_TARGET_DIR=target/native RUSTFLAGS="-C target-cpu=native" bench_binary)
rm -rf target/criterion-default target/criterion-native
rounds=$(grep -oP '^const ROUNDS: usize = \K\d+' benches/kernels.rs)
for r in $(seq 0 $((rounds - 1))); do
    for k in momentum momentum_wd_ls nesterov sgd; do
        for build in default native; do
            bin=$default; [ "$build" = native ] && bin=$native
            CRITERION_HOME=target/criterion-$build "$bin" --bench "^$k/gradstep/[0-9]+-r$r\$" --noplot >/dev/null 2>&1
        done
    done
done
python3 tools/bench_table.py target/criterion-default --native target/criterion-native | sed -n '/default \/ native/,$p'
