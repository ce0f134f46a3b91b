#!/usr/bin/env bash
# cachet-policyd with RateLimitStore redis://: two policy servers (the
# two-MX case) share one real redis-server (started here on a free loopback
# port with its own dir, stopped by PID) and enforce one limit together;
# with Redis down each applies its OnStoreError (A: the default dunno, B:
# defer) and logs it; when Redis comes back they use it again without a
# restart.  Requests are spoken directly on the policy protocol, over one
# kept-open connection per server, as Postfix does.
. tests/integration/lib.sh
POLICYD_BIN=${POLICYD_BIN:-$REPO/build/bin/cachet-policyd}

start_redis() {
	mkdir -p "$T/redis"
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T/redis" --save "" \
		--appendonly no --daemonize no --protected-mode no --logfile "$T/redis/log" &
	REDIS_PID=$!
	T_PIDS+=("$REDIS_PID")
	wait_until 10 port_listening "$REDIS_PORT"
}

stop_redis() {
	kill -TERM "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
}

# start_policyd NAME PORT LINES...
start_policyd() {
	local name=$1 port=$2
	shift 2
	{
		echo "Socket inet:$port@127.0.0.1"
		echo "AllowRoot yes"
		printf '%s\n' "$@"
	} >"$T/$name.conf"
	"$POLICYD_BIN" -c "$T/$name.conf" -f 2>>"$T/$name.log" &
	T_PIDS+=("$!")
	wait_until 10 port_listening "$port"
}

# ask "PORT STATE USER INSTANCE" ... : one kept-open connection per port;
# prints one action per request, in order.
ask() {
	"$PY" tests/integration/policyd/ask.py "$@"
}

t_setup
[ -x "$POLICYD_BIN" ] || { t_fail "cachet-policyd built" "$POLICYD_BIN missing"; t_done; }
REDIS_PORT=$(free_port)
start_redis || { t_fail "redis-server starts"; t_done; }
A=$(free_port)
B=$(free_port)
RULE='Limit user key=sasl_username messages=3/1h action=defer text="shared limit"'
start_policyd a "$A" "RateLimitStore redis://127.0.0.1:$REDIS_PORT/3" "$RULE" &&
	start_policyd b "$B" "RateLimitStore redis://127.0.0.1:$REDIS_PORT/3" \
		"OnStoreError defer" "$RULE" || { t_fail "two policy servers start"; t_done; }
t_ok "redis and two policy servers start"

out=$(ask "$A END-OF-MESSAGE alice 1" "$B END-OF-MESSAGE alice 2" \
	"$A END-OF-MESSAGE alice 3" "$B RCPT alice 4" "$A RCPT alice 4" \
	"$B END-OF-MESSAGE bob 5")
expected="action=DUNNO
action=DUNNO
action=DUNNO
action=DEFER_IF_PERMIT 4.7.1 shared limit
action=DEFER_IF_PERMIT 4.7.1 shared limit
action=DUNNO"
if [ "$out" = "$expected" ]; then
	t_ok "two servers enforce one limit (3 accepted across both, 4th deferred on each)"
else
	t_fail "two servers enforce one limit" "$out"
fi
keys=$(redis-cli -p "$REDIS_PORT" -n 3 --scan --pattern 'cachet:*' | sort | tr '\n' ' ')
t_check "counters live in Redis db 3 ($keys)" [ "$keys" = "cachet:user:m:u=alice cachet:user:m:u=bob " ]

# Admin commands talk to Redis directly; a block is shared by both servers.
"$POLICYD_BIN" -c "$T/a.conf" block alice >/dev/null
t_check "block alice through Redis exits 0" [ $? = 0 ]
out=$(ask "$A RCPT alice 30" "$B RCPT alice 31")
expected="action=REJECT 5.7.1 Sending is blocked for this account; contact your administrator
action=REJECT 5.7.1 Sending is blocked for this account; contact your administrator"
t_check "the block applies on both servers" [ "$out" = "$expected" ]
out=$("$POLICYD_BIN" -c "$T/b.conf" list)
echo "$out" | grep -q "cachet:!block:u=alice .*BLOCKED" &&
	echo "$out" | grep -q "cachet:user:m:u=alice .* 3/3 messages"
t_check "list reads Redis (block and counter)" [ $? = 0 ] || t_diag "$out"
"$POLICYD_BIN" -c "$T/b.conf" unblock alice >/dev/null &&
	"$POLICYD_BIN" -c "$T/a.conf" reset "cachet:user:m:u=alice" >/dev/null
t_check "unblock and reset through Redis exit 0" [ $? = 0 ]
out=$(ask "$A END-OF-MESSAGE alice 32")
t_check "alice sends again" [ "$out" = "action=DUNNO" ]
"$POLICYD_BIN" -c "$T/a.conf" reset "cachet:user:m:u=nobody" 2>/dev/null
t_check "reset of a missing key exits 1" [ $? = 1 ]

# Redis down: A lets pass (default dunno), B defers (OnStoreError defer).
stop_redis
out=$(ask "$A END-OF-MESSAGE carol 10" "$B END-OF-MESSAGE carol 11")
expected="action=DUNNO
action=DEFER_IF_PERMIT 4.7.1 Rate limit service temporarily unavailable"
[ "$out" = "$expected" ] && t_ok "Redis down: OnStoreError dunno / defer" ||
	t_fail "Redis down: OnStoreError dunno / defer" "$out"
grep -q "OnStoreError" "$T/a.log"
t_check "Redis down is logged" [ $? = 0 ]
"$POLICYD_BIN" -c "$T/a.conf" list >/dev/null 2>"$T/admin.err"
t_check "Redis down: list exits 1" [ $? = 1 ]
t_check "... saying the store is unreachable" grep -q "is unreachable" "$T/admin.err"
"$POLICYD_BIN" -c "$T/a.conf" block alice 2>/dev/null
t_check "Redis down: block exits 1" [ $? = 1 ]

# Redis back (empty: no persistence here): limits apply again, no restart.
start_redis || t_fail "redis-server restarts"
sleep 1.2	# STORE_RETRY_SECONDS
out=$(ask "$A END-OF-MESSAGE dave 20" "$B END-OF-MESSAGE dave 21" "$A END-OF-MESSAGE dave 22" \
	"$B END-OF-MESSAGE dave 23")
expected="action=DUNNO
action=DUNNO
action=DUNNO
action=DEFER_IF_PERMIT 4.7.1 shared limit"
[ "$out" = "$expected" ] && t_ok "Redis back: shared limits apply again without restart" ||
	t_fail "Redis back: shared limits apply again without restart" "$out"
grep -q "connected again" "$T/a.log"
t_check "reconnection is logged" [ $? = 0 ]
[ "$T_FAILED" = 0 ] || { t_diag_file "$T/a.log"; t_diag_file "$T/b.log"; }
t_done
