#!/bin/bash
# t_milter_down.sh — no mail is lost when the milter dies (kill -9) in the
# middle of a run, with milter_default_action = tempfail: every message is
# either delivered or still queued; after a restart and a flush all are
# delivered with exactly one AR each; SMTP clients get a 4xx meanwhile.
. tests/integration/lib.sh
t_setup
start_sink && start_milter && start_postfix || { t_fail "harness starts"; t_done; }

N=20
KILL_AFTER=5
for i in $(seq 1 "$N"); do
	write_msg "$T/m$i.eml" "X-Seq: $i"
	inject "$T/m$i.eml" || t_diag "sendmail failed for message $i"
	if [ "$i" -eq "$KILL_AFTER" ]; then
		sink_wait 3 10 || t_diag "fewer than 3 delivered before the kill"
		stop_milter -9
	fi
done
t_check "the milter is dead after kill -9" eval '! milter_alive'

# Delivered + queued must reach N and stay there (a message briefly shows
# in both while qmgr removes it, hence the wait for an exact, stable sum).
accounted() {
	local s q
	s=$(sink_count)
	q=$(pf_queue_count)
	ACCOUNT="sink=$s queue=$q"
	[ $((s + q)) -eq "$N" ]
}
sleep 1
if wait_until 10 accounted && sleep 0.5 && accounted; then
	t_ok "milter down: every message is at the sink or in the queue ($ACCOUNT)"
else
	t_fail "milter down: every message is at the sink or in the queue" "$ACCOUNT"
fi
t_check "milter down: some messages wait in the queue" \
	eval '[ "$(pf_queue_count)" -gt 0 ]'

# SMTP while the milter is down: a temporary failure, not an accept.
write_msg "$T/smtp.eml" "X-Seq: smtp"
smtp_send "$T/smtp.eml"
if grep -qE '^<\*\* +4[0-9][0-9][ -]4\.' "$SMTP_OUT" &&
	! grep -q 'queued as' "$SMTP_OUT"; then
	t_ok "milter down: SMTP gets a 4xx ($(grep -m1 -E '^<\*\* +4' "$SMTP_OUT" | sed 's/^<\*\* *//'))"
else
	t_fail "milter down: SMTP gets a 4xx" "$(grep -E '^<' "$SMTP_OUT" | tail -n 3)"
fi

start_milter || t_fail "the milter restarts on the same port"
pf_flush
if sink_wait "$N" 20; then
	t_ok "after restart and flush all $N messages are delivered"
else
	t_fail "after restart and flush all $N messages are delivered" \
		"sink=$(sink_count) queue=$(pf_queue_count)"
fi
t_check "the queue is empty afterwards" wait_until 5 eval '[ "$(pf_queue_count)" -eq 0 ]'

missing="" bad=""
for i in $(seq 1 "$N"); do
	f=$(sink_file_with "X-Seq: $i") || { missing="$missing $i"; continue; }
	[ "$(ar_ids "$f" | grep -cxF "$AUTHSERV")" -eq 1 ] || bad="$bad $i"
done
if [ -z "$missing" ]; then
	t_ok "each of the $N messages arrived"
else
	t_fail "each of the $N messages arrived" "missing:$missing"
fi
if [ -z "$bad$missing" ]; then
	t_ok "each delivered message has exactly one AR with our authserv-id"
else
	t_fail "each delivered message has exactly one AR with our authserv-id" "not exactly one:$bad"
fi
t_check "no message was delivered twice" eval '[ "$(sink_count)" -eq "$N" ]'
t_check "the SMTP message refused while down was not delivered" \
	eval '! sink_file_with "X-Seq: smtp" >/dev/null'
t_done
