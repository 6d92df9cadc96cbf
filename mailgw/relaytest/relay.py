"""Test SMTP relay for package relaytest: aiosmtpd on 127.0.0.1:<free port>.

Every accepted message is written to --dir as msg-NNNNNN.json (temp file +
rename, so a reader never sees half a file). While <dir>/fail451 exists DATA
is answered 451; recipients whose local part starts with "reject" get 550.
The chosen port is written to --port-file once the server listens. The relay
exits when its standard input reaches end of file (the Go test is gone) or
on SIGTERM. Exit status 3 means aiosmtpd is not installed.
"""

import argparse
import asyncio
import base64
import json
import logging
import os
import signal
import ssl
import sys
import warnings

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError as e:
    print("relaytest: cannot import aiosmtpd:", e, file=sys.stderr)
    sys.exit(3)


class Handler:
    def __init__(self, directory, auth):
        self.directory = directory
        self.auth = auth
        self.count = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # The 5-argument hook replaces the EHLO reply; it must record the
        # client's name itself. Without credentials no AUTH is offered.
        session.host_name = hostname
        if self.auth is None:
            responses = [r for r in responses if not r[4:].startswith("AUTH")]
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.rsplit("@", 1)[0]
        if local.lower().startswith("reject"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if os.path.exists(os.path.join(self.directory, "fail451")):
            return "451 4.3.0 try again later"
        self.count += 1
        name = "msg-%06d.json" % self.count
        record = {
            # aiosmtpd keeps the null sender as "<>"; the Go side says "".
            "from": "" if envelope.mail_from == "<>" else envelope.mail_from,
            "to": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "tls": session.ssl is not None,
            "auth_user": session.auth_data if session.authenticated else "",
            "raw": base64.b64encode(envelope.original_content).decode("ascii"),
        }
        tmp = os.path.join(self.directory, "." + name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.directory, name))
        return "250 2.0.0 OK stored as " + name


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        if (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        ):
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)

    return check


async def serve(args, stop):
    loop = asyncio.get_running_loop()
    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    auth = None
    if args.auth_user:
        auth = (args.auth_user, os.environ.get("RELAYTEST_AUTH_PASSWORD", ""))
    handler = Handler(args.dir, auth)
    kwargs = dict(
        hostname="localhost",
        enable_SMTPUTF8=True,
        tls_context=tls,
        require_starttls=args.require_tls,
        auth_require_tls=args.require_tls,
    )
    if auth is not None:
        kwargs["authenticator"] = authenticator(*auth)
        kwargs["auth_required"] = True
    server = await loop.create_server(
        lambda: SMTP(handler, loop=loop, **kwargs), host="127.0.0.1", port=0
    )
    port = server.sockets[0].getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.port_file)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--require-tls", action="store_true")
    p.add_argument("--auth-user")
    args = p.parse_args()

    # aiosmtpd warns about AUTH without TLS and deprecated login_data on
    # every login; the relay is for tests on loopback, so both are noise.
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    def on_stdin():
        # os.read, not sys.stdin: the buffered reader's lock would delay
        # interpreter shutdown.
        if not os.read(0, 4096):
            loop.remove_reader(0)
            stop.set()

    loop.add_reader(0, on_stdin)
    loop.run_until_complete(serve(args, stop))


if __name__ == "__main__":
    main()
