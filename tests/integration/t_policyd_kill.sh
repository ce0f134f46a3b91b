#!/usr/bin/env bash
# The memory store's journal under kill -9: a client in its own process
# loads the daemon (END-OF-MESSAGE requests for 20 SASL users over 8
# connections) and counts the messages it was answered for; the daemon is
# killed with SIGKILL under load (SnapshotInterval is 60 s, so no snapshot
# was taken meanwhile) and started again.  With the journal (the default)
# the counts it recovers (read from the StateFile it writes at start) may
# miss at most one second of the client's answered messages, and exceed
# them by at most one in-flight request per connection; with Journal no
# everything since the start is lost (the test tells the two apart).
# Also: the journal and the snapshot are mode 0600, a temporary file left
# by a killed snapshot writer is removed at start, and a final snapshot
# that fails at shutdown makes the exit status 1.
. tests/integration/lib.sh
POLICYD_BIN=${POLICYD_BIN:-$REPO/build/bin/cachet-policyd}
CONNS=8
USERS=20
# messages=1000000/30d: T = 2.592 s per token, nobody is ever refused, and
# a user's TAT is (first message) + count * T
T_US=2592000

# start LINES... : config $T/p.conf, log $T/p.log; sets PID
start() {
	{
		echo "Socket inet:$PORT@127.0.0.1"
		echo "StateFile $T/state/p.state"
		echo "SnapshotInterval 60s"
		echo "Limit user key=sasl_username messages=1000000/30d action=defer"
		printf '%s\n' "$@"
	} >"$T/p.conf"
	"$POLICYD_BIN" -c "$T/p.conf" -f 2>>"$T/p.log" &
	PID=$!
	T_PIDS+=("$PID")
	wait_until 10 port_listening "$PORT"
}

# kill_run LABEL LINES... : load, kill -9 after 3.5 s, restart; sets LOST, OVER, RATE
kill_run() {
	local label=$1
	shift
	rm -rf "$T/state"
	mkdir -p "$T/state"
	chown nobody "$T/state"
	start "$@" || { t_fail "$label: policyd starts" "$(tail -5 "$T/p.log")"; return 1; }
	"$PY" tests/integration/policyd/load.py "$PORT" "$CONNS" "$USERS" 20 >"$T/$label.load" &
	local lp=$!
	sleep 3.5
	kill -KILL "$PID"
	wait "$PID" 2>/dev/null
	wait "$lp"
	ls -l "$T/state" >"$T/$label.files"
	touch "$T/state/p.state.tmp.99999"
	start "$@" || { t_fail "$label: policyd starts again" "$(tail -5 "$T/p.log")"; return 1; }
	cp "$T/state/p.state" "$T/$label.state"
	kill -TERM "$PID"
	wait "$PID"
	read -r LOST OVER RATE ANSWERED <<<"$("$PY" - "$T/$label.load" "$T/$label.state" "$T_US" <<'PYEOF'
import sys
load, state, t_us = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = answered = elapsed = 0
sent = {}
for line in open(load):
    w = line.split()
    if w[0] == "start_us": start = int(w[1])
    elif w[0] == "answered": answered = int(w[1])
    elif w[0] == "elapsed": elapsed = float(w[1])
    elif w[0] == "user": sent[w[1]] = int(w[2])
got = {}
for line in open(state):
    if line.startswith("cachet:user:m:u="):
        k, v = line.split()
        got[k[len("cachet:user:m:u="):]] = round((int(v) - start) / t_us)
lost = sum(max(0, n - got.get(u, 0)) for u, n in sent.items())
over = sum(max(0, got.get(u, 0) - n) for u, n in sent.items())
print(lost, over, round(answered / elapsed) if elapsed else 0, answered)
PYEOF
)"
	t_diag "$label: answered $ANSWERED in $(awk '$1 == "elapsed" { print $2 }' "$T/$label.load") s" \
		"($RATE/s); recovered: $LOST lost, $OVER counted beyond the answers"
}

t_setup
[ -x "$POLICYD_BIN" ] || { t_fail "cachet-policyd built" "$POLICYD_BIN missing"; t_done; }
PORT=$(free_port)
chmod 711 "$T"

kill_run journal "UserID nobody"
if [ -n "$RATE" ] && [ "$ANSWERED" -gt 1000 ] && [ "$LOST" -le "$RATE" ]; then
	t_ok "journal: kill -9 under load loses at most 1 s of counts ($LOST lost, 1 s = $RATE)"
else
	t_fail "journal: kill -9 under load loses at most 1 s of counts" \
		"lost ${LOST:-?}, 1 s = ${RATE:-?}, answered ${ANSWERED:-?}" "$(tail -5 "$T/p.log")"
fi
t_check "journal: at most one in-flight request per connection counted beyond the answers ($OVER)" \
	[ "${OVER:-99}" -le "$CONNS" ]
t_check "journal: the journal file was mode 0600" grep -q '^-rw------- .* p.state.journal.1$' "$T/journal.files"
t_check "snapshot written at start-up is mode 0600" \
	[ "$(stat -c %a "$T/state/p.state")" = 600 ]
t_check "a temporary file left by a killed writer is removed at start" \
	[ ! -e "$T/state/p.state.tmp.99999" ]
grep -q "p.state.journal.1: [0-9]* changes replayed" "$T/p.log"
t_check "the journal is replayed at start" [ $? = 0 ]

kill_run nojournal "UserID nobody" "Journal no"
if [ -n "$RATE" ] && [ "$LOST" -gt "$RATE" ]; then
	t_ok "Journal no: the same kill loses more than 1 s ($LOST lost, 1 s = $RATE): the test tells"
else
	t_fail "Journal no: the same kill loses more than 1 s" "lost ${LOST:-?}, 1 s = ${RATE:-?}"
fi

# A final snapshot that fails: exit status 1.
rm -rf "$T/state"
mkdir -p "$T/state"
chown nobody "$T/state"
start "UserID nobody" || t_fail "policyd starts (final snapshot case)"
"$PY" tests/integration/policyd/ask.py "$PORT END-OF-MESSAGE alice 1" >/dev/null
chmod 500 "$T/state"
kill -TERM "$PID"
wait "$PID"
rc=$?
t_check "a final snapshot that fails: exit status 1 (got $rc)" [ $rc = 1 ]
grep -q "the final snapshot failed" "$T/p.log"
t_check "... with a log line" [ $? = 0 ]
chmod 700 "$T/state"
[ "$T_FAILED" = 0 ] || t_diag_file "$T/p.log" 20
t_done
