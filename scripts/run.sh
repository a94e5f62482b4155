#!/usr/bin/env bash
# Runs the service on http://127.0.0.1:5000 with the embedded store (./data) and the browser app
# built into ./dist; no database needed. Installs the build tools on first use (see
# scripts/install-web-tools.sh). Extra arguments go to the server, e.g.
# `scripts/run.sh --password-max-age 30`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-web-tools.sh
scripts/build-web.sh
exec cargo run --release --locked -p accounts-server -- --static-dir dist "$@"
