#!/usr/bin/python3
"""Drives cachet-policyd past its descriptor limit (t_policyd_fdlimit.sh).

  fdlimit.py PORT PID LOGFILE N SECONDS

Opens N connections (more than the daemon has descriptors for: the rest
wait in the kernel's backlog), holds them for SECONDS while measuring the
daemon's CPU time (/proc/PID/stat, utime + stime) and the lines it adds to
LOGFILE, asks one question on the first connection (accepted before the
limit), then closes all but the first and the last and asks on the last
connection (accepted only once descriptors are free).  Prints
"KEY VALUE" lines: cpu_seconds, log_lines, held_served, new_served.
"""
import os
import socket
import sys
import time

port, pid, logfile, n, secs = (int(sys.argv[1]), sys.argv[2], sys.argv[3],
                               int(sys.argv[4]), float(sys.argv[5]))
REQ = (b"request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
       b"instance=1\nsasl_username=alice\nsender=alice@example.org\n"
       b"client_address=203.0.113.5\nrecipient_count=1\n\n")


def cpu():
    with open("/proc/%s/stat" % pid) as f:
        w = f.read().rsplit(")", 1)[1].split()
    return (int(w[11]) + int(w[12])) / os.sysconf("SC_CLK_TCK")


def log_lines():
    with open(logfile, "rb") as f:
        return f.read().count(b"\n")


def ask(s, timeout):
    s.settimeout(timeout)
    try:
        s.sendall(REQ)
        data = b""
        while not data.endswith(b"\n\n"):
            chunk = s.recv(4096)
            if not chunk:
                return "closed"
            data += chunk
        return "yes" if data.startswith(b"action=") else "bad"
    except OSError as e:
        return "no:" + type(e).__name__


conns = []
for i in range(n):
    conns.append(socket.create_connection(("127.0.0.1", port), timeout=5))
time.sleep(0.5)  # let the daemon hit the limit
c0, l0 = cpu(), log_lines()
time.sleep(secs)
c1, l1 = cpu(), log_lines()
print("cpu_seconds %.2f" % (c1 - c0))
print("log_lines %d" % (l1 - l0))
print("held_served %s" % ask(conns[0], 3))
for s in conns[1:-1]:
    s.close()
print("new_served %s" % ask(conns[-1], 5))
for s in conns:
    s.close()
