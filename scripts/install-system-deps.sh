#!/usr/bin/env bash
# Installs the system packages the server's build and tests need, if missing: OpenSSL's
# headers and pkg-config (webauthn-rs verifies passkeys with OpenSSL), and the system's
# python3 and setpriv (the admin-socket tests run a client and a listener as `nobody`, who
# cannot reach a per-user Python), python3-venv (for the test SMTP server, aiosmtpd) and the
# openssl command (the STARTTLS test makes a self-signed certificate), and the reverse proxies
# the forward-auth tests run in front of an app: nginx (with its auth_request module) and
# Caddy. Debian's packages; skipped when all are there. The proxies' own services are not
# started (the tests run their own on free ports).
set -euo pipefail

if command -v pkg-config >/dev/null && pkg-config --exists openssl \
    && [ -x /usr/bin/python3 ] && command -v setpriv >/dev/null \
    && command -v openssl >/dev/null && python3 -c 'import ensurepip, venv' 2>/dev/null \
    && command -v nginx >/dev/null && command -v caddy >/dev/null; then
    exit 0
fi
printf '\n==> installing libssl-dev, pkg-config, python3, python3-venv, openssl, util-linux, nginx and caddy\n'
sudo=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || {
        echo "install libssl-dev and pkg-config (as root: apt-get install libssl-dev pkg-config)" >&2
        exit 1
    }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# Installing a service must not start it (nginx would take port 80): policy-rc.d says no.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq libssl-dev pkg-config python3 python3-venv openssl util-linux \
    nginx caddy
