#!/bin/bash
# t_malformed.sh — hostile header blocks get a verdict (delivered with our
# AR on top, or a 5xx that names the limit), never a tempfail or a crash:
# the same milter process answers the next message.  Header limits:
# MaximumHeaderCount (default 1000) with OnHeaderLimit reject (default)
# and accept.
. tests/integration/lib.sh
t_setup
start_sink && start_milter && start_postfix || { t_fail "harness starts"; t_done; }

milter_same_pid() {
	milter_alive && [ "$(tr -d ' \n' <"$T/milter.pid" 2>/dev/null)" = "$MILTER_PID" ]
}

# verdict NAME FILE [SWAKS_OPTS]: send; ok if delivered with our AR first,
# or rejected with a 5xx whose text names a limit.  Then the milter must
# still be the same process.
ndelivered=0
verdict() {
	local name=$1 file=$2 reply f first
	shift 2
	smtp_send "$file" "$@"
	reply=$(smtp_data_reply)
	case $reply in
	250*)
		ndelivered=$((ndelivered + 1))
		if sink_wait "$ndelivered" 10 && f=$(sink_file_with "X-Case: $name") &&
			first=$(sink_headers "$f" | head -n 1) &&
			[ "$(ar_ids "$f" | head -n 1)" = "$AUTHSERV" ] &&
			[[ $first == [Aa]uthentication-[Rr]esults:* ]]; then
			t_ok "$name: delivered with our AR on top"
		else
			t_fail "$name: delivered with our AR on top" "reply: $reply" \
				"first header: ${first:-}" "sink has $(sink_count) messages"
		fi
		;;
	5*)
		if printf '%s\n' "$reply" | grep -qiE 'limit|too (many|long|large)|maximum'; then
			t_ok "$name: rejected with a 5xx naming the limit ($reply)"
		else
			t_fail "$name: rejected with a 5xx naming the limit" "reply: $reply"
		fi
		;;
	*)
		t_fail "$name: gets a verdict (2xx or 5xx)" "reply: '$reply'"
		;;
	esac
	t_check "$name: the same milter process is still running" milter_same_pid
}

# A line without a colon inside the header block.
write_msg "$T/nocolon.eml" "X-Case: nocolon" "This header line has no colon" "X-After: 1"
verdict nocolon "$T/nocolon.eml"

# One 100,000-character header (MaximumHeaderSize defaults to 64k).
{
	printf 'X-Case: longheader\nX-Long: '
	head -c 100000 /dev/zero | tr '\0' a
	printf '\n'
} >"$T/long.hdr"
write_msg "$T/long.eml" "$(cat "$T/long.hdr")"
verdict longheader "$T/long.eml"
f=$(sink_file_with "X-Case: longheader") &&
	t_diag "longheader: delivered X-Long value has $(sink_headers "$f" | grep '^X-Long: ' | tr -cd a | wc -c) characters (sent 100000)"

# NUL bytes inside a header value.
write_msg "$T/nul.eml" "X-Case: nul" "X-Nul: before"$'\x01'"after"
"$PY" -c 'import sys; p=sys.argv[1]; d=open(p,"rb").read().replace(b"\x01", b"\x00\x00"); open(p,"wb").write(d)' "$T/nul.eml"
verdict nul "$T/nul.eml"

# Bare LF line endings, sent as-is (no swaks line-ending fixup).
write_msg "$T/barelf.eml" "X-Case: barelf" "Authentication-Results: $AUTHSERV; spf=pass"
printf '\r\n.\r\n' >>"$T/barelf.eml"
verdict barelf "$T/barelf.eml" --no-data-fixup

# 10,000 headers with the default MaximumHeaderCount (1000): 552 5.3.4.
{
	echo "X-Case: many"
	for i in $(seq 1 10000); do echo "X-H-$i: v"; done
} >"$T/many.hdr"
write_msg "$T/many.eml" "$(cat "$T/many.hdr")"
smtp_send "$T/many.eml"
reply=$(smtp_data_reply)
if [[ $reply == "552 5.3.4 "* ]]; then
	t_ok "10,000 headers: rejected 552 5.3.4 at end of data ($reply)"
else
	t_fail "10,000 headers: rejected 552 5.3.4 at end of data" "reply: $reply"
fi
t_check "10,000 headers: the milter logged the rejection" \
	grep -q 'action=reject' "$MILTER_LOG"
t_check "10,000 headers: the same milter process is still running" milter_same_pid

write_msg "$T/after.eml" "X-Case: after"
verdict after "$T/after.eml"

# MaximumHeaderSize: a 30,000-character header against a 16k limit.
# (With milters configured, Postfix cuts the 100k header above to 60,000
# characters before the milter sees it, so the 64k default cannot trigger.)
stop_milter
start_milter "MaximumHeaderSize 16k" || t_fail "milter restarts with MaximumHeaderSize 16k"
{
	printf 'X-Case: size\nX-Long: '
	head -c 30000 /dev/zero | tr '\0' b
	printf '\n'
} >"$T/size.hdr"
write_msg "$T/size.eml" "$(cat "$T/size.hdr")"
smtp_send "$T/size.eml"
reply=$(smtp_data_reply)
if [[ $reply == "552 5.3.4 "* ]]; then
	t_ok "30,000-char header over MaximumHeaderSize 16k: 552 5.3.4 ($reply)"
else
	t_fail "30,000-char header over MaximumHeaderSize 16k: 552 5.3.4" "reply: $reply"
fi

# The 10,000 headers with OnHeaderLimit accept: delivered with our AR.
stop_milter
start_milter "OnHeaderLimit accept" || t_fail "milter restarts with OnHeaderLimit accept"
sed -i 's/^X-Case: many$/X-Case: many-accept/' "$T/many.eml"
verdict many-accept "$T/many.eml"

t_done
