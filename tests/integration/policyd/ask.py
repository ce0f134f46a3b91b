#!/usr/bin/python3
"""A Postfix policy client for the cachet-policyd integration tests.

  ask.py "PORT STATE USER INSTANCE [RECIPIENT]"...

Sends one smtpd_access_policy request per argument (SASL user USER, sender
USER@example.org, client 203.0.113.5), keeping one connection open per
port as Postfix does, and prints the reply's lines joined by spaces, one
line per request, or "(closed)" when the server closed the connection.
"""
import socket
import sys

conns = {}
for spec in sys.argv[1:]:
    w = spec.split()
    port, state, user, inst = w[:4]
    rcpt = "recipient=%s\n" % w[4] if len(w) > 4 else ""
    if port not in conns:
        conns[port] = socket.create_connection(("127.0.0.1", int(port))).makefile("rwb")
    f = conns[port]
    f.write(("request=smtpd_access_policy\nprotocol_state=%s\nprotocol_name=ESMTP\n"
             "instance=%s\nsasl_username=%s\nsender=%s@example.org\n"
             "client_address=203.0.113.5\nrecipient_count=1\n%s\n"
             % (state, inst, user, user, rcpt)).encode())
    f.flush()
    out = []
    while True:
        line = f.readline()
        if line in (b"\n", b""):
            break
        out.append(line.decode().strip())
    print(" ".join(out) or "(closed)")
