#!/usr/bin/env bash
# cachet-policyd against a redis-server that wants a password (requirepass)
# and has an ACL user: the password comes from RedisPasswordFile (and the
# user from RedisUser).  The right password works (for the daemon and for
# the admin command line), with the ACL user too; a wrong one gives
# OnStoreError and a log line with Redis's words; AUTH is sent again on a
# reconnection (Redis restarted); a password file its group or others may
# read is refused at start-up and by -n, naming the file.
. tests/integration/lib.sh
POLICYD_BIN=${POLICYD_BIN:-$REPO/build/bin/cachet-policyd}
PASS=s3cret-pass
USERPASS=acl-pass-2

start_redis() {
	mkdir -p "$T/redis"
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T/redis" --save "" \
		--appendonly no --daemonize no --requirepass "$PASS" --logfile "$T/redis/log" &
	REDIS_PID=$!
	T_PIDS+=("$REDIS_PID")
	wait_until 10 port_listening "$REDIS_PORT" &&
		redis-cli -p "$REDIS_PORT" -a "$PASS" --no-auth-warning \
			ACL SETUSER cachet on ">$USERPASS" '~cachet:*' '+@all' >/dev/null
}

stop_redis() {
	kill -TERM "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
}

# conf NAME PASSWORD MODE [LINES...]: $T/NAME.conf, password file $T/NAME.pw
conf() {
	local name=$1 pw=$2 mode=$3
	shift 3
	printf '%s\n' "$pw" >"$T/$name.pw"
	chmod "$mode" "$T/$name.pw"
	{
		echo "Socket inet:$PORT@127.0.0.1"
		echo "AllowRoot yes"
		echo "RateLimitStore redis://127.0.0.1:$REDIS_PORT/2"
		echo "RedisPasswordFile $T/$name.pw"
		echo "OnStoreError defer"
		echo 'Limit user key=sasl_username messages=2/1h action=defer text="auth limit"'
		printf '%s\n' "$@"
	} >"$T/$name.conf"
}

start() {
	"$POLICYD_BIN" -c "$T/$1.conf" -f 2>>"$T/$1.log" &
	PID=$!
	T_PIDS+=("$PID")
	wait_until 10 port_listening "$PORT"
}

stop() {
	kill -TERM "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
}

ask() {
	local spec specs=()
	for spec in "$@"; do specs+=("$PORT $spec"); done
	"$PY" tests/integration/policyd/ask.py "${specs[@]}"
}

DEFER_LIMIT="action=DEFER_IF_PERMIT 4.7.1 auth limit"
DEFER_DOWN="action=DEFER_IF_PERMIT 4.7.1 Rate limit service temporarily unavailable"

t_setup
[ -x "$POLICYD_BIN" ] || { t_fail "cachet-policyd built" "$POLICYD_BIN missing"; t_done; }
REDIS_PORT=$(free_port)
PORT=$(free_port)
start_redis || { t_fail "redis-server with requirepass starts"; t_done; }

# The right password.
conf good "$PASS" 600
"$POLICYD_BIN" -c "$T/good.conf" -n >/dev/null 2>&1
t_check "-n accepts a password file of mode 0600" [ $? = 0 ]
start good || { t_fail "policyd starts" "$(cat "$T/good.log")"; t_done; }
out=$(ask "END-OF-MESSAGE alice 1" "END-OF-MESSAGE alice 2" "END-OF-MESSAGE alice 3")
t_check "right password: counters in Redis, 3rd of alice deferred" \
	[ "$(tail -1 <<<"$out")" = "$DEFER_LIMIT" ]
n=$(redis-cli -p "$REDIS_PORT" -a "$PASS" --no-auth-warning -n 2 exists cachet:user:m:u=alice)
t_check "... the counter is in Redis db 2" [ "$n" = 1 ]
out=$("$POLICYD_BIN" -c "$T/good.conf" list 2>&1)
t_check "admin command line AUTHs too (list shows alice)" grep -q "cachet:user:m:u=alice" <<<"$out"

# Redis restarted: the daemon connects again and sends AUTH again.
stop_redis
start_redis || t_fail "redis-server restarts"
sleep 1.2	# STORE_RETRY_SECONDS
out=$(ask "END-OF-MESSAGE bob 1" "END-OF-MESSAGE bob 2" "END-OF-MESSAGE bob 3")
t_check "after a Redis restart AUTH is sent again (3rd of bob deferred by the limit)" \
	[ "$(tail -1 <<<"$out")" = "$DEFER_LIMIT" ]
stop

# The ACL user.
conf acl "$USERPASS" 400 "RedisUser cachet"
start acl || t_fail "policyd starts with RedisUser"
out=$(ask "END-OF-MESSAGE carol 1" "END-OF-MESSAGE carol 2" "END-OF-MESSAGE carol 3")
t_check "ACL user (RedisUser cachet): 3rd of carol deferred by the limit" \
	[ "$(tail -1 <<<"$out")" = "$DEFER_LIMIT" ]
out=$("$POLICYD_BIN" -c "$T/acl.conf" list 2>&1)
t_check "admin command line with the ACL user" grep -q "cachet:user:m:u=carol" <<<"$out"
stop

# A wrong password: OnStoreError (defer here) and a clear log line.
conf bad "not-the-password" 600
start bad || t_fail "policyd starts with a wrong password"
out=$(ask "END-OF-MESSAGE dave 1")
t_check "wrong password: OnStoreError (defer)" [ "$out" = "$DEFER_DOWN" ]
grep -q "AUTH failed: WRONGPASS" "$T/bad.log"
t_check "wrong password: the log says AUTH failed with Redis's words" [ $? = 0 ]
"$POLICYD_BIN" -c "$T/bad.conf" list >/dev/null 2>"$T/bad.cli"
t_check "wrong password: the admin command line fails (exit 1)" [ $? = 1 ]
t_check "... saying AUTH failed" grep -q "AUTH failed" "$T/bad.cli"
stop

# No password at all against requirepass: NOAUTH, OnStoreError.
{ echo "Socket inet:$PORT@127.0.0.1"; echo "AllowRoot yes"; echo "OnStoreError defer"
  echo "RateLimitStore redis://127.0.0.1:$REDIS_PORT/2"
  echo 'Limit user key=sasl_username messages=2/1h action=defer'; } >"$T/none.conf"
start none || t_fail "policyd starts without a password"
out=$(ask "END-OF-MESSAGE erin 1")
t_check "no password: OnStoreError (defer)" [ "$out" = "$DEFER_DOWN" ]
stop

# Password files others or the group may read: refused, naming the file.
for mode in 644 640 604; do
	conf "open$mode" "$PASS" "$mode"
	out=$("$POLICYD_BIN" -c "$T/open$mode.conf" -n 2>&1)
	rc=$?
	t_check "-n refuses a password file of mode $mode, naming it" \
		bash -c "[ $rc = 1 ] && grep -q 'RedisPasswordFile $T/open$mode.pw: readable or writable by its group or others' <<<'$out'"
done
"$POLICYD_BIN" -c "$T/open644.conf" -f 2>"$T/open.log"
rc=$?
t_check "start-up refuses a world-readable password file (exit 1)" \
	bash -c "[ $rc = 1 ] && grep -q 'open644.pw: readable' '$T/open.log'"
"$POLICYD_BIN" -c "$T/open644.conf" list >/dev/null 2>"$T/open.cli"
t_check "the admin command line refuses it too" \
	bash -c "[ $? = 1 ] && grep -q 'open644.pw: readable' '$T/open.cli'"
[ "$T_FAILED" = 0 ] || { t_diag_file "$T/good.log"; t_diag_file "$T/bad.log"; }
t_done
