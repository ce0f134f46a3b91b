#!/usr/bin/env bash
# SPF and DMARC end to end: a real Postfix, the milter, and NSD on loopback
# serving the domains' SPF, DMARC and DKIM records.  A spoofed message from
# a p=reject domain is rejected at end of data and never reaches the sink;
# a p=quarantine one lands in Postfix's hold queue; a legitimate one (SPF
# pass from the listed address, aligned DKIM signed by cachet itself) is
# delivered with spf=pass, dkim=pass and dmarc=pass.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/integration/lib.sh
. tests/integration/dkim_e2e/helpers.sh
t_setup

D=tests/integration/dmarc_e2e
dkim_gen_rsa "$T/sel.pem"
dkim_zone_write "$D/good.example.zone.in" "$T/good.example.zone" \
	RSA_TXT="$(dkim_txt_rsa "$T/sel.pem")"
cp "$D/reject.example.zone.in" "$T/reject.example.zone"
cp "$D/quarantine.example.zone.in" "$T/quarantine.example.zone"

start_dns "$T/good.example.zone" "$T/reject.example.zone" "$T/quarantine.example.zone" ||
	{ t_fail "NSD starts"; t_done; }
start_sink || { t_fail "sink starts"; t_done; }
start_milter "Nameservers 127.0.0.1@$DNS_PORT" "Mode sv" "InternalHosts 127.0.0.1" \
	"Domain good.example" "Selector sel" "KeyFile $T/sel.pem" ||
	{ t_fail "milter starts"; t_done; }
start_postfix "relay_domains = test.example, example.com, good.example" ||
	{ t_fail "Postfix starts"; t_done; }

# mk FILE CASE FROM: a message with "X-Case: CASE" from FROM.
mk() {
	printf '%s\n' "X-Case: $2" "From: <$3>" "To: Rcpt <rcpt@test.example>" \
		"Subject: dmarc e2e $2" "Date: Mon, 24 Nov 2025 10:00:00 +0000" \
		"Message-ID: <$2.$$.$RANDOM@example.org>" "" "Hello from $2." >"$1"
}

not_at_sink() {
	! sink_file_with "$1" >/dev/null 2>&1
}

hold_count() {
	find "$PF_QUEUE/hold" -type f 2>/dev/null | wc -l
}

# 1. spoofed p=reject: 550 at end of data, nothing at the sink
mk "$T/spoof.eml" spoof ceo@reject.example
smtp_send "$T/spoof.eml" --from ceo@reject.example --xclient "ADDR=203.0.113.66"
reply=$(smtp_data_reply)
t_check "spoofed p=reject mail is refused with 550 5.7.1 at end of data" \
	grep -q '^550 5.7.1 ' <<<"$reply"
t_check "the refusal names the domain" grep -q 'reject.example' <<<"$reply"
sleep 1
t_check "the spoofed message never reaches the sink" not_at_sink "X-Case: spoof"
[ "$T_FAILED" -ne 0 ] && t_diag "reply: $reply"

# 2. spoofed p=quarantine: accepted by Postfix into its hold queue
before=$(hold_count)
mk "$T/quar.eml" quar news@quarantine.example
smtp_send "$T/quar.eml" --from news@quarantine.example --xclient "ADDR=203.0.113.66"
t_check "p=quarantine mail is accepted (250)" grep -q '^250 ' <<<"$(smtp_data_reply)"
t_check "p=quarantine mail lands in Postfix's hold queue" \
	wait_until 10 eval '[ "$(hold_count)" -gt "$before" ]'
t_check "p=quarantine mail is not delivered" not_at_sink "X-Case: quar"

# 3. legitimate: signed by cachet as internal mail, then received from the
#    SPF-listed address as external mail
mk "$T/legit.eml" legit alice@good.example
signed=$(deliver "$T/legit.eml" "X-Case: legit" --from alice@good.example)
t_check "internal mail from good.example leaves signed" \
	test "$(dkim_sigs "$signed" | wc -l)" -ge 1
back=$(refeed "$signed" legit-back --from alice@good.example \
	--xclient "ADDR=192.0.2.10 HELO=mail.good.example")
ar=$(ar_ours "$back")
t_check "legitimate mail: spf=pass for the MAIL FROM" \
	grep -q 'spf=pass[^;]*smtp.mailfrom=alice@good.example' <<<"$ar"
t_check "legitimate mail: dkim=pass for good.example" \
	grep -q 'dkim=pass[^;]*header.d=good.example' <<<"$ar"
t_check "legitimate mail: dmarc=pass for header.from good.example" \
	grep -q 'dmarc=pass[^;]*header.from=good.example' <<<"$ar"
[ "$T_FAILED" -ne 0 ] && t_diag "AR: $ar"
t_done
