#!/usr/bin/python3
"""dkimpy (Debian python3-dkim) as a DKIM peer for the integration tests.

  dkimpy.py sign --key PEM --domain D --selector S [--canon H/B]
            [--alg rsa-sha256|ed25519-sha256] [--headers a:b:c]
            [--identity I] [--length] FILE
      print FILE with dkimpy's DKIM-Signature on top, with FILE's line
      ends.  RSA keys: PKCS#1 PEM (dkimpy reads nothing else).  Ed25519
      keys: PKCS#8 PEM as openssl writes it; the 32-byte seed is taken
      from it, because dkimpy wants the base64 seed (what dknewkey writes).
  dkimpy.py verify --zone ZONEFILE FILE
      verify every DKIM-Signature of FILE with dkimpy, keys looked up in
      ZONEFILE instead of DNS; print "N pass" or "N fail: WHY" per
      signature (N from 0, top first); exit 0 iff there is at least one
      signature and all of them pass.

Limits: the zone reader knows only what the tests write: one record per
line (or parentheses spanning lines), $ORIGIN, $TTL, @, relative names,
optional TTL and class; only TXT records are kept.
"""
import argparse
import base64
import re
import sys

import dkim

# PKCS#8 PrivateKeyInfo of an Ed25519 key (RFC 8410): fixed 16-byte prefix,
# then the 32-byte seed.
ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")


def line_sep(msg):
    """The line end of the first line: how the whole file is written."""
    nl = msg.find(b"\n")
    return b"\r\n" if nl > 0 and msg[nl - 1:nl] == b"\r" else b"\n"


def pem_der(pem):
    m = re.search(rb"-----BEGIN [A-Z ]+-----(.*?)-----END", pem, re.S)
    if not m:
        raise SystemExit("no PEM block in key file")
    return base64.b64decode(b"".join(m.group(1).split()))


def ed25519_seed_b64(pem):
    der = pem_der(pem)
    if len(der) != 48 or not der.startswith(ED25519_PKCS8_PREFIX):
        raise SystemExit("not a PKCS#8 Ed25519 private key")
    return base64.b64encode(der[16:])


def cmd_sign(a):
    msg = open(a.file, "rb").read()
    key = open(a.key, "rb").read()
    alg = a.alg.encode()
    if alg == b"ed25519-sha256":
        key = ed25519_seed_b64(key)
    sep = line_sep(msg)
    canon = tuple(x.encode() for x in a.canon.split("/"))
    hdrs = [h.encode() for h in a.headers.split(":")] if a.headers else None
    sig = dkim.sign(msg, a.selector.encode(), a.domain.encode(), key,
                    identity=a.identity.encode() if a.identity else None,
                    canonicalize=canon, signature_algorithm=alg,
                    include_headers=hdrs, linesep=sep, length=a.length)
    # dkimpy ends the field with CRLF whatever linesep says.
    if sep == b"\n":
        sig = sig.replace(b"\r\n", b"\n")
    sys.stdout.buffer.write(sig + msg)


def unquote_txt(rdata):
    return b"".join(m.encode("utf-8")
                    for m in re.findall(r'"((?:[^"\\]|\\.)*)"', rdata))


def zone_entries(text):
    """Logical lines: comments dropped, parentheses joined."""
    out, cur, depth = [], "", 0
    for line in text.splitlines():
        clean, inq = "", False
        for ch in line:
            if ch == '"':
                inq = not inq
            if ch == ";" and not inq:
                break
            if ch in "()" and not inq:
                depth += 1 if ch == "(" else -1
                ch = " "
            clean += ch
        cur += clean if not cur else " " + clean.strip()
        if depth == 0:
            if cur.strip():
                out.append(cur)
            cur = ""
    return out


def read_zone(path):
    origin, owner, txt = ".", None, {}
    for ent in zone_entries(open(path, encoding="utf-8").read()):
        if ent.startswith("$ORIGIN"):
            origin = ent.split()[1].lower()
            continue
        if ent.startswith("$"):
            continue
        fields = ent.split(None, 1)
        if ent[0] in " \t":
            rest = ent.strip()
        else:
            name, rest = fields[0], fields[1] if len(fields) > 1 else ""
            if name == "@":
                owner = origin
            elif name.endswith("."):
                owner = name.lower()
            else:
                owner = (name + "." + origin).lower()
        toks = rest.split(None)
        while toks and (toks[0].isdigit() or toks[0].upper() in ("IN", "CH", "HS")):
            toks.pop(0)
        if toks and toks[0].upper() == "TXT":
            data = rest.split(toks[0], 1)[1]
            txt.setdefault(owner, []).append(unquote_txt(data))
    return txt


def cmd_verify(a):
    zone = read_zone(a.zone)

    def dnsfunc(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        n = n.lower()
        if not n.endswith("."):
            n += "."
        recs = zone.get(n)
        return recs[0] if recs else None

    msg = open(a.file, "rb").read()
    d = dkim.DKIM(msg, minkey=1024)
    n = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
    ok = n > 0
    for i in range(n):
        try:
            res = d.verify(idx=i, dnsfunc=dnsfunc)
            why = "" if res else "verification failed"
        except dkim.DKIMException as e:
            res, why = False, str(e)
        print("%d %s%s" % (i, "pass" if res else "fail", "" if res else ": " + why))
        ok = ok and res
    if n == 0:
        print("no signature")
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sign")
    s.add_argument("--key", required=True)
    s.add_argument("--domain", required=True)
    s.add_argument("--selector", required=True)
    s.add_argument("--canon", default="relaxed/relaxed")
    s.add_argument("--alg", default="rsa-sha256")
    s.add_argument("--headers")
    s.add_argument("--identity")
    s.add_argument("--length", action="store_true", help="add l= (body length)")
    s.add_argument("file")
    v = sub.add_parser("verify")
    v.add_argument("--zone", required=True)
    v.add_argument("file")
    a = p.parse_args()
    if a.cmd == "sign":
        cmd_sign(a)
        return 0
    return cmd_verify(a)


if __name__ == "__main__":
    sys.exit(main())
