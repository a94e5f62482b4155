#!/usr/bin/env bash
# Installs the system packages the server's build needs, if missing: OpenSSL's headers and
# pkg-config (webauthn-rs verifies passkeys with OpenSSL). Debian's packages; skipped when
# `pkg-config --exists openssl` already succeeds.
set -euo pipefail

if command -v pkg-config >/dev/null && pkg-config --exists openssl; then
    exit 0
fi
printf '\n==> installing libssl-dev and pkg-config (OpenSSL for passkey verification)\n'
sudo=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || {
        echo "install libssl-dev and pkg-config (as root: apt-get install libssl-dev pkg-config)" >&2
        exit 1
    }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq libssl-dev pkg-config
