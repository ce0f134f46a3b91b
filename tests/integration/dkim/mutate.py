#!/usr/bin/python3
"""Change a signed message the way a relay or an attacker would.

  mutate.py MODE FILE    print FILE changed by MODE, keeping its line ends

Modes (each changes exactly one thing; the tests know what RFC 6376 says
a verifier must conclude):
  body            append "!" to the first text line of the body
  subject         change the Subject value (a signed field)
  add-unsigned    prepend an "X-Added: yes" field (not in any h=)
  from-prepended  prepend a second From field
  subject-spaces  every space inside the Subject value becomes SP HTAB SP
  subject-case    the Subject field name in capitals ("SUBJECT:")
  body-ws         append SP HTAB to every non-empty body line
  refold-to       unfold the To field if folded, else fold it at ", "
  add-blank       append two empty lines at the end of the body
  strip-blank     remove the empty lines at the end of the body

Exits 2 (and prints nothing) when MODE does not apply to FILE, so a
fixture that lacks what a mode needs shows up instead of passing
vacuously.
"""
import re
import sys


def split(msg):
    nl = msg.find(b"\n")
    sep = b"\r\n" if nl > 0 and msg[nl - 1:nl] == b"\r" else b"\n"
    end = msg.find(sep + sep)
    if end < 0:
        raise SystemExit(2)
    return sep, msg[:end + len(sep)], msg[end + len(sep):]


def field_re(name):
    # the whole field, folds included, up to and including its line end
    return re.compile(rb"(?im)^(" + name + rb")[ \t]*:(.*?\n)(?![ \t])", re.S)


def sub_field(head, name, fn):
    m = field_re(name).search(head)
    if not m:
        raise SystemExit(2)
    new = fn(m.group(0))
    if new == m.group(0):
        raise SystemExit(2)
    return head[:m.start()] + new + head[m.end():]


def body_lines(sep, body, fn):
    lines = body.split(sep)
    return sep.join(fn(x) if x else x for x in lines)


def mutate(mode, msg):
    sep, head, body = split(msg)
    # body starts with the empty line that ends the header block
    if mode == "body":
        lines = body.split(sep)
        for i, x in enumerate(lines):
            # a text line, not a MIME boundary or part header
            if x.strip() and not x.startswith(b"--") and b":" not in x:
                lines[i] = x + b"!"
                return head + sep.join(lines)
        raise SystemExit(2)
    if mode == "subject":
        return sub_field(head, rb"subject",
                         lambda f: f[:-len(sep)] + b" (edited)" + sep) + body
    if mode == "add-unsigned":
        return b"X-Added: yes" + sep + head + body
    if mode == "from-prepended":
        return b"From: Mallory <mallory@evil.example>" + sep + head + body
    if mode == "subject-spaces":
        def spaces(f):
            name, value = f.split(b":", 1)
            return name + b":" + value[:1] + value[1:].replace(b" ", b" \t ")
        return sub_field(head, rb"subject", spaces) + body
    if mode == "subject-case":
        return sub_field(head, rb"subject",
                         lambda f: b"SUBJECT" + f[len(b"subject"):]) + body
    if mode == "body-ws":
        return head + body_lines(sep, body, lambda x: x + b" \t")
    if mode == "refold-to":
        def refold(f):
            if re.search(rb"\r?\n[ \t]", f[:-len(sep)]):
                return re.sub(rb"\r?\n(?=[ \t])", b"", f[:-len(sep)]) + sep
            return f.replace(b", ", b"," + sep + b"\t")
        return sub_field(head, rb"to", refold) + body
    if mode == "add-blank":
        return head + body + sep + sep
    if mode == "strip-blank":
        stripped = body.rstrip(b"\r\n") + sep
        if stripped == body or not body.strip():
            raise SystemExit(2)
        return head + stripped
    raise SystemExit("unknown mode " + mode)


def main():
    msg = open(sys.argv[2], "rb").read()
    sys.stdout.buffer.write(mutate(sys.argv[1], msg))


if __name__ == "__main__":
    main()
