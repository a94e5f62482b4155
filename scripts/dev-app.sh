#!/usr/bin/env bash
# Development: serves the browser app with live reload on http://localhost:8080 (`trunk serve`),
# proxying /api, /health and /user to the server on 127.0.0.1:5000. Start the server with
# `cargo run -p accounts-server -- --public-url http://localhost:8080` in another terminal,
# before or after this (without that URL it refuses the proxied requests: 421).
# Installs Trunk and friends on first use, and fetches the crates Trunk's offline build needs.
# Extra arguments go to `trunk serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-web-tools.sh
cargo fetch --locked --quiet
export PATH="$PWD/e2e/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true
exec trunk serve "$@"
