#!/usr/bin/env bash
# cachet-policyd with the memory store, spoken to directly on the policy
# protocol (no Postfix needed): a tripped block=yes rule runs NotifyCommand
# (a fake script appending to a file) and NotifyAddress (a fake
# SendmailPath) once per period and blocks the SASL user until
# `cachet-policyd unblock`; the admin commands over the AdminSocket (list,
# reset, block, unblock, bad commands with exit 2; -h and --help print the
# usage on stdout and exit 0); a missing, failing or slow NotifyCommand is
# logged and never stalls the server; with the
# daemon stopped the commands edit the StateFile; with the daemon running
# but no AdminSocket they refuse; recipient_domain counts per domain; a
# reload that changes Socket or PidFile keeps the running ones.
. tests/integration/lib.sh
POLICYD_BIN=${POLICYD_BIN:-$REPO/build/bin/cachet-policyd}

# start_policyd LINES... : config $T/p.conf, log $T/p.log
start_policyd() {
	PORT=$(free_port)
	{
		echo "Socket inet:$PORT@127.0.0.1"
		echo "AllowRoot yes"
		echo "PidFile $T/p.pid"
		echo "StateFile $T/p.state"
		printf '%s\n' "$@"
	} >"$T/p.conf"
	"$POLICYD_BIN" -c "$T/p.conf" -f 2>>"$T/p.log" &
	PID=$!
	T_PIDS+=("$PID")
	wait_until 10 port_listening "$PORT"
}

stop_policyd() {
	kill -TERM "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
}

pd() { "$POLICYD_BIN" -c "$T/p.conf" "$@"; }

# ask "STATE USER INSTANCE [RECIPIENT]"... : one kept-open connection;
# prints one action per request.
ask() {
	local spec specs=()
	for spec in "$@"; do specs+=("$PORT $spec"); done
	"$PY" tests/integration/policyd/ask.py "${specs[@]}"
}

t_setup
[ -x "$POLICYD_BIN" ] || { t_fail "cachet-policyd built" "$POLICYD_BIN missing"; t_done; }

cat >"$T/notify.sh" <<SCRIPT
#!/bin/sh
echo "args=\$1|\$2|\$3 limit=\$CACHET_LIMIT user=\$CACHET_USER blocked=\$CACHET_BLOCKED" >>"$T/notified"
SCRIPT
cat >"$T/sendmail.sh" <<SCRIPT
#!/bin/sh
echo "argv: \$*" >>"$T/mail"
cat >>"$T/mail"
SCRIPT
printf '#!/bin/sh\nexit 3\n' >"$T/fail.sh"
printf '#!/bin/sh\nsleep 30\n' >"$T/slow.sh"
chmod +x "$T/notify.sh" "$T/sendmail.sh" "$T/fail.sh" "$T/slow.sh"

RULE='Limit u key=sasl_username messages=2/1h action=defer block=yes text="over"'
start_policyd "AdminSocket $T/admin.sock" "NotifyCommand $T/notify.sh" \
	"NotifyAddress postmaster@example.org" "SendmailPath $T/sendmail.sh" "$RULE" \
	'Limit rd key=recipient_domain messages=2/1h action=reject text="domain full"' ||
	{ t_fail "policyd starts"; t_diag_file "$T/p.log"; t_done; }
t_ok "policyd starts"
t_check "AdminSocket has mode 0600" [ "$(stat -c %a "$T/admin.sock")" = 600 ]

out=$(ask "END-OF-MESSAGE alice 1" "END-OF-MESSAGE alice 2" "END-OF-MESSAGE alice 3" \
	"END-OF-MESSAGE alice 4" "RCPT alice 5" "END-OF-MESSAGE bob 6")
expected="action=DUNNO
action=DUNNO
action=DEFER_IF_PERMIT 4.7.1 over
action=REJECT 5.7.1 Sending is blocked for this account; contact your administrator
action=REJECT 5.7.1 Sending is blocked for this account; contact your administrator
action=DUNNO"
[ "$out" = "$expected" ] && t_ok "block=yes: alice's 3rd is deferred, then she is blocked; bob is not" ||
	t_fail "block=yes: alice's 3rd is deferred, then she is blocked; bob is not" "$out"
wait_until 5 test -s "$T/notified"
t_check "NotifyCommand ran once with args and environment" \
	[ "$(cat "$T/notified")" = "args=u|cachet:u:m:u=alice|alice limit=u user=alice blocked=yes" ]
wait_until 5 grep -q "per limit" "$T/mail"
t_check "NotifyAddress: sendmail -t -i got the mail" grep -q "^argv: -t -i" "$T/mail"
t_check "NotifyAddress: mail has To and Subject" \
	grep -q "^Subject: cachet-policyd: limit u exceeded by alice" "$T/mail"
t_check "the trip is logged" grep -q "limit u exceeded" "$T/p.log"

out=$(pd list); rc=$?
t_check "list exits 0" [ $rc = 0 ]
echo "$out" | grep -q "cachet:!block:u=alice .*BLOCKED" &&
	echo "$out" | grep -q "cachet:u:m:u=alice .* 2/2 messages"
t_check "list shows alice's counter and block" [ $? = 0 ] || t_diag "$out"

pd unblock alice >/dev/null
t_check "unblock exits 0" [ $? = 0 ]
pd unblock alice 2>"$T/err"
t_check "unblock of a user not blocked exits 1" [ $? = 1 ]
t_check "... and says why" grep -q "alice is not blocked" "$T/err"
pd reset 'cachet:u:m:u=bob' >/dev/null
t_check "reset KEY exits 0" [ $? = 0 ]
pd list | grep -q "u=bob"
t_check "... and the key is gone" [ $? = 1 ]
pd reset 'cachet:u:m:u=alice' 2>"$T/err"
t_check "unblock refilled alice's block=yes counter (reset: no such key, exit 1)" [ $? = 1 ]
t_check "... and says why" grep -q "no such key" "$T/err"
out=$(ask "END-OF-MESSAGE alice 10")
t_check "after unblock alice sends again" [ "$out" = "action=DUNNO" ]
pd block bob >/dev/null
out=$(ask "RCPT bob 11")
t_check "block USER by the admin refuses bob" [ "${out#action=REJECT}" != "$out" ]
t_check "notified once per period (not again)" [ "$(wc -l <"$T/notified")" = 1 ]

pd frobnicate 2>/dev/null; rc1=$?
pd reset 2>/dev/null; rc2=$?
pd reset notakey 2>/dev/null; rc3=$?
pd block a b 2>/dev/null; rc4=$?
t_check "bad admin commands exit 2 ($rc1 $rc2 $rc3 $rc4)" [ "$rc1$rc2$rc3$rc4" = 2222 ]
for h in -h --help; do
	"$POLICYD_BIN" "$h" >"$T/help.out" 2>"$T/help.err"
	rc=$?
	grep -q '^usage: cachet-policyd' "$T/help.out" && [ ! -s "$T/help.err" ] || rc="$rc, no usage on stdout"
	t_check "$h prints the usage on stdout and exits 0 (exit $rc)" [ "$rc" = 0 ]
done
t_check "the server survives them" kill -0 "$PID"
"$PY" -c "
import socket; s = socket.socket(socket.AF_UNIX); s.connect('$T/admin.sock')
s.sendall(b'x' * 5000); print(s.recv(100).decode().split(chr(10))[0])" >"$T/long" 2>&1
t_check "an over-long admin line is refused" [ "$(cat "$T/long")" = 2 ]

# recipient_domain: a message to 2 recipients at one domain is one message.
out=$(ask "RCPT carol 20 x@d.example" "RCPT carol 20 y@d.example" "RCPT dave 21 z@d.example" \
	"RCPT erin 22 w@d.example" "RCPT erin 22 w@e.example")
expected="action=DUNNO
action=DUNNO
action=DUNNO
action=REJECT 5.7.1 domain full
action=DUNNO"
[ "$out" = "$expected" ] && t_ok "recipient_domain: messages counted per domain and transaction" ||
	t_fail "recipient_domain: messages counted per domain and transaction" "$out"

# Daemon stopped: commands work on the StateFile; the block persisted.
stop_policyd
t_check "the block is in the snapshot" grep -q "^cachet:!block:u=bob " "$T/p.state"
pd list | grep -q "u=bob .*BLOCKED"
t_check "daemon stopped: list reads the StateFile" [ $? = 0 ]
pd unblock bob >/dev/null && ! grep -q "!block:u=bob" "$T/p.state"
t_check "daemon stopped: unblock edits the StateFile" [ $? = 0 ]

# Running without AdminSocket: the CLI refuses to touch the StateFile.
start_policyd "$RULE" || t_fail "policyd restarts"
pd block carol 2>"$T/err"
t_check "daemon running without AdminSocket: exit 1" [ $? = 1 ]
t_check "... with a clear error" grep -q "has no AdminSocket" "$T/err"
stop_policyd

# NotifyCommand missing, failing, slow: logged; the server keeps answering.
start_policyd "NotifyCommand $T/missing.sh" 'Limit a key=sasl_username messages=1/1h action=defer' \
	|| t_fail "policyd restarts"
ask "END-OF-MESSAGE u1 1" "END-OF-MESSAGE u1 2" >/dev/null
wait_until 5 grep -q "NotifyCommand .* failed: exit status 127" "$T/p.log"
t_check "missing NotifyCommand is logged" [ $? = 0 ]
stop_policyd
start_policyd "NotifyCommand $T/fail.sh" 'Limit a key=sasl_username messages=1/1h action=defer' \
	|| t_fail "policyd restarts"
ask "END-OF-MESSAGE u2 1" "END-OF-MESSAGE u2 2" >/dev/null
wait_until 5 grep -q "NotifyCommand .* failed: exit status 3" "$T/p.log"
t_check "failing NotifyCommand is logged" [ $? = 0 ]
stop_policyd
start_policyd "NotifyCommand $T/slow.sh" "NotifyTimeout 1s" \
	'Limit a key=sasl_username messages=1/1h action=defer' || t_fail "policyd restarts"
start=$(date +%s%N)
out=$(ask "END-OF-MESSAGE u3 1" "END-OF-MESSAGE u3 2" "END-OF-MESSAGE u4 3")
ms=$(( ($(date +%s%N) - start) / 1000000 ))
t_check "slow NotifyCommand does not stall requests (${ms} ms)" [ "$ms" -lt 900 ]
wait_until 5 grep -q "NotifyCommand .* timed out" "$T/p.log"
t_check "slow NotifyCommand is killed after NotifyTimeout" [ $? = 0 ]
wait_until 5 grep -q "killed by signal 9" "$T/p.log"
t_check "... and reaped" [ $? = 0 ]
stop_policyd

# A reload that changes Socket and PidFile keeps the running ones (a
# restart is needed), so the exit removes what the start made, never a
# path named since (here a file of someone else's).
{
	echo "Socket unix:$T/a.sock"
	echo "AllowRoot yes"
	echo "PidFile $T/a.pid"
	echo 'Limit a key=sasl_username messages=1/1h action=defer'
} >"$T/u.conf"
"$POLICYD_BIN" -c "$T/u.conf" -f 2>>"$T/p.log" &
PID=$!
T_PIDS+=("$PID")
wait_until 10 test -S "$T/a.sock"
sed -i -e "s|$T/a.sock|$T/b.sock|" -e "s|$T/a.pid|$T/b.pid|" "$T/u.conf"
echo "not the daemon's" >"$T/b.sock"
echo "not the daemon's" >"$T/b.pid"
kill -HUP "$PID"
wait_until 5 grep -q "reload: Socket changes need a restart" "$T/p.log"
t_check "a reload that changes Socket says a restart is needed" [ $? = 0 ]
t_check "... and PidFile too" grep -q "reload: PidFile changes need a restart" "$T/p.log"
t_check "... and it still listens on the running socket" test -S "$T/a.sock"
stop_policyd
gone() { [ ! -e "$1" ] && [ ! -e "$2" ]; }
untouched() { grep -q "not the daemon's" "$1" && grep -q "not the daemon's" "$2"; }
t_check "at exit the running socket and PidFile are removed" gone "$T/a.sock" "$T/a.pid"
t_check "... and not the paths named after the start" untouched "$T/b.sock" "$T/b.pid"
[ "$T_FAILED" = 0 ] || t_diag_file "$T/p.log" 40
t_done
