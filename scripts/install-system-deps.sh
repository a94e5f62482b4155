#!/usr/bin/env bash
# Installs the system packages the server's build and tests need, if missing: OpenSSL's
# headers and pkg-config (webauthn-rs verifies passkeys with OpenSSL), and the system's
# python3 and setpriv (the admin-socket tests run a client and a listener as `nobody`, who
# cannot reach a per-user Python), python3-venv (for the test SMTP server, aiosmtpd) and the
# openssl command (the STARTTLS test makes a self-signed certificate). Debian's packages;
# skipped when all are there.
set -euo pipefail

if command -v pkg-config >/dev/null && pkg-config --exists openssl \
    && [ -x /usr/bin/python3 ] && command -v setpriv >/dev/null \
    && command -v openssl >/dev/null && python3 -c 'import ensurepip, venv' 2>/dev/null; then
    exit 0
fi
printf '\n==> installing libssl-dev, pkg-config, python3, python3-venv, openssl and util-linux\n'
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
"${sudo[@]}" apt-get install -y -qq libssl-dev pkg-config python3 python3-venv openssl util-linux
