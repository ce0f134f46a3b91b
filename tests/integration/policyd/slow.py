#!/usr/bin/python3
"""A slow Redis under cachet-policyd, for t_policyd_redis_slow.sh.

  slow.py PORT REDIS_PID

Pauses redis-server (SIGSTOP) and resumes it (SIGCONT) itself, so the
timings are its own, and prints one line per observation for the shell
to check, "NAME MS REPLY" (MS: milliseconds from sending to the reply):

  pause 1 (long enough for the server to give the connection up):
    wait MS R        conn A: a request that needs Redis
    bypass-KIND MS R conn B, meanwhile: requests that need no Redis
                     (KIND: allowed, mail-stage, no-user)
    order1 MS R      conn C: two requests in one write, the first needs
    order2 MS R        Redis, the second not; replies in arrival order
    stalled N        requests sent on A until the pause is 3.5 s old
  resume:
    recovered MS     time until a request on a new connection is counted
                     by Redis again (DUNNO), or -1
    extra CONN N     bytes that arrived later on A, B, C: late replies
  pause 2 (shorter than the give-up time: the connection is kept):
    late MS R        conn A, during the pause
    after MS R       conn A, right after the resume
    extra2 A N

Requests: SASL user USER (empty: none), sender USER@example.org, client
203.0.113.5, one recipient.
"""
import os
import select
import signal
import socket
import sys
import time

PORT = int(sys.argv[1])
REDIS = int(sys.argv[2])


def request(state, user, inst):
    return ("request=smtpd_access_policy\nprotocol_state=%s\nprotocol_name=ESMTP\n"
            "instance=%s\nsasl_username=%s\nsender=%s@example.org\n"
            "client_address=203.0.113.5\nrecipient_count=1\n"
            "recipient=rcpt@example.com\n\n" % (state, inst, user, user or "nobody")).encode()


class Conn:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", PORT))
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def reply(self, timeout=10):
        """One reply, its lines joined by spaces, or "(closed)"/"(timeout)"."""
        end = time.monotonic() + timeout
        while b"\n\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.s], [], [], left)[0]:
                return "(timeout)"
            chunk = self.s.recv(4096)
            if not chunk:
                return "(closed)"
            self.buf += chunk
        r, self.buf = self.buf.split(b"\n\n", 1)
        return " ".join(r.decode().split("\n"))

    def ask(self, data):
        t = time.monotonic()
        self.send(data)
        r = self.reply()
        return ms(t), r

    def extra(self, wait):
        """Bytes that arrive within `wait` seconds, beyond the replies read."""
        end = time.monotonic() + wait
        while True:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.s], [], [], left)[0]:
                return len(self.buf)
            chunk = self.s.recv(4096)
            if not chunk:
                return len(self.buf)
            self.buf += chunk


def ms(t):
    return int((time.monotonic() - t) * 1000)


def say(name, *values):
    print(name, *values, flush=True)


a, b, c = Conn(), Conn(), Conn()
# connected and answered once before the pause (Redis connection made)
say("warm", *a.ask(request("RCPT", "alice", "w1")))

os.kill(REDIS, signal.SIGSTOP)
stopped = time.monotonic()
try:
    t = time.monotonic()
    a.send(request("RCPT", "alice", "a1"))
    say("bypass-allowed", *b.ask(request("RCPT", "vip", "b1")))
    say("bypass-mail-stage", *b.ask(request("MAIL", "alice", "b2")))
    say("bypass-no-user", *b.ask(request("RCPT", "", "b3")))
    r = a.reply()
    say("wait", ms(t), r)
    t = time.monotonic()
    c.send(request("RCPT", "alice", "c1") + request("MAIL", "alice", "c2"))
    r = c.reply()
    say("order1", ms(t), r)
    r = c.reply()
    say("order2", ms(t), r)
    n = 0
    while time.monotonic() - stopped < 3.5:
        a.ask(request("RCPT", "alice", "s%d" % n))
        n += 1
        time.sleep(0.3)
    say("stalled", n)
finally:
    os.kill(REDIS, signal.SIGCONT)

t = time.monotonic()
recovered = -1
while time.monotonic() - t < 5:
    d = Conn()
    _, r = d.ask(request("RCPT", "probe", "p1"))
    d.s.close()
    if r == "action=DUNNO":
        recovered = ms(t)
        break
    time.sleep(0.2)
say("recovered", recovered)
for name, conn in (("A", a), ("B", b), ("C", c)):
    say("extra", name, conn.extra(0.5))

os.kill(REDIS, signal.SIGSTOP)
stopped = time.monotonic()
try:
    say("late", *a.ask(request("RCPT", "alice", "l1")))
    time.sleep(max(0, 0.9 - (time.monotonic() - stopped)))
finally:
    os.kill(REDIS, signal.SIGCONT)
say("after", *a.ask(request("RCPT", "alice", "l2")))
say("extra2", "A", a.extra(0.5))
