#!/bin/bash
# t_harness.sh — proves the harness without the milter: NSD answers from a
# zone file, Postfix (own instance) relays SMTP and sendmail-injected mail
# to smtp-sink, queue and log helpers work, teardown leaves nothing.
. tests/integration/lib.sh
t_setup

cat >"$T/test.example.zone" <<'ZONE'
$ORIGIN test.example.
$TTL 300
@	IN SOA ns.test.example. hostmaster.test.example. 1 3600 600 86400 300
@	IN NS ns
ns	IN A 127.0.0.1
@	IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
mx	IN A 192.0.2.25
ZONE

start_dns "$T/test.example.zone" || t_fail "NSD starts"
start_sink || t_fail "smtp-sink starts"
start_postfix || t_fail "Postfix starts"
[ "$T_FAILED" -eq 0 ] || t_done

t_check "Postfix uses its own queue directory" \
	eval '[ "$(pf postconf -h queue_directory)" = "$T/q" ]'
# postlogd writes the maillog asynchronously: give the line a moment
t_check "Postfix master runs from the private config" \
	wait_until 5 grep -qF "configuration $T/pf" "$PF_LOG"

out=$(dns_query mx.test.example A)
if printf '%s\n' "$out" | grep -qx 'A 192.0.2.25'; then
	t_ok "NSD answers an A record from the zone file"
else
	t_fail "NSD answers an A record from the zone file" "$out"
fi
out=$(dns_query test.example TXT)
if printf '%s\n' "$out" | grep -qxF 'TXT v=spf1 ip4:192.0.2.0/24 -all'; then
	t_ok "NSD answers a TXT record"
else
	t_fail "NSD answers a TXT record" "$out"
fi
out=$(dns_query nope.test.example A)
t_check "NSD answers NXDOMAIN for a missing name" grep -q '^rcode=NXDOMAIN' <<<"$out"

write_msg "$T/m1.eml" "X-Test: smtp-1"
if smtp_send "$T/m1.eml"; then
	t_ok "smtpd accepts a message over SMTP"
else
	t_fail "smtpd accepts a message over SMTP" "swaks exit $?"
fi
if sink_wait 1; then
	t_ok "the SMTP message arrives at the sink"
else
	t_fail "the SMTP message arrives at the sink"
fi
f=$(sink_files | head -n 1)
t_check "sink_headers shows the message headers" \
	grep -qx 'X-Test: smtp-1' <(sink_headers "$f")
t_check "sink_msg keeps the body" grep -qx 'This is a test message.' <(sink_msg "$f")
t_check "smtp_data_reply reads the queue id reply" \
	grep -q '^250 .*queued as' <<<"$(smtp_data_reply)"

write_msg "$T/m2.eml" "X-Test: inject-2"
if inject "$T/m2.eml" && sink_wait 2; then
	t_ok "a sendmail-injected message arrives at the sink"
else
	t_fail "a sendmail-injected message arrives at the sink"
fi
t_check "the injected message has its header" \
	grep -qx 'X-Test: inject-2' <(sink_all_headers)
t_check "the Postfix maillog records deliveries" \
	wait_until 5 eval '[ "$(pf_log | grep -c "status=sent")" -ge 2 ]'
t_check "the Postfix queue is empty after delivery" \
	wait_until 5 eval '[ "$(pf_queue_count)" -eq 0 ]'

# Relay control: an external client may not relay to other domains.
write_msg "$T/m3.eml"
smtp_send "$T/m3.eml" --xclient 'ADDR=203.0.113.5' --to someone@elsewhere.example
t_check "an external client (XCLIENT) cannot relay elsewhere" \
	grep -q '<\*\* *554.*Relay access denied' "$SMTP_OUT"

stop_postfix
t_check "stop_postfix stops every Postfix process" \
	wait_until 5 eval '[ -z "$(pf_pids)" ]'

t_done
