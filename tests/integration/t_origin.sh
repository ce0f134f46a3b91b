#!/bin/bash
# t_origin.sh — origin classification, read from the milter's per-message
# log line: internal when the client IP is in InternalHosts or the SMTP
# session is SASL-authenticated ({auth_authen}, faked with XCLIENT LOGIN),
# external otherwise.
. tests/integration/lib.sh
t_setup
start_sink && start_milter "InternalHosts 127.0.0.1" && start_postfix ||
	{ t_fail "harness starts"; t_done; }

# origin_is NAME WANT [SWAKS_OPTS]: send one message, check the log line.
origin_is() {
	local name=$1 want=$2 qid line
	shift 2
	write_msg "$T/o.eml"
	smtp_send "$T/o.eml" "$@"
	qid=$(smtp_queue_id)
	if [ -z "$qid" ]; then
		t_fail "$name" "not queued: $(smtp_data_reply)"
		return
	fi
	line=$(milter_log_for "$qid")
	if [[ $line == *" origin=$want "* ]]; then
		t_ok "$name"
	else
		t_fail "$name" "want origin=$want, log line: ${line:-(none)}"
	fi
}

origin_is "loopback client, InternalHosts 127.0.0.1: internal" internal

stop_milter
start_milter "InternalHosts 192.0.2.0/24" || t_fail "milter restarts"
origin_is "loopback client, InternalHosts 192.0.2.0/24: external" external
origin_is "XCLIENT ADDR=203.0.113.5: external" external \
	--xclient 'ADDR=203.0.113.5'
t_check "the log line names the XCLIENT address" \
	grep -q "client=[^ ]*\[203\.0\.113\.5\] " <<<"$(milter_log_for "$(smtp_queue_id)")"
origin_is "XCLIENT ADDR=203.0.113.5 LOGIN=alice (SASL): internal" internal \
	--xclient 'ADDR=203.0.113.5 LOGIN=alice'
origin_is "XCLIENT ADDR=192.0.2.7 (in InternalHosts): internal" internal \
	--xclient 'ADDR=192.0.2.7'
t_done
