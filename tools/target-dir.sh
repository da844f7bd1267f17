#!/usr/bin/env bash
# Prints cargo's target directory for a manifest (default: the repository's Cargo.toml), as cargo
# resolves it: $CARGO_TARGET_DIR (or build.target-dir) when set, else the workspace's target/.
#   tools/target-dir.sh [path/to/Cargo.toml]
set -euo pipefail
manifest=${1:-$(dirname "${BASH_SOURCE[0]}")/../Cargo.toml}
cargo metadata --format-version 1 --no-deps --manifest-path "$manifest" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
