#!/usr/bin/env bash
# Runs the service on http://127.0.0.1:5000 with the embedded store (./data) and the browser app
# built into ./dist; no database needed. Installs the build tools on first use (see
# scripts/install-web-tools.sh). Extra arguments go to the server, e.g.
# `scripts/run.sh --password-max-age 30`.
#
# On a fresh machine the time goes into compiling: the server builds in the background while
# the tools install, and with the `serve` profile (optimised, without the release profile's
# whole-program LTO, which only the benchmark needs).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-system-deps.sh
server_log=$(mktemp)
cargo build --profile serve --locked -p accounts-server >"$server_log" 2>&1 &
server_build=$!
trap 'kill "$server_build" 2>/dev/null || true; rm -f "$server_log"' EXIT

scripts/install-web-tools.sh
scripts/build-web.sh

printf '\n==> waiting for the server build\n'
if ! wait "$server_build"; then
    cat "$server_log"
    exit 1
fi
trap - EXIT
rm -f "$server_log"
exec target/serve/accounts-server --static-dir dist "$@"
