#!/bin/bash
# t_ar_header.sh — the Authentication-Results header (RFC 8601): ours is
# the first header of every delivered message, forged ones that carry our
# authserv-id are removed (any case, folding, comments, any count), and
# foreign ones are kept in order.
. tests/integration/lib.sh
t_setup
start_sink && start_milter && start_postfix || { t_fail "harness starts"; t_done; }

OURS="Authentication-Results: $AUTHSERV; none"
TAB=$'\t'

# case NAME HEADER...: one message per case, told apart by X-Case.
ncases=0
case_msg() {
	local name=$1
	shift
	write_msg "$T/$name.eml" "X-Case: $name" "$@"
	ncases=$((ncases + 1))
	smtp_send "$T/$name.eml" || t_diag "$name: swaks exit $?: $(smtp_data_reply)"
}

forged=()
for i in 1 2 3 4 5; do
	forged+=("Authentication-Results: $AUTHSERV; spf=pass smtp.mailfrom=x$i@example.org")
done
case_msg plain
case_msg forged1 "${forged[@]:0:1}"
case_msg forged2 "${forged[@]:0:2}"
case_msg forged5 "${forged[0]}" "Subject-Pre: x" "${forged[@]:1:4}"
case_msg mixedcase "Authentication-Results: MX.TEST.EXAMPLE; dkim=pass header.d=example.org"
case_msg folded "Authentication-Results:" " $AUTHSERV;" "${TAB}spf=pass"
case_msg comment "Authentication-Results: (c) $AUTHSERV; dkim=pass"
case_msg foreign \
	"Authentication-Results: other.example; spf=pass smtp.mailfrom=example.org" \
	"Authentication-Results: third.example (mx); dkim=fail"
case_msg mixed \
	"Authentication-Results: $AUTHSERV; dmarc=pass" \
	"Authentication-Results: other.example; spf=fail"
write_msg "$T/injected.eml" "X-Case: injected" "${forged[0]}"
inject "$T/injected.eml"
ncases=$((ncases + 1))

sink_wait "$ncases" 20 || t_fail "all $ncases messages arrive" "$(sink_count) arrived"

# check_ours NAME: exactly one AR with our authserv-id, and it is first.
check_ours() {
	local name=$1 f ids first
	f=$(sink_file_with "X-Case: $name") || { t_fail "$name: delivered"; return; }
	first=$(sink_headers "$f" | head -n 1)
	ids=$(ar_ids "$f" | tr '\n' ' ')
	if [ "$(ar_ids "$f" | grep -cxF "$AUTHSERV")" -eq 1 ] &&
		[ "$(ar_ids "$f" | head -n 1)" = "$AUTHSERV" ] &&
		printf '%s\n' "$first" | grep -qi '^Authentication-Results:'; then
		t_ok "$name: exactly one AR with our authserv-id, at the top"
	else
		t_fail "$name: exactly one AR with our authserv-id, at the top" \
			"authserv-ids in order: $ids" "first header: $first"
	fi
}

f=$(sink_file_with "X-Case: plain")
first=$(sink_headers "$f" | head -n 1)
if [ "$first" = "$OURS" ]; then
	t_ok "our AR is the first header and reads '$OURS'"
else
	t_fail "our AR is the first header and reads '$OURS'" "first header: '$first'"
fi
for c in plain forged1 forged2 forged5 mixedcase folded comment foreign mixed injected; do
	check_ours "$c"
done

f=$(sink_file_with "X-Case: foreign")
got=$(sink_headers "$f" | grep -i '^Authentication-Results:' | tail -n +2)
want="Authentication-Results: other.example; spf=pass smtp.mailfrom=example.org
Authentication-Results: third.example (mx); dkim=fail"
if [ "$got" = "$want" ]; then
	t_ok "foreign AR headers are kept unchanged, in order"
else
	t_fail "foreign AR headers are kept unchanged, in order" "got:" "$got"
fi

f=$(sink_file_with "X-Case: mixed")
got=$(ar_ids "$f" | tr '\n' ' ')
if [ "$got" = "$AUTHSERV other.example " ]; then
	t_ok "forged + foreign: exactly ours plus the foreign one remain"
else
	t_fail "forged + foreign: exactly ours plus the foreign one remain" "authserv-ids: $got"
fi

f=$(sink_file_with "X-Case: forged5")
t_check "removing forged headers keeps the headers between them" \
	grep -qx 'Subject-Pre: x' <(sink_headers "$f")

t_check "the milter logged one line per message" \
	eval '[ "$(grep -c " action=accept " "$MILTER_LOG")" -eq "$ncases" ]'
t_done
