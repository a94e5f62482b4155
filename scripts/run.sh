#!/usr/bin/env bash
# Runs the service on http://localhost:5000 with the embedded store (./data) and the browser app
# built into ./dist; no database needed. Installs the build tools on first use (see
# scripts/install-web-tools.sh). Extra arguments go to the server, e.g.
# `scripts/run.sh --password-max-age 30`.
#
# On a fresh machine the time goes into compiling: the server builds in the background while
# the tools install and the app builds, with the `serve` profile (optimised, without the
# release profile's whole-program LTO, which only the benchmark needs). Each step is printed
# with the time since the start, so a first run shows that it is moving.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
step() { printf '\n==> [%dm%02ds] %s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)) "$*"; }

if [ ! -x target/serve/accounts-server ] || ! command -v trunk >/dev/null; then
    step "first run: installing the build tools and compiling the server and the app." \
        "On 2 cores this takes about 10 to 25 minutes (see 'How long' in README.md);" \
        "later runs start in seconds."
fi

scripts/install-system-deps.sh
server_log=$(mktemp)
step "compiling the server in the background (log: $server_log)"
cargo build --profile serve --locked -p accounts-server >"$server_log" 2>&1 &
server_build=$!
trap 'kill "$server_build" 2>/dev/null || true; rm -f "$server_log"' EXIT

step "installing the web build tools that are missing"
scripts/install-web-tools.sh
step "building the browser app (release)"
scripts/build-web.sh

step "waiting for the server build"
waited=0
while kill -0 "$server_build" 2>/dev/null; do
    sleep 1
    waited=$((waited + 1))
    if [ $((waited % 30)) = 0 ]; then
        step "still compiling the server: $(grep -c '^ *Compiling' "$server_log" || true) crates so far"
    fi
done
if ! wait "$server_build"; then
    cat "$server_log"
    exit 1
fi
trap - EXIT
rm -f "$server_log"
step "ready: starting the server"
exec target/serve/accounts-server --static-dir dist "$@"
