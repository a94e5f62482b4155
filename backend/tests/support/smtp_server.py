"""A real SMTP server for the tests (aiosmtpd), which keeps what it receives as JSON files.

    smtp_server.py --port PORT --dir DIR [--tls-cert CERT --tls-key KEY] [--auth USER:PASSWORD]

Each message accepted is parsed with Python's own email package (so a message it cannot
parse fails the test that reads it) and written to DIR/<n>.json: the envelope, the headers
that matter, and the decoded text and HTML parts. With --tls-cert, STARTTLS is offered and
required; with --auth, AUTH (PLAIN or LOGIN, over TLS) is required. "ready" is printed once
the port answers; SIGTERM stops it.
"""

import argparse
import email
import email.policy
import itertools
import json
import os
import signal
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Keep:
    """Writes each message to the directory, numbered in arrival order."""

    def __init__(self, directory):
        self.directory = directory
        # Started again on the same directory: numbering goes on.
        kept = [n for n in os.listdir(directory) if n.endswith(".json")]
        self.numbers = itertools.count(len(kept) + 1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = {}
        for part in message.walk():
            kind = part.get_content_type()
            if kind in ("text/plain", "text/html") and kind not in parts:
                parts[kind] = part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {k.lower(): str(v) for k, v in message.items()},
            "header_names": [k for k, _ in message.items()],
            "content_type": message.get_content_type(),
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
        }
        with self.lock:
            n = next(self.numbers)
        path = os.path.join(self.directory, f"{n:04}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--auth")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    options = {}
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        options.update(tls_context=context, require_starttls=True)
    if args.auth:
        user, password = args.auth.encode().split(b":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and (
                auth_data.login == user and auth_data.password == password
            )
            return AuthResult(success=ok)

        options.update(authenticator=authenticator, auth_required=True,
                       auth_require_tls=bool(args.tls_cert))
    controller = Controller(Keep(args.dir), hostname="127.0.0.1", port=args.port,
                            ready_timeout=30, **options)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
