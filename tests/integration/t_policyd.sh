#!/usr/bin/env bash
# cachet-policyd behind a real Postfix: check_policy_service in
# smtpd_recipient_restrictions and smtpd_end_of_data_restrictions, clients
# faked with XCLIENT (ADDR + LOGIN, which Postfix takes as the SASL login).
# A user's 4th message within the window is deferred with our text, another
# user is unaffected, the user sends again after the window, Postfix keeps
# its policy connections open (no reconnect per request), hostile input on
# the policy socket closes that connection without harming the server,
# SIGHUP changes the rules and keeps the counters, and a restart keeps the
# counters through the StateFile snapshot.
. tests/integration/lib.sh
POLICYD_BIN=${POLICYD_BIN:-$REPO/build/bin/cachet-policyd}

# start_policyd CONF_LINES... : config in $T/policyd.conf, log $T/policyd.log
start_policyd() {
	POLICYD_PORT=${POLICYD_PORT:-$(free_port)}
	{
		echo "Socket inet:$POLICYD_PORT@127.0.0.1"
		echo "AllowRoot yes"
		echo "PidFile $T/policyd.pid"
		printf '%s\n' "$@"
	} >"$T/policyd.conf"
	"$POLICYD_BIN" -c "$T/policyd.conf" -f 2>>"$T/policyd.log" &
	POLICYD_PID=$!
	T_PIDS+=("$POLICYD_PID")
	wait_until 10 port_listening "$POLICYD_PORT" || {
		t_diag "cachet-policyd does not listen"; t_diag_file "$T/policyd.log"; return 1; }
}

stop_policyd() {
	kill -TERM "$POLICYD_PID" 2>/dev/null
	wait "$POLICYD_PID" 2>/dev/null
}

# send_as USER TAG: one message through Postfix as SASL user USER; 0 if accepted
send_as() {
	write_msg "$T/$2.eml" "X-Tag: $2"
	smtp_send "$T/$2.eml" --xclient "ADDR=203.0.113.5 LOGIN=$1" --from "$1@example.org"
}

t_setup
[ -x "$POLICYD_BIN" ] || { t_fail "cachet-policyd built" "$POLICYD_BIN missing"; t_done; }

TEXT="cachet test: too many messages"
start_policyd "StateFile $T/policyd.state" \
	"Limit user key=sasl_username messages=3/12s action=defer only=authenticated text=\"$TEXT\"" ||
	{ t_fail "policyd starts"; t_done; }
t_ok "policyd starts"
start_sink || { t_fail "sink starts"; t_done; }
POL="check_policy_service { inet:127.0.0.1:$POLICYD_PORT, timeout=10s, default_action=DUNNO }"
start_postfix \
	"smtpd_recipient_restrictions = reject_unauth_destination, $POL" \
	"smtpd_end_of_data_restrictions = $POL" ||
	{ t_fail "postfix starts"; t_done; }

ok=1
for i in 1 2 3; do
	send_as alice "a$i" || { ok=0; t_diag "message $i: $(smtp_data_reply)"; }
done
[ $ok = 1 ] && t_ok "first 3 messages of alice are accepted" ||
	t_fail "first 3 messages of alice are accepted"

if send_as alice a4; then
	t_fail "4th message of alice is deferred"
elif grep -q "<\*\* *450 4.7.1 .*$TEXT" "$SMTP_OUT"; then
	t_ok "4th message of alice is deferred with our text"
else
	t_fail "4th message of alice is deferred with our text" "$(grep '^<\*\*' "$SMTP_OUT")"
fi

send_as bob b1
t_check "bob is unaffected" [ $? = 0 ]

# No reconnect per request: Postfix's smtpd keeps one connection per process.
n_conn=$(ss -Htn state established "( sport = :$POLICYD_PORT )" 2>/dev/null | wc -l)
t_diag "established policy connections now: $n_conn"
if grep -q "problem talking to server" "$PF_LOG"; then
	t_fail "Postfix reports no policy-server trouble" "$(grep 'problem talking' "$PF_LOG" | head -3)"
else
	t_ok "Postfix reports no policy-server trouble"
fi

# Hostile input on the socket: the connection is closed, the server lives on.
"$PY" - "$POLICYD_PORT" <<'PYEOF' >"$T/hostile.out" 2>&1
import socket, sys
port = int(sys.argv[1])
for payload in (b"\x00\xff\xfe garbage\n", b"x" * 20000, b"protocol_state=RCPT\n\n",
                b"request=smtpd_access_policy\n" + b"a=b\n" * 300 + b"\n"):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(5)
    try:
        s.sendall(payload)
    except OSError:
        pass
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    print("closed", repr(data[:40]))
    s.close()
PYEOF
if [ "$(grep -c "^closed b''" "$T/hostile.out")" = 4 ] && kill -0 "$POLICYD_PID"; then
	t_ok "hostile input: connection closed without a reply, server alive"
else
	t_fail "hostile input: connection closed without a reply, server alive" "$(cat "$T/hostile.out")"
fi
grep -q "closing the connection" "$T/policyd.log"
t_check "hostile input is logged" [ $? = 0 ]

# Reload: a tighter rule for everyone, alice's counters kept.
sed -i "s/messages=3\/12s/messages=1\/12s/" "$T/policyd.conf"
kill -HUP "$POLICYD_PID"
wait_until 5 grep -q "reloaded" "$T/policyd.log"
send_as bob b2
t_check "after SIGHUP the new rule applies (bob's 2nd is deferred)" [ $? != 0 ]
send_as alice a5
t_check "after SIGHUP alice is still deferred (counters kept)" [ $? != 0 ]
sed -i "s/messages=1\/12s/messages=3\/12s/" "$T/policyd.conf"
kill -HUP "$POLICYD_PID"
sleep 0.5

# Restart: the snapshot keeps alice's counters.
stop_policyd
t_check "snapshot written on shutdown" grep -q "cachet:user:m:u=alice" "$T/policyd.state"
start_policyd "StateFile $T/policyd.state" \
	"Limit user key=sasl_username messages=3/12s action=defer only=authenticated text=\"$TEXT\""
send_as alice a6
t_check "after a restart alice is still deferred" [ $? != 0 ]

# After the window: alice sends again.
sleep 12
send_as alice a7
t_check "after the window alice sends again" [ $? = 0 ]
[ "$T_FAILED" = 0 ] || { t_diag_file "$T/policyd.log" 30; t_diag_file "$SMTP_OUT" 20; }
t_done
