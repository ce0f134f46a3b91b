#!/usr/bin/env bash
# cachet-policyd and its user: started as root it refuses to keep root
# unless told (AllowRoot yes); with UserID it binds its sockets and reads
# its StateFile as root, then runs as that user (here the system user
# nobody), serves requests, takes admin commands and writes its snapshot
# (mode 0600) as that user; -n finds a UserID that does not exist and a
# StateFile directory that user cannot write, and start-up fails on both.
. tests/integration/lib.sh
POLICYD_BIN=${POLICYD_BIN:-$REPO/build/bin/cachet-policyd}

# conf NAME LINES... : $T/NAME.conf with a Socket on $PORT
conf() {
	local name=$1
	shift
	{
		echo "Socket inet:$PORT@127.0.0.1"
		echo "Limit user key=sasl_username messages=2/1h action=defer"
		printf '%s\n' "$@"
	} >"$T/$name.conf"
}

# start NAME : the daemon on $T/NAME.conf in the foreground; sets PID
start() {
	"$POLICYD_BIN" -c "$T/$1.conf" -f 2>>"$T/$1.log" &
	PID=$!
	T_PIDS+=("$PID")
	wait_until 10 port_listening "$PORT"
}

ask() { "$PY" tests/integration/policyd/ask.py "$@"; }
uid_of() { awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$1/status"; }

t_setup
[ -x "$POLICYD_BIN" ] || { t_fail "cachet-policyd built" "$POLICYD_BIN missing"; t_done; }
PORT=$(free_port)
NOBODY=$(id -u nobody)
# nobody may pass through $T and write only in $T/run
chmod 711 "$T"
mkdir -m 700 "$T/run" "$T/root"
chown nobody "$T/run"

# Root, with neither UserID nor AllowRoot: refused by -n and at start-up.
conf root "StateFile $T/run/root.state"
out=$("$POLICYD_BIN" -c "$T/root.conf" -n 2>&1)
rc=$?
t_check "-n as root without UserID or AllowRoot fails" [ $rc = 1 ]
t_check "... saying why (refusing to run as root)" grep -q "refusing to run as root" <<<"$out"
"$POLICYD_BIN" -c "$T/root.conf" -f 2>"$T/root.log"
t_check "start-up as root without UserID or AllowRoot exits 1" [ $? = 1 ]
t_check "... and logs why" grep -q "refusing to run as root" "$T/root.log"

# A UserID that does not exist: -n says so.
conf nouser "UserID cachet-no-such-user" "StateFile $T/run/nouser.state"
out=$("$POLICYD_BIN" -c "$T/nouser.conf" -n 2>&1)
rc=$?
t_check "-n with an unknown UserID fails, naming it" \
	bash -c "[ $rc = 1 ] && grep -q 'UserID cachet-no-such-user: no such user' <<<'$out'"

# A StateFile directory nobody cannot write: -n and start-up fail.
conf rodir "UserID nobody" "StateFile $T/root/p.state"
out=$("$POLICYD_BIN" -c "$T/rodir.conf" -n 2>&1)
rc=$?
t_check "-n: StateFile directory not writable by UserID fails, naming it" \
	bash -c "[ $rc = 1 ] && grep -q 'its directory $T/root is not writable' <<<'$out'"
"$POLICYD_BIN" -c "$T/rodir.conf" -f 2>"$T/rodir.log"
rc=$?
t_check "start-up: StateFile directory not writable by UserID exits 1" \
	bash -c "[ $rc = 1 ] && grep -q 'not writable' '$T/rodir.log'"

# UserID nobody: sockets and files first, then nobody.
conf user "UserID nobody" "StateFile $T/run/p.state" "AdminSocket $T/run/admin" \
	"PidFile $T/run/p.pid"
out=$("$POLICYD_BIN" -c "$T/user.conf" -n 2>&1)
t_check "-n with UserID nobody and a writable directory passes" [ $? = 0 ]
start user || { t_fail "policyd starts with UserID nobody" "$(cat "$T/user.log")"; t_done; }
t_ok "policyd starts with UserID nobody"
ids=$(uid_of "$PID")
t_check "it runs as nobody (real, effective, saved uid: $ids)" \
	[ "$ids" = "$NOBODY $NOBODY $NOBODY $NOBODY" ]
out=$(ask "$PORT END-OF-MESSAGE alice 1" "$PORT END-OF-MESSAGE alice 2" "$PORT END-OF-MESSAGE alice 3")
t_check "it serves requests (3rd of alice deferred)" \
	[ "$(tail -1 <<<"$out")" = "action=DEFER_IF_PERMIT 4.7.1 Rate limit exceeded, try again later" ]
t_check "AdminSocket is owned by nobody" [ "$(stat -c %u "$T/run/admin")" = "$NOBODY" ]
"$POLICYD_BIN" -c "$T/user.conf" block bob >/dev/null 2>"$T/admin.err"
t_check "admin command through the AdminSocket works" [ $? = 0 ]
kill -HUP "$PID"
wait_until 5 grep -q reloaded "$T/user.log"
t_check "reload works as nobody" grep -q reloaded "$T/user.log"
kill -TERM "$PID"
wait "$PID"
rc=$?
t_check "SIGTERM: clean exit as nobody (status $rc)" [ $rc = 0 ]
t_check "snapshot written by nobody, mode 0600" \
	[ "$(stat -c '%u %a' "$T/run/p.state" 2>/dev/null)" = "$NOBODY 600" ]
t_check "the snapshot holds alice's counter and bob's block" \
	bash -c "grep -q 'cachet:user:m:u=alice' '$T/run/p.state' && grep -q 'block:u=bob' '$T/run/p.state'"

# AllowRoot yes: keeps root.
conf allow "AllowRoot yes"
start allow || { t_fail "policyd starts with AllowRoot yes" "$(cat "$T/allow.log")"; t_done; }
t_check "AllowRoot yes: it runs as root" [ "$(uid_of "$PID")" = "0 0 0 0" ]
kill -TERM "$PID"
wait "$PID"
# Daemon mode (no -f: daemon() moves to "/") with a relative -c, StateFile
# and PidFile: a reload finds the file, the snapshot lands beside it.
mkdir -p "$T/rel"
{
	echo "Socket inet:$PORT@127.0.0.1"
	echo "AllowRoot yes"
	echo "Syslog no"
	echo "StateFile p.state"
	echo "PidFile p.pid"
	echo "Limit user key=sasl_username messages=5/1h action=defer"
} >"$T/rel/p.conf"
(cd "$T/rel" && "$POLICYD_BIN" -c p.conf)
wait_until 10 port_listening "$PORT" && wait_until 5 test -s "$T/rel/p.pid"
DPID=$(cat "$T/rel/p.pid" 2>/dev/null)
[ -n "$DPID" ] && T_PIDS+=("$DPID")
t_check "daemon mode: the relative PidFile is in the start directory" [ -n "$DPID" ]
ask "$PORT END-OF-MESSAGE frank 1" "$PORT END-OF-MESSAGE frank 2" >/dev/null
sed -i 's|messages=5/1h|messages=1/1h|' "$T/rel/p.conf"
kill -HUP "$DPID"
sleep 0.5
out=$(ask "$PORT RCPT frank 3")
t_check "daemon mode: a reload reads the relative -c file (the new rule applies)" \
	[ "$out" = "action=DEFER_IF_PERMIT 4.7.1 Rate limit exceeded, try again later" ]
kill -TERM "$DPID"
wait_until 5 eval "! kill -0 $DPID 2>/dev/null"
t_check "daemon mode: the snapshot is written to the relative StateFile" \
	grep -q "cachet:user:m:u=frank" "$T/rel/p.state"
[ "$T_FAILED" = 0 ] || { t_diag_file "$T/user.log" 20; t_diag_file "$T/admin.err"; }
t_done
