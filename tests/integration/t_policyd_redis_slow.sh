#!/usr/bin/env bash
# cachet-policyd with a slow Redis: a real redis-server (own dir, loopback,
# database 2, so SELECT is on the way) paused with SIGSTOP by
# policyd/slow.py, which also measures.  While Redis is paused: a request
# that needs Redis gets the OnStoreError answer (defer here) after about
# StoreTimeout (500ms); requests on another connection that need no Redis
# (an AllowSASLUsers user, another protocol state, no SASL user) are
# answered at once; on one connection the replies keep the request order
# (a second request that needs no Redis waits behind the first).  A Redis
# silent for 2 s is given up and reconnected (logged).  After the resume:
# limits apply again, replies that came late are dropped (no request gets
# two replies), and a short pause keeps the connection (the reply after
# the resume is prompt).
. tests/integration/lib.sh
POLICYD_BIN=${POLICYD_BIN:-$REPO/build/bin/cachet-policyd}
STORE_TIMEOUT_MS=500
UNAVAILABLE="action=DEFER_IF_PERMIT 4.7.1 Rate limit service temporarily unavailable"

start_redis() {
	mkdir -p "$T/redis"
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T/redis" --save "" \
		--appendonly no --daemonize no --protected-mode no --logfile "$T/redis/log" &
	REDIS_PID=$!
	T_PIDS+=("$REDIS_PID")
	wait_until 10 port_listening "$REDIS_PORT"
}

# field NAME [N]: the Nth word (default 2) of slow.py's line NAME
field() {
	awk -v n="$1" -v f="${2:-2}" '$1 == n { print $f; exit }' "$T/slow.out"
}

# reply NAME: the reply on slow.py's line NAME (after NAME and MS)
reply() {
	awk -v n="$1" '$1 == n { $1 = ""; $2 = ""; sub(/^  /, ""); print; exit }' "$T/slow.out"
}

# between LO HI VALUE
between() {
	[ -n "$3" ] && [ "$3" -ge "$1" ] && [ "$3" -le "$2" ]
}

# answered NAME REPLY LO HI: slow.py's line NAME has REPLY, LO to HI ms after sending
answered() {
	[ "$(reply "$1")" = "$2" ] && between "$3" "$4" "$(field "$1")"
}

t_setup
[ -x "$POLICYD_BIN" ] || { t_fail "cachet-policyd built" "$POLICYD_BIN missing"; t_done; }
REDIS_PORT=$(free_port)
start_redis || { t_fail "redis-server starts"; t_done; }
PORT=$(free_port)
cat >"$T/p.conf" <<EOF
Socket inet:$PORT@127.0.0.1
AllowRoot yes
RateLimitStore redis://127.0.0.1:$REDIS_PORT/2
StoreTimeout ${STORE_TIMEOUT_MS}ms
OnStoreError defer
AllowSASLUsers vip
Limit user key=sasl_username messages=3/1h action=defer text="slow test limit"
EOF
"$POLICYD_BIN" -c "$T/p.conf" -f 2>>"$T/p.log" &
T_PIDS+=("$!")
wait_until 10 port_listening "$PORT" || { t_fail "policyd starts"; t_diag_file "$T/p.log"; t_done; }
t_ok "redis and policyd start"

"$PY" tests/integration/policyd/slow.py "$PORT" "$REDIS_PID" >"$T/slow.out" 2>"$T/slow.err"
rc=$?
kill -CONT "$REDIS_PID" 2>/dev/null	# whatever happened to slow.py
t_check "slow.py ran (exit $rc)" [ "$rc" = 0 ] || t_diag_file "$T/slow.err"
t_check "before the pause Redis answers (DUNNO)" [ "$(reply warm)" = "action=DUNNO" ]

t_check "paused Redis: the request gets OnStoreError (defer)" [ "$(reply wait)" = "$UNAVAILABLE" ]
t_check "... after about StoreTimeout ($(field wait) ms, ${STORE_TIMEOUT_MS} expected)" \
	answered wait "$UNAVAILABLE" $((STORE_TIMEOUT_MS * 8 / 10)) $((STORE_TIMEOUT_MS + 1000))
for kind in allowed mail-stage no-user; do
	t_check "paused Redis: another connection, no Redis needed ($kind): DUNNO at once ($(field "bypass-$kind") ms)" \
		answered "bypass-$kind" action=DUNNO 0 200
done

t_check "one connection, two requests in one write: the first (needs Redis) answered first" \
	[ "$(reply order1)" = "$UNAVAILABLE" ]
ms1=$(field order1)
t_check "... the second (needs none) right after it ($ms1 ms, then $(field order2) ms)" \
	answered order2 action=DUNNO "${ms1:-0}" $((ms1 + 200))
wait_until 3 grep -q "no answer for 2 s" "$T/p.log"
rc=$?
t_check "Redis silent for 2 s: the connection is given up (logged; $(field stalled) requests meanwhile)" \
	[ "$rc" = 0 ]

ms=$(field recovered)
t_check "after the resume Redis answers again ($ms ms)" between 0 3000 "$ms"
extra=$(awk '$1 == "extra" { printf "%s%s=%s", n++ ? " " : "", $2, $3 }' "$T/slow.out")
t_check "no late reply on any connection, bytes beyond the replies: $extra" \
	[ "$extra" = "A=0 B=0 C=0" ]
grep -q "connected again" "$T/p.log"
t_check "reconnection is logged" [ $? = 0 ]

t_check "short pause: OnStoreError after StoreTimeout ($(field late) ms)" \
	[ "$(reply late)" = "$UNAVAILABLE" ]
t_check "... the connection is kept: the request after the resume is answered at once ($(field after) ms)" \
	answered after action=DUNNO 0 300
t_check "... and its late reply is dropped (no extra bytes)" [ "$(field extra2 3)" = 0 ]

out=$("$PY" tests/integration/policyd/ask.py "$PORT END-OF-MESSAGE dave 1" \
	"$PORT END-OF-MESSAGE dave 2" "$PORT END-OF-MESSAGE dave 3" "$PORT END-OF-MESSAGE dave 4")
expected="action=DUNNO
action=DUNNO
action=DUNNO
action=DEFER_IF_PERMIT 4.7.1 slow test limit"
[ "$out" = "$expected" ] && t_ok "after the resume the limit applies again (4th message deferred)" ||
	t_fail "after the resume the limit applies again (4th message deferred)" "$out"
t_check "policyd is still running" kill -0 "${T_PIDS[1]}"
[ "$T_FAILED" = 0 ] || { t_diag_file "$T/slow.out" 40; t_diag_file "$T/p.log" 30; }
t_done
