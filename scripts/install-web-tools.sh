#!/usr/bin/env bash
# Installs what building and testing the browser app needs, skipping whatever is already there:
# the wasm32 target, Trunk, the wasm-bindgen CLI matching Cargo.lock, wasm-opt (binaryen from
# npm) and Playwright's driver library (e2e/node_modules); with --browser also Debian's Chromium
# and ChromeDriver, which only the end-to-end tests need.
# Nothing is downloaded at build time afterwards: Trunk runs offline with these.
#
# The installs are independent, so they run side by side, and the two Rust tools are built
# without optimisation (`cargo install --debug`): on 2 cores that takes Trunk from about 9 to
# under 4 minutes, and a debug Trunk builds the app as fast as an optimised one (the time is
# spent in cargo and wasm-opt, not in Trunk). Both are built without their default features:
# those are TLS stacks and update checks for downloading, and nothing here downloads.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
step() { printf '\n==> %s\n' "$*"; }

pids=()
run_bg() { "$@" & pids+=("$!"); }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

if [ "$(trunk --version 2>/dev/null || true)" != "trunk $TRUNK_VERSION" ]; then
    step "installing trunk $TRUNK_VERSION (about 4 minutes on 2 cores)"
    run_bg cargo install trunk --version "$TRUNK_VERSION" --locked --debug --quiet \
        --no-default-features
fi

# The CLI must be exactly the library version the app links.
WBG_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
install_wasm_bindgen() {
    # --locked has failed here when a pinned dependency was missing from the registry mirror.
    local flags=(--version "$WBG_VERSION" --debug --quiet --no-default-features)
    cargo install wasm-bindgen-cli "${flags[@]}" --locked 2>/dev/null \
        || cargo install wasm-bindgen-cli "${flags[@]}"
}
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WBG_VERSION" ]; then
    step "installing wasm-bindgen-cli $WBG_VERSION"
    run_bg install_wasm_bindgen
fi

# The stamp records which package-lock.json node_modules was installed from.
STAMP=e2e/node_modules/.installed-from-package-lock.json
if [ ! -x e2e/node_modules/.bin/wasm-opt ] || [ ! -d e2e/node_modules/playwright-core ] \
    || ! cmp -s e2e/package-lock.json "$STAMP"; then
    step "installing binaryen (wasm-opt), playwright-core and openid-client from npm"
    (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
    cp e2e/package-lock.json "$STAMP"
fi

if [ "${1:-}" = "--browser" ] && { ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; }; then
    step "installing Debian's chromium and chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium chromium-driver
fi

status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
exit "$status"
