#!/usr/bin/env bash
# Runs the service on http://127.0.0.1:5000 with the embedded store (./data); no database needed.
# Extra arguments go to the server, e.g. `scripts/run.sh --password-max-age 30`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --locked -p accounts-server -- "$@"
