#!/usr/bin/env bash
# SPF for senders whose local-parts SMTP allows but look odd: a%b@,
# "quoted parts"@, +tag and user=tag.  Through a real Postfix (XCLIENT
# fakes the client) with SPFRejectFail yes and NSD serving spf-lp.example
# ("v=spf1 ip4:192.0.2.10 -all"): each forged sender from 203.0.113.66 is
# refused with 550 5.7.23 at end of data (never passed as spf=none), and
# the same senders from 192.0.2.10 are delivered with spf=pass.  A %{l}
# record shows the local-part reaches the macro as the RFC says.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/integration/lib.sh
t_setup

D=tests/integration/spf_localparts
cp "$D/spf-lp.example.zone" "$T/spf-lp.example.zone"
start_dns "$T/spf-lp.example.zone" || { t_fail "NSD starts"; t_done; }
start_sink || { t_fail "sink starts"; t_done; }
start_milter "Nameservers 127.0.0.1@$DNS_PORT" "Mode v" "SPFRejectFail yes" ||
	{ t_fail "milter starts"; t_done; }
start_postfix || { t_fail "Postfix starts"; t_done; }

# forged NAME SENDER: from an address the record does not allow
forged() {
	local name=$1 sender=$2 reply
	write_msg "$T/$name.eml" "X-Case: $name"
	smtp_send "$T/$name.eml" --from "$sender" --xclient "ADDR=203.0.113.66"
	reply=$(smtp_data_reply)
	if grep -q '^550 5\.7\.23 ' <<<"$reply"; then
		t_ok "forged $sender is refused with 550 5.7.23"
	else
		t_fail "forged $sender is refused with 550 5.7.23" "got: $reply" \
			"milter: $(grep -F 'spf: mfrom' "$MILTER_LOG" | tail -n 1)"
	fi
}

# allowed NAME SENDER: from the listed address, delivered with spf=pass
allowed() {
	local name=$1 sender=$2 f ar
	write_msg "$T/$name.eml" "X-Case: $name"
	if ! f=$(deliver "$T/$name.eml" "X-Case: $name" --from "$sender" \
		--xclient "ADDR=192.0.2.10"); then
		t_fail "$sender from 192.0.2.10 is delivered with spf=pass" "got: $(smtp_data_reply)"
		return
	fi
	ar=$(ar_ours "$f")
	if grep -q 'spf=pass[^;]*smtp.mailfrom=' <<<"$ar"; then
		t_ok "$sender from 192.0.2.10 is delivered with spf=pass"
	else
		t_fail "$sender from 192.0.2.10 is delivered with spf=pass" "AR: $ar"
	fi
}

forged pct 'a%b@spf-lp.example'
forged quoted '"john smith"@spf-lp.example'
forged plus 'user+tag@spf-lp.example'
forged equals 'user=tag@spf-lp.example'
forged plain 'user@spf-lp.example'
sleep 1
for c in pct quoted plus equals plain; do
	t_check "the forged $c message never reaches the sink" \
		eval '! sink_file_with "X-Case: $c" >/dev/null 2>&1'
done

allowed pct-ok 'a%b@spf-lp.example'
allowed quoted-ok '"john smith"@spf-lp.example'
allowed plus-ok 'user+tag@spf-lp.example'
allowed equals-ok 'user=tag@spf-lp.example'

# %{l} is the local-part: user+tag has its own A record under _u
allowed macro-ok 'user+tag@macro.spf-lp.example'
forged macro 'other+tag@macro.spf-lp.example'
t_done
