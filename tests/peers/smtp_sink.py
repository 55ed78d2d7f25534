"""A real SMTP server for gazette's end-to-end tests (aiosmtpd, from PyPI).

Stores every accepted message as DIR/NNNNNN.eml with its envelope in DIR/NNNNNN.json, and can
misbehave on purpose:
  --fail451 ADDR,...   answer 451 to the first RCPT of each listed address (a retry succeeds)
  --fail550 ADDR,...   answer 550 5.1.1 (unknown user) to every RCPT of each listed address
  --policy550 ADDR,... answer 550 5.7.1 (refused by policy: the sender's problem) to every RCPT
                       of each listed address
  --drop-after N       close the connection without answering the DATA of the Nth message (once)
  --drop-mail N        close the connection on the Nth MAIL FROM (once): nothing was accepted
  --delay SECONDS      wait this long before answering each DATA
  --no-pipelining      do not offer PIPELINING (RFC 2920) in the EHLO reply; offered by
                       default, as Postfix and Exim do (aiosmtpd reads pipelined commands but
                       does not say so)
  --discard            count messages but store nothing (benchmarks); the count is printed
                       as "RECEIVED <n>" on stdout when stdin closes
Prints "READY <port>" on stdout once it listens on 127.0.0.1.
"""
import argparse
import asyncio
import json
import os
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, out, fail451, fail550, drop_after, delay, drop_mail=0, discard=False,
                 pipelining=True, policy550=()):
        self.policy550 = set(policy550)
        self.pipelining = pipelining
        self.drop_mail = drop_mail
        self.mail_commands = 0
        self.discard = discard
        self.out = out
        self.fail451 = set(fail451)
        self.fail550 = set(fail550)
        self.seen451 = set()
        self.drop_after = drop_after
        self.delay = delay
        self.count = 0
        self.data_commands = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mail_commands += 1
        if self.drop_mail and self.mail_commands == self.drop_mail:
            server.transport.close()
            return "421 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        addr = address.lower()
        if addr in self.fail550:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if addr in self.policy550:
            return "550 5.7.1 <%s>: message refused by policy (sender reputation)" % address
        if addr in self.fail451 and addr not in self.seen451:
            self.seen451.add(addr)
            return "451 4.7.1 <%s>: greylisted, try again later" % address
        envelope.rcpt_tos.append(address)
        # Whether the client pipelined: its DATA already waits in our read buffer.
        envelope.pipelined = b"DATA" in bytes(getattr(server._reader, "_buffer", b""))
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        if self.drop_after and self.data_commands == self.drop_after:
            server.transport.close()
            return "421 closing"
        if self.delay:
            await asyncio.sleep(self.delay)
        self.count += 1
        if self.discard:
            return "250 2.0.0 Ok: queued as %06d" % self.count
        stem = os.path.join(self.out, "%06d" % self.count)
        with open(stem + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(stem + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "pipelined": getattr(envelope, "pipelined", False)}, f)
        os.replace(stem + ".eml.tmp", stem + ".eml")
        return "250 2.0.0 Ok: queued as %06d" % self.count


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--fail451", default="")
    p.add_argument("--fail550", default="")
    p.add_argument("--policy550", default="")
    p.add_argument("--drop-after", type=int, default=0)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--drop-mail", type=int, default=0)
    p.add_argument("--discard", action="store_true")
    p.add_argument("--no-pipelining", action="store_true")
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    split = lambda s: [x.strip().lower() for x in s.split(",") if x.strip()]
    handler = Sink(a.dir, split(a.fail451), split(a.fail550), a.drop_after, a.delay,
                   a.drop_mail, a.discard, pipelining=not a.no_pipelining,
                   policy550=split(a.policy550))
    port = a.port
    if port == 0:
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
    controller = Controller(handler, hostname="127.0.0.1", port=port, data_size_limit=50 * 1024 * 1024)
    controller.start()
    print("READY %d" % port, flush=True)
    try:
        sys.stdin.read()  # run until the test closes our stdin (or kills us)
    finally:
        controller.stop()
        if a.discard:
            print("RECEIVED %d" % handler.count, flush=True)


if __name__ == "__main__":
    main()
