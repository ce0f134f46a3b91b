#!/usr/bin/env bash
# cachet-milterd as a daemon, driven by a real milter client (miltertest,
# from Debian's miltertest package): UserID, PidFile, local: sockets with
# SocketMode, inet6: sockets, and a clean stop on SIGTERM; Postfix through
# inet6: and local: sockets.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/integration/lib.sh
t_setup

# run_daemon NAME CONFIG_LINES...: starts the milter with -f in the background
run_daemon() {
	local name=$1
	shift
	: >"$T/empty.zone"
	# SPF and DMARC off: this test is about the daemon, not the checks
	printf '%s\n' "AuthservID mx.test.example" "TestDNSData $T/empty.zone" "SPF no" \
		"DMARC no" "$@" >"$T/$name.conf"
	chmod 644 "$T/$name.conf"
	"$MILTER_BIN" -f -c "$T/$name.conf" 2>>"$T/milter.log" &
	DAEMON_PID=$!
	T_PIDS+=("$DAEMON_PID")
}

miltertest_ok() { # miltertest_ok SOCKET: one message passes basic.lua
	CACHET_SOCKET=$1 miltertest -s tests/integration/milter/basic.lua >>"$T/mt.log" 2>&1
}

# local socket, SocketMode, UserID, PidFile
sock=$T/m.sock
run_daemon local "Socket local:$sock" "SocketMode 0660" "UserID nobody" "PidFile $T/m.pid"
if wait_until 10 test -S "$sock"; then
	t_check "local socket gets SocketMode 0660" test "$(stat -c %a "$sock")" = 660
	t_check "local socket is owned by UserID" test "$(stat -c %U "$sock")" = nobody
	wait_until 5 test -s "$T/m.pid"
	t_check "PidFile holds the daemon's PID" test "$(cat "$T/m.pid" 2>/dev/null)" = "$DAEMON_PID"
	wait_until 5 bash -c "[ \"\$(ps -o user= -p $DAEMON_PID)\" = nobody ]"
	t_check "runs as UserID after start" test "$(ps -o user= -p "$DAEMON_PID" | tr -d ' ')" = nobody
	t_check "message over local: gets our AR first, forged one deleted" \
		miltertest_ok "local:$sock"
	t_check "one verdict line per message, with the queue id" \
		grep -q 'info: MT0001: from=<user@example.com> client=client.example\[203.0.113.5\] origin=external gen=1 action=accept ar="mx.test.example; dkim=none (message not signed)"' "$T/milter.log"
	kill -TERM "$DAEMON_PID"
	wait_until 10 bash -c "! kill -0 $DAEMON_PID 2>/dev/null"
	t_check "SIGTERM stops the daemon" bash -c "! kill -0 $DAEMON_PID 2>/dev/null"
else
	t_fail "local socket created" "no socket at $sock"
fi

# inet6 socket on ::1 (miltertest speaks no inet6: a real Postfix does)
port=$(free_port)
run_daemon inet6 "Socket inet6:$port@::1"
if wait_until 10 bash -c "(exec 3<>/dev/tcp/::1/$port) 2>/dev/null"; then
	start_sink
	start_postfix "inet_protocols = all" "smtpd_milters = inet:[::1]:$port" \
		"non_smtpd_milters = inet:[::1]:$port"
	write_msg "$T/v6.eml"
	smtp_send "$T/v6.eml"
	sink_wait 1
	f=$(sink_files | head -n1)
	t_check "message through Postfix to inet6: gets our AR first" \
		test "$(sink_headers "$f" 2>/dev/null | head -n1)" = \
		"Authentication-Results: mx.test.example; none"
	stop_postfix
else
	t_fail "inet6 socket listens" "nothing on [::1]:$port"
fi
t_kill_pid "$DAEMON_PID"

# local socket with a real Postfix: there the milter skips DATA as well
# as declining the replies it never needs (milter.c)
sock2=$T/pf.sock
run_daemon pflocal "Socket local:$sock2" "SocketMode 0666"
if wait_until 10 test -S "$sock2"; then
	[ -n "${SINK_PORT:-}" ] || start_sink
	rm -f "$SINK_DIR"/m.*
	start_postfix "smtpd_milters = unix:$sock2" "non_smtpd_milters = unix:$sock2"
	write_msg "$T/local.eml" "Authentication-Results: mx.test.example; dkim=pass"
	smtp_send "$T/local.eml" --xclient "ADDR=203.0.113.5"
	sink_wait 1
	f=$(sink_files | head -n1)
	h=$(sink_headers "$f" 2>/dev/null)
	t_check "message through Postfix to local: gets our AR first, forged one deleted" \
		test "$(head -n1 <<<"$h")/$(grep -c '^Authentication-Results:' <<<"$h")" = \
		"Authentication-Results: mx.test.example; dkim=none (message not signed)/1"
	stop_postfix
else
	t_fail "local socket for Postfix created" "no socket at $sock2"
fi
t_kill_pid "$DAEMON_PID"

# start-up errors are clear and stop the daemon
printf 'Socket local:%s\nUserID no-such-user-here\n' "$sock" >"$T/baduser.conf"
out=$("$MILTER_BIN" -n -c "$T/baduser.conf" 2>&1)
t_check "-n refuses a UserID that does not exist" grep -q "no-such-user-here: no such user" <<<"$out"
port2=$(free_port)
run_daemon busy "Socket inet:$port2@127.0.0.1"
wait_until 10 port_listening "$port2"
"$MILTER_BIN" -f -c "$T/busy.conf" >"$T/busy.out" 2>&1
rc=$?
t_check "a socket already in use is an error, exit 1" test "$rc" = 1
t_check "the error names the socket" grep -q "inet:$port2@127.0.0.1" "$T/busy.out"
[ "$T_FAILED" -ne 0 ] && t_diag_file "$T/mt.log" 30
t_kill_pid "$DAEMON_PID"
t_done
