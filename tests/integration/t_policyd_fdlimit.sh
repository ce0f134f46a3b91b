#!/usr/bin/env bash
# cachet-policyd at its file-descriptor limit: started with a small
# `ulimit -n`, it is sent more connections than it has descriptors for.
# accept() failing with EMFILE must not make it spin or flood its log: it
# stops accepting for a moment and logs one line per interval (fewer than
# 100 lines and well under a tenth of a CPU over 10 s), the connections it
# holds are still served, and the waiting ones are served once
# descriptors are free again.
. tests/integration/lib.sh
POLICYD_BIN=${POLICYD_BIN:-$REPO/build/bin/cachet-policyd}
FDS=24
CONNS=40
SECS=10

t_setup
[ -x "$POLICYD_BIN" ] || { t_fail "cachet-policyd built" "$POLICYD_BIN missing"; t_done; }
PORT=$(free_port)
cat >"$T/p.conf" <<CONF
Socket inet:$PORT@127.0.0.1
AllowRoot yes
Limit user key=sasl_username messages=100/1h action=defer
CONF
(ulimit -n "$FDS" && exec "$POLICYD_BIN" -c "$T/p.conf" -f) 2>>"$T/p.log" &
PID=$!
T_PIDS+=("$PID")
wait_until 10 port_listening "$PORT" || { t_fail "policyd starts" "$(cat "$T/p.log")"; t_done; }
t_ok "policyd starts with ulimit -n $FDS"

"$PY" tests/integration/policyd/fdlimit.py "$PORT" "$PID" "$T/p.log" "$CONNS" "$SECS" \
	>"$T/out" 2>&1
val() { awk -v k="$1" '$1 == k { print $2 }' "$T/out"; }
cpu=$(val cpu_seconds)
lines=$(val log_lines)
t_diag "over $SECS s at the limit: cpu ${cpu:-?} s, ${lines:-?} log lines"
if [ -n "$lines" ] && [ "$lines" -lt 100 ] && [ "$lines" -ge 1 ]; then
	t_ok "at the limit: $lines log lines in $SECS s (at least 1, fewer than 100)"
else
	t_fail "at the limit: fewer than 100 log lines in $SECS s" "$(cat "$T/out")" \
		"$(tail -5 "$T/p.log")"
fi
if [ -n "$cpu" ] && awk -v c="$cpu" 'BEGIN { exit !(c < 0.5) }'; then
	t_ok "at the limit: CPU near idle ($cpu s in $SECS s)"
else
	t_fail "at the limit: CPU near idle (under 0.5 s in $SECS s)" "$(cat "$T/out")"
fi
t_check "at the limit: the connections held are still served" [ "$(val held_served)" = yes ]
t_check "descriptors free again: a waiting connection is served" [ "$(val new_served)" = yes ]
grep -q "accept: Too many open files" "$T/p.log"
t_check "the log line names the error" [ $? = 0 ]
t_check "no raw libevent warning on stderr" bash -c "! grep -v 'cachet-policyd' '$T/p.log' | grep -q ."
t_check "policyd still alive" kill -0 "$PID"
[ "$T_FAILED" = 0 ] || t_diag_file "$T/p.log" 20
t_done
