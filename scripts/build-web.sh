#!/usr/bin/env bash
# Builds the browser app into dist/ (release, offline) and checks its download-size budget.
set -euo pipefail
cd "$(dirname "$0")/.."

# Trunk finds wasm-opt (binaryen 132 from npm) and wasm-bindgen here, never downloads them.
export PATH="$PWD/e2e/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true

# Trunk runs cargo --offline, so the crates must be fetched first.
cargo fetch --locked --quiet
trunk build --release

scripts/check-size.sh
