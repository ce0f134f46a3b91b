#!/usr/bin/env bash
# `cachet check`, explained, and `--from-received` on a message saved from
# a big provider's "show original" (received/original.eml, signed by
# good.lab.example with tests/integration/lab/lab.private): the envelope
# taken from the receiver's Received and Return-Path fields, its
# Authentication-Results beside ours and each difference explained; the
# same in --json; and the errors.  Offline: DNS from a zone file.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${BIN:-build/bin}
D=tests/integration/received
T=$(mktemp -d /tmp/cachet-received.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; fails=$((fails + 1)); }
check() { # check NAME COMMAND...: passes when the command succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
has() { grep -qF -- "$1" <<<"$2"; }

# the signature's t= is 1764868318; a minute later
CHECK=("$BIN/cachet" check --now 1764868400 --authserv-id mx.example.net)
MSG=$D/original.eml

# --- everything as it was: both agree ---
out=$("${CHECK[@]}" --dns-zone "$D/lab.zone" --from-received "$MSG")
check "from-received: exit 0" test $? = 0
check "client IP from mx.bigmail.example's Received field" has "client IP   192.0.2.25 (external)" "$out"
check "HELO from its from clause" has "HELO        mx.good.lab.example" "$out"
check "MAIL FROM from Return-Path" has "MAIL FROM   <bounces@good.lab.example>" "$out"
check "says which field it took (the topmost by that receiver)" \
	has "taken from  the Received field mx.bigmail.example added (header field 8) and the Return-Path field" "$out"
check "SPF: the record and the term that matched" \
	has $'record at good.lab.example: "v=spf1 mx -all"\n      the term that matched: mx (so: pass)' "$out"
check "SPF for HELO: why none" has "no SPF record at mx.good.lab.example" "$out"
check "DKIM: d= and s=" has "signature 1: d=good.lab.example s=s2025: pass" "$out"
check "DKIM: h= as signed" has "h=From:From:Reply-To:Subject" "$out"
check "DKIM: why it passed" has "why: it verifies with the key published at s2025._domainkey.good.lab.example" "$out"
check "alignment of both identifiers" \
	has $'SPF  good.lab.example (mfrom): pass, aligned (the same domain)\n   DKIM good.lab.example (s=s2025): pass, aligned (the same domain)' "$out"
check "the DMARC record and the disposition" \
	has $'_dmarc.good.lab.example: "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@good.lab.example"\n   policy: p=quarantine from _dmarc.good.lab.example\n   result: pass\n   disposition: none' "$out"
check "the walk comes in a receiver's order, then the AR field" \
	test "$(grep -E '^[0-9]\. ' <<<"$out" | cut -c1-2 | tr -d '\n')" = "1.2.3.4.5.6.7."
check "our AR field is there exactly" \
	grep -qx 'Authentication-Results: mx.example.net; dkim=pass (2048-bit rsa key) header.d=good.lab.example header.i=@good.lab.example header.s=s2025 header.a=rsa-sha256 header.b=FCC9fCKd; spf=pass (mx.example.net: domain of bounces@good.lab.example designates 192.0.2.25 as permitted sender) smtp.mailfrom=bounces@good.lab.example; spf=none (mx.example.net: no SPF record at mx.good.lab.example) smtp.helo=mx.good.lab.example; dmarc=pass (p=quarantine sp=quarantine np=quarantine t=n dis=none, treewalk at good.lab.example) header.from=good.lab.example policy.dmarc=quarantine' <<<"$out"
check "their AR field shown (the topmost by them, not the ARC copy)" \
	has "theirs (header field 10): mx.bigmail.example; dkim=pass header.i=@good.lab.example" "$out"
check "side by side: all three agree" \
	has $'dkim  d=good.lab.example s=s2025: both say pass\n   spf   MAIL FROM <bounces@good.lab.example>: both say pass\n   dmarc From good.lab.example: both say pass' "$out"
check "--receiver-id names the same receiver: the same output" \
	test "$("${CHECK[@]}" --dns-zone "$D/lab.zone" --from-received --receiver-id MX.BigMail.Example. "$MSG")" = "$out"
check "stdin gives the same output" \
	test "$("${CHECK[@]}" --dns-zone "$D/lab.zone" --from-received - <"$MSG")" = "$out"
out2=$("${CHECK[@]}" --dns-zone "$D/lab.zone" --from-received --receiver-id mx.good.lab.example "$MSG")
check "--receiver-id of the sender's own MTA: its client and HELO" \
	has $'client IP   198.51.100.77 (external)\n   HELO        alice-laptop.home.example' "$out2"
check "...and it wrote no AR field" has "mx.good.lab.example wrote no Authentication-Results field" "$out2"
out2=$("${CHECK[@]}" --dns-zone "$D/lab.zone" --from-received --client-ip 192.0.2.99 "$MSG")
check "an explicit option wins over the Received field" \
	has $'they say spf=pass, we say spf=fail\n         the same client and envelope' "$out2"

# --- the body changed after they received it ---
sed 's/the figures are in/the figures (revised) are in/' "$MSG" >"$T/altered.eml"
out=$("${CHECK[@]}" --dns-zone "$D/lab.zone" --from-received "$T/altered.eml")
check "altered body: DKIM fails, body changed, with both hashes" \
	has "why: body changed: its hash is not bh= (signed Fz2LC5yM43ZV+bmqb1URiG80SwuegsuRnmd5u+hlKhU=, now " "$out"
check "altered body: the header fields still verify" has "b= still verifies: the signed header fields are intact" "$out"
check "altered body: they say pass, we say fail, body changed" \
	has $'dkim  d=good.lab.example s=s2025: they say dkim=pass, we say dkim=fail\n         body changed — the message was altered after they received it, or saved with a different line ending' "$out"
check "altered body: DMARC still agrees (SPF aligned)" has "dmarc From good.lab.example: both say pass" "$out"
check "altered body: an aligned DKIM fail is said not to count" \
	has "DKIM good.lab.example (s=s2025): fail, aligned (the same domain); it did not pass, so it does not count for DMARC" "$out"

# --- a signed header field changed ---
sed 's/^Subject: Quarterly figures/Subject: Quarterly FIGURES/' "$MSG" >"$T/subject.eml"
out=$("${CHECK[@]}" --dns-zone "$D/lab.zone" --from-received "$T/subject.eml")
check "changed Subject: a signed header field changed" \
	has "they say dkim=pass, we say dkim=fail"$'\n'"         a signed header field changed" "$out"

# --- the key is gone from DNS now ---
grep -v -e '_domainkey' -e '"p=' -e 'DeYQ' "$D/lab.zone" >"$T/nokey.zone"
out=$("${CHECK[@]}" --dns-zone "$T/nokey.zone" --from-received "$MSG")
check "key removed: key not found at S._domainkey.D" \
	has "why: key not found at s2025._domainkey.good.lab.example (nxdomain)" "$out"
check "key removed: they had DNS at that time" \
	has "they had DNS at that time; key not found now at s2025._domainkey.good.lab.example" "$out"

# --- another key published at the selector (rotated) ---
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/other.pem" 2>/dev/null
pub=$(openssl pkey -in "$T/other.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
{ grep -v -e '_domainkey' -e '"p=' -e 'DeYQ' "$D/lab.zone"
  echo "s2025._domainkey IN TXT \"v=DKIM1; k=rsa; p=${pub:0:200}\" \"${pub:200}\""; } >"$T/rotated.zone"
out=$("${CHECK[@]}" --dns-zone "$T/rotated.zone" --from-received "$MSG")
check "rotated key: key does not match" has "why: key does not match: b= was not made with the key published at s2025._domainkey.good.lab.example" "$out"
check "rotated key: rotated since they checked" has "is not the key they used: rotated since they checked?" "$out"

# --- the explained output without --from-received: what broke ---
sed -e 's/"v=spf1 mx -all"/"v=spf1 mx bogus:x -all"/' -e 's/"v=DMARC1; p=quarantine;/"p=quarantine; v=DMARC1;/' \
	"$D/lab.zone" >"$T/broken.zone"
out=$("${CHECK[@]}" --dns-zone "$T/broken.zone" --client-ip 192.0.2.99 --helo mx.good.lab.example \
	--mail-from bounces@good.lab.example "$MSG")
check "SPF: the term that broke the record" \
	has "it broke at the term bogus:x: SPF record of good.lab.example refused: unknown mechanism" "$out"
check "DMARC: why a TXT record there is not one" \
	has '_dmarc.good.lab.example: "p=quarantine; v=DMARC1; rua=mailto:dmarc-reports@good.lab.example": v=DMARC1 is not its first tag' "$out"
check "DMARC: result none, in words" has "result: none: no DMARC record for the domain" "$out"
out=$("${CHECK[@]}" --dns-zone "$D/lab.zone" --client-ip 192.0.2.99 --mail-from bounces@good.lab.example "$MSG")
check "SPF fail: the term that matched" has "the term that matched: -all (so: fail)" "$out"

# --- JSON: the same reasons as fields ---
"${CHECK[@]}" --json --dns-zone "$D/lab.zone" --from-received "$T/altered.eml" >"$T/out.json"
check "--json: envelope, typed reasons and the comparison" /usr/bin/python3 - "$T/out.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["envelope"] == {"client_ip": "192.0.2.25", "helo": "mx.good.lab.example",
                         "mail_from": "bounces@good.lab.example", "source": "received",
                         "clock": 1764868400, "clock_source": "run"}, d["envelope"]
m = d["explain"]["spf"]["mfrom"]
assert (m["result"], m["decided"]) == ("pass", "term"), m
assert m["records"] == [{"domain": "good.lab.example", "record": "v=spf1 mx -all", "term": "mx"}], m
k = d["explain"]["dkim"][0]
assert (k["result"], k["why"], k["headers_verify"]) == ("fail", "body changed", True), k
assert k["key_name"] == "s2025._domainkey.good.lab.example" and k["body_hash_computed"], k
assert k["headers"][:2] == ["From", "From"], k
dm = d["explain"]["dmarc"]
assert (dm["result"], dm["policy"], dm["disposition"]) == ("pass", "quarantine", "none"), dm
assert dm["spf"]["alignment"] == "exact" and dm["dkim"][0]["alignment"] == "exact", dm
r = d["received"]
assert (r["receiver_id"], r["received_field"], r["client_ip"], r["helo"], r["mail_from"]) == \
    ("mx.bigmail.example", 8, "192.0.2.25", "mx.good.lab.example", "bounces@good.lab.example"), r
rows = {(c["method"], c["difference"]) for c in r["comparison"]}
assert rows == {("dkim", "body changed"), ("spf", "same"), ("dmarc", "same")}, rows
c = [c for c in r["comparison"] if c["method"] == "dkim"][0]
assert (c["theirs"], c["ours"], c["identifier"]) == ("pass", "fail", "d=good.lab.example s=s2025"), c
PY
"${CHECK[@]}" --json --dns-zone "$T/nokey.zone" --from-received "$MSG" >"$T/nokey.json"
check "--json: key gone is a typed difference" /usr/bin/python3 - "$T/nokey.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["explain"]["dkim"][0]["why"] == "no key", d["explain"]["dkim"]
assert d["explain"]["dkim"][0]["key_lookup"] == "nxdomain"
assert [c["difference"] for c in d["received"]["comparison"] if c["method"] == "dkim"] == ["key gone"]
PY

# --- errors ---
"${CHECK[@]}" --dns-zone "$D/lab.zone" --from-received --receiver-id mx.other.example "$MSG" >"$T/out" 2>"$T/err"
check "no Received field by that receiver: exit 2" test $? = 2
check "...with a clear error naming it" \
	grep -qF "no Received field added by mx.other.example" "$T/err"
check "...and nothing on stdout" test ! -s "$T/out"
sed 's/^Received: from mx.good.lab.example (mx.good.lab.example. \[192.0.2.25\])/Received: from mx.good.lab.example (mx.good.lab.example. [192.0.2.25]/' \
	"$MSG" >"$T/malformed.eml"
"${CHECK[@]}" --dns-zone "$D/lab.zone" --from-received "$T/malformed.eml" >"$T/out" 2>"$T/err"
check "malformed Received: exit 1" test $? = 1
check "malformed Received: the error names the field and why" \
	grep -qF "the Received field at header field 8 does not parse (a comment does not end): from mx.good.lab.example (mx.good.lab.example. [192.0.2.2..." "$T/err"
# --- the clock: the receiver's date unless --now says otherwise ---
NOW=("$BIN/cachet" check --authserv-id mx.example.net --dns-zone "$D/lab.zone")
out=$("${NOW[@]}" --from-received "$MSG")
check "without --now the clock is the Received field's date (09:12:02 -0800)" \
	has "clock       2025-12-04 17:12:02 UTC, when it received the message" "$out"
check "...and the signature passes as it did for them" \
	has "signature 1: d=good.lab.example s=s2025: pass" "$out"
"${NOW[@]}" --json --from-received "$MSG" >"$T/clock.json"
check "--json: clock and its source" /usr/bin/python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["envelope"]
sys.exit(0 if e["clock"] == 1764868322 and e["clock_source"] == "received" else 1)' "$T/clock.json"
out=$("${CHECK[@]}" --from-received "$MSG")
check "--now wins over the Received date" bash -c '! grep -q "^   clock " <<<"$1"' _ "$out"
sed 's/^        Thu, 04 Dec 2025 09:12:02 -0800 (PST)$/        yesterday around noon/' "$MSG" >"$T/baddate.eml"
out=$("${NOW[@]}" --from-received "$T/baddate.eml" 2>"$T/err")
check "a date that does not read: still exit 0" test $? = 0
check "...a warning names it, and the clock stays the run's" \
	grep -qF 'the date of the Received field mx.bigmail.example added ("yesterday around noon") does not read' "$T/err"
check "...no clock line" bash -c '! grep -q "^   clock " <<<"$1"' _ "$out"

"${CHECK[@]}" --dns-zone "$D/lab.zone" --receiver-id mx.bigmail.example "$MSG" 2>"$T/err"
check "--receiver-id without --from-received is a usage error (2)" test $? = 2

[ "$fails" -eq 0 ]
