#!/usr/bin/python3
"""Load for the kill test (t_policyd_kill.sh): counts what was answered.

  load.py PORT CONNS USERS SECONDS

CONNS kept-open connections, each sending END-OF-MESSAGE requests (one
message each, a new instance each time) for SASL users user0..user(USERS-1)
in turn, as fast as the replies come, until SECONDS pass or the server
closes the connections (it was killed).  Prints "start_us T" (the wall
clock, in microseconds, before the first request), "elapsed S",
"answered N", then "user NAME COUNT" per user: the requests answered
DUNNO, i.e. the messages the server told us it counted.
"""
import selectors
import socket
import sys
import time

port, nconns, nusers, secs = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                              float(sys.argv[4]))
sel = selectors.DefaultSelector()
counts = [0] * nusers
state = {}
seq = 0


def send(s):
    global seq
    user = seq % nusers
    seq += 1
    state[s] = [user, b""]
    s.sendall(("request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\n"
               "protocol_name=ESMTP\ninstance=k.%d\nsasl_username=user%d\n"
               "sender=user%d@example.org\nclient_address=203.0.113.5\n"
               "recipient_count=1\n\n" % (seq, user, user)).encode())


start_us = int(time.time() * 1e6)
t0 = time.monotonic()
for i in range(nconns):
    s = socket.create_connection(("127.0.0.1", port))
    sel.register(s, selectors.EVENT_READ)
for key in list(sel.get_map().values()):
    send(key.fileobj)
answered = 0
while sel.get_map() and time.monotonic() - t0 < secs:
    for key, _ in sel.select(timeout=1):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:
            sel.unregister(s)
            s.close()
            continue
        st = state[s]
        st[1] += data
        if st[1].endswith(b"\n\n"):
            if st[1].startswith(b"action=DUNNO"):
                counts[st[0]] += 1
                answered += 1
            send(s)
elapsed = time.monotonic() - t0
print("start_us %d" % start_us)
print("elapsed %.3f" % elapsed)
print("answered %d" % answered)
for u in range(nusers):
    print("user user%d %d" % (u, counts[u]))
