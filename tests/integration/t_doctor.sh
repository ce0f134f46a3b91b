#!/bin/bash
# t_doctor.sh — `cachet doctor` on the lab zones of tests/integration/lab/:
# broken.lab.example (an SPF placeholder, the DKIM key under the wrong
# selector, a key record cut in half, DMARC with v= not first),
# includes.lab.example (SPF needing 12 lookups through includes, DMARC
# reports to an outside address that never agreed), nospf.lab.example (no
# SPF) and good.lab.example (all right).  Offline (--dns-zone): each
# problem is found, the run fails (exit 1) and prints the record that
# fixes it; the good domain is all ✓ and exits 0.  The text output is
# compared with the golden files lab/*.out (--ascii), the marks follow the
# locale (✓ ✗ under UTF-8, [ok] [FAIL] under C).  Then the same zones
# through a real NSD with --nameserver: the same findings and records,
# field for field (--json).  Usage errors exit 2.
cd "$(dirname "$0")/../.." || exit 2
. tests/integration/lib.sh
t_setup

CACHET_BIN=${CACHET_BIN:-$REPO/build/bin/cachet}
L=tests/integration/lab
KEY=$L/lab.private
if [ ! -x "$CACHET_BIN" ]; then
	t_fail "cachet is built" "$CACHET_BIN"
	t_done
fi

# The options each lab domain is checked with (the README shows the same).
opts() {
	case $1 in
	broken) echo "--selector s2025 --selector mail --key $KEY" ;;
	*) echo "--selector s2025 --key $KEY" ;;
	esac
}
# doctor NAME MODE-ARGS...: run it on NAME.lab.example; output in $T/NAME.*, exit status echoed
doctor() {
	local name=$1
	shift
	# shellcheck disable=SC2046 # opts is several words
	"$CACHET_BIN" doctor "$@" $(opts "$name") "$name.lab.example"
}
# jq-less JSON queries: json FILE EXPR (python3 expression over d)
json() {
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
# has FILE ID STATUS WORDS: a check with that id and status whose text or details hold WORDS
has() {
	"$PY" - "$@" <<'EOF'
import json, sys
f, id_, status, words = sys.argv[1:5]
d = json.load(open(f))
ok = any(c["id"] == id_ and c["status"] == status and
         (words in c["text"] or any(words in x for x in c["details"])) for c in d["checks"])
sys.exit(0 if ok else 1)
EOF
}
# record FILE NAME WORDS: a record to publish at NAME whose text holds WORDS
record() {
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))
sys.exit(0 if any(r["name"] == sys.argv[2] and sys.argv[3] in r["text"] for r in d["records"]) else 1)' "$@"
}

for z in good broken includes nospf; do
	LC_ALL=C doctor $z --dns-zone "$L/$z.lab.example.zone" --json >"$T/$z.json" 2>"$T/$z.err"
	echo $? >"$T/$z.rc"
	LC_ALL=C doctor $z --dns-zone "$L/$z.lab.example.zone" --ascii >"$T/$z.out" 2>&1
	if diff -u "$L/$z.out" "$T/$z.out" >"$T/$z.diff"; then
		t_ok "$z: the text output is the golden lab/$z.out"
	else
		t_fail "$z: the text output is the golden lab/$z.out" "$(head -40 "$T/$z.diff")"
	fi
done

# ---- the correct domain ----
t_check "good: exit 0" test "$(cat "$T/good.rc")" = 0
t_check "good: every check ok (none failed, none warned, none only informative)" \
	test "$(json "$T/good.json" 'sorted(set(c["status"] for c in d["checks"]))')" = "['ok']"
t_check "good: no record to publish" test "$(json "$T/good.json" 'len(d["records"])')" = 0
# the zone file as a name server's configuration names it: no $ORIGIN
grep -v '^\$ORIGIN' "$L/good.lab.example.zone" >"$T/good.noorigin.zone"
LC_ALL=C doctor good --dns-zone "$T/good.noorigin.zone" --ascii >"$T/good.noorigin.out" 2>&1
t_check "good: a zone file without \$ORIGIN is read relative to the domain" \
	test "$(tail -n +2 "$T/good.out")" = "$(tail -n +2 "$T/good.noorigin.out")"
LC_ALL=C.UTF-8 doctor good --dns-zone "$L/good.lab.example.zone" >"$T/good.utf8"
marks=$(grep '^  [^ ]' "$T/good.utf8" | cut -c3- | cut -d' ' -f1 | sort -u | tr '\n' ' ')
t_check "good: under a UTF-8 locale every line is ✓ (got: $marks)" test "$marks" = "✓ "

# ---- the broken ones: each problem found, and its fix printed ----
t_check "broken: exit 1" test "$(cat "$T/broken.rc")" = 1
t_check "broken: the SPF placeholder is named" \
	has "$T/broken.json" spf.placeholder fail '"ip4:ADRESSE_IP"'
t_check "broken: an SPF record to publish, with the MX address" \
	record "$T/broken.json" broken.lab.example. "v=spf1 ip4:192.0.2.26 ~all"
t_check "broken: DKIM 's2025' absent, and the key found under 'default' said" \
	has "$T/broken.json" dkim.present fail "published under 'default' instead"
t_check "broken: ... and that it is the local key" \
	has "$T/broken.json" dkim.present fail "and it is the local key"
p=$(openssl pkey -in "$KEY" -pubout -outform DER 2>/dev/null | base64 -w0)
t_check "broken: the DKIM record for s2025 to publish, from --key" \
	record "$T/broken.json" s2025._domainkey.broken.lab.example. "v=DKIM1; k=rsa; p=$p"
t_check "broken: the key record cut in half is named as cut" \
	has "$T/broken.json" dkim.record fail "the record was cut"
t_check "broken: the whole record for 'mail' to publish" \
	record "$T/broken.json" mail._domainkey.broken.lab.example. "p=$p"
t_check "broken: DMARC with v= not first: 'not a DMARC record' said" \
	has "$T/broken.json" dmarc.version fail "so it is not a DMARC record"
t_check "broken: the DMARC record to publish has v=DMARC1 first" \
	record "$T/broken.json" _dmarc.broken.lab.example. "v=DMARC1; p=none; rua=mailto:postmaster@broken.lab.example"
t_check "broken: ASCII marks under LC_ALL=C" grep -q '^  \[FAIL\] ' "$T/broken.out"
LC_ALL=C.UTF-8 doctor broken --dns-zone "$L/broken.lab.example.zone" >"$T/broken.utf8"
t_check "broken: ✗ marks under a UTF-8 locale" grep -q '^  ✗ ' "$T/broken.utf8"

t_check "includes: exit 1" test "$(cat "$T/includes.rc")" = 1
t_check "includes: 12 lookups through includes, more than 10" \
	has "$T/includes.json" spf.lookups fail "SPF needs 12 DNS lookups"
t_check "includes: the lookups counted per include" \
	has "$T/includes.json" spf.lookups fail "include:_spf.esp-one.includes.lab.example 8"
t_check "includes: the external rua without authorization is named" \
	has "$T/includes.json" dmarc.uri fail "reports.collector.example is outside"
t_check "includes: the authorization record, for the collector's zone" \
	record "$T/includes.json" includes.lab.example._report._dmarc.reports.collector.example. "v=DMARC1"
t_check "includes: the DKIM key matches (no DKIM failure)" \
	has "$T/includes.json" dkim.match ok "public half"

t_check "nospf: exit 1" test "$(cat "$T/nospf.rc")" = 1
t_check "nospf: no SPF record named" has "$T/nospf.json" spf.present fail "no SPF record"
t_check "nospf: the SPF record to publish" \
	record "$T/nospf.json" nospf.lab.example. "v=spf1 ip4:192.0.2.28 ~all"

# ---- the selectors of a KeyTable (OpenDKIM format), each with its key file ----
printf '%s\n' "# lab KeyTable" "s2025._domainkey.broken.lab.example broken.lab.example:s2025:$REPO/$KEY" \
	"other other.example:x:$REPO/$KEY" >"$T/KeyTable"
"$CACHET_BIN" doctor --dns-zone "$L/broken.lab.example.zone" --keytable "$T/KeyTable" --json \
	broken.lab.example >"$T/kt.json" 2>"$T/kt.err"
t_check "--keytable: its selector of the domain is checked, the other domain's is not" \
	test "$(json "$T/kt.json" '[c["text"].split(":")[0] for c in d["checks"] if c["area"] == "dkim"]')" \
	= "[\"DKIM 's2025'\"]"
t_check "--keytable: the entry's key file gives the record to publish" \
	record "$T/kt.json" s2025._domainkey.broken.lab.example. "p=$p"

# ---- usage ----
"$CACHET_BIN" doctor >/dev/null 2>&1
t_check "no domain: exit 2" test $? = 2
"$CACHET_BIN" doctor --ip not-an-ip good.lab.example >/dev/null 2>&1
t_check "--ip that is no address: exit 2" test $? = 2
"$CACHET_BIN" doctor --dns-zone "$T/missing.zone" good.lab.example >/dev/null 2>&1
t_check "a zone file that does not load: exit 2" test $? = 2

# ---- a server that does not answer: one timeout, not one per lookup ----
start=$(date +%s)
"$CACHET_BIN" doctor --nameserver "127.0.0.1@$(free_port)" --json good.lab.example >"$T/down.json" 2>&1
rc=$?
took=$(($(date +%s) - start))
if [ $rc = 1 ] && has "$T/down.json" dns.timeout fail "DNS did not answer" && [ $took -le 15 ]; then
	t_ok "a name server that does not answer: one failure, said, after one timeout (${took} s)"
else
	t_fail "a name server that does not answer: one failure, said, after one timeout" \
		"rc=$rc took ${took} s" "$(head -c 600 "$T/down.json")"
fi

# ---- the same through NSD ----
if start_dns "$L/example.zone" "$L/good.lab.example.zone" "$L/broken.lab.example.zone" \
	"$L/includes.lab.example.zone" "$L/nospf.lab.example.zone"; then
	for z in good broken includes nospf; do
		doctor $z --nameserver "127.0.0.1@$DNS_PORT" --json >"$T/$z.ns.json" 2>"$T/$z.ns.err"
		rc=$?
		same=$("$PY" -c 'import json,sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
print(a["checks"] == b["checks"] and a["records"] == b["records"])' "$T/$z.json" "$T/$z.ns.json" 2>&1)
		if [ "$same" = True ] && [ "$rc" = "$(cat "$T/$z.rc")" ]; then
			t_ok "$z through NSD (--nameserver): the same findings, records and exit status"
		else
			t_fail "$z through NSD (--nameserver): the same findings, records and exit status" \
				"rc=$rc (zone file: $(cat "$T/$z.rc")) same=$same" \
				"$(diff <("$PY" -m json.tool "$T/$z.json") <("$PY" -m json.tool "$T/$z.ns.json") | head -30)"
		fi
	done
else
	t_fail "NSD serves the lab zones"
fi
t_done
