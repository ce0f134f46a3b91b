#!/usr/bin/python3
"""Read what the DKIM tests look at.

  msginfo.py results JSONFILE
      one line per entry of the "dkim" list of `cachet check --json`:
      "RESULT|REASON|DOMAIN|SELECTOR|ALGORITHM" (empty for null).
  msginfo.py tag FILE TAG [N]
      the value of TAG in the N-th (0 = top) DKIM-Signature field of the
      message FILE, folding whitespace removed; exit 1 if absent.
"""
import json
import re
import sys


def results(path):
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    for e in d["dkim"]:
        print("|".join("" if e.get(k) is None else str(e[k])
                       for k in ("result", "reason", "domain", "selector",
                                 "algorithm")))
    return 0


def tag(path, name, n):
    msg = open(path, "rb").read().decode("utf-8", "replace")
    head = re.split(r"\r?\n\r?\n", msg, maxsplit=1)[0]
    fields = re.findall(r"(?ims)^dkim-signature[ \t]*:(.*?)(?=\r?\n(?![ \t])|\Z)", head)
    if n >= len(fields):
        return 1
    for t in fields[n].split(";"):
        if "=" not in t:
            continue
        k, v = t.split("=", 1)
        if k.strip() == name:
            print(re.sub(r"[ \t\r\n]", "", v))
            return 0
    return 1


def main():
    if sys.argv[1] == "results":
        return results(sys.argv[2])
    if sys.argv[1] == "tag":
        return tag(sys.argv[2], sys.argv[3],
                   int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    raise SystemExit("usage: msginfo.py results JSON | tag FILE TAG [N]")


if __name__ == "__main__":
    sys.exit(main())
