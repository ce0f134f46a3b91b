#!/bin/bash
# t_reload.sh — SIGHUP reloads cachet-milterd under load, through a real
# Postfix: 12 rounds of mail from smtp-source (5 parallel sessions, several
# messages per connection), each with a SIGHUP in the middle of it; the
# configuration changes AuthservID between rounds and is broken once (two
# errors).  What must hold: every message sent is delivered; each carries
# exactly one Authentication-Results field from us, whose authserv-id is
# that of the snapshot (generation) the milter's log line for its queue id
# names; no 4xx/5xx from the milter; the broken file's every error is
# logged and the snapshot in force stays; the daemon is the same process
# from start to end.  Also: --help for both daemons.
. tests/integration/lib.sh
t_setup

ROUNDS=12
PER_ROUND=45	# 12 x 45 = 540 messages
SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)

start_sink &&
	start_milter "InternalHosts 192.0.2.1" "AuthservID mx0.test.example" &&
	start_postfix || { t_fail "harness starts"; t_done; }
PID0=$MILTER_PID

# The configuration of round r: AuthservID mx<r % 3>.test.example.
write_conf() {
	sed -i "s/^AuthservID .*/AuthservID mx$(($1 % 3)).test.example/" "$MILTER_CONF"
}

sent=0
source_failed=0
for r in $(seq 1 $ROUNDS); do
	"$SOURCE" -s 5 -d -m $PER_ROUND -l 2000 -f sender@example.org \
		-t "rcpt$r@test.example" "127.0.0.1:$PF_PORT" >"$T/source.$r.out" 2>&1 &
	src=$!
	sleep 0.2
	if [ "$r" -eq 6 ]; then
		# a broken file: two errors; the snapshot in force must stay
		cp "$MILTER_CONF" "$T/good.conf"
		printf 'Bogus yes\nMinimumKeyBits 5\n' >>"$MILTER_CONF"
	else
		[ -f "$T/good.conf" ] && mv "$T/good.conf" "$MILTER_CONF"
		write_conf "$r"
	fi
	kill -HUP "$MILTER_PID"
	wait "$src" || { source_failed=$((source_failed + 1)); t_diag_file "$T/source.$r.out"; }
	sent=$((sent + PER_ROUND))
done
# let the last reload be logged before looking
wait_until 10 grep -q "reloading .* (generation" "$MILTER_LOG"

t_check "smtp-source got no error reply in any round" test "$source_failed" -eq 0
if sink_wait $sent 60; then
	t_ok "all $sent messages delivered"
else
	t_fail "all $sent messages delivered" "sink has $(sink_count)"
fi
t_check "the milter is the process that started (never restarted)" \
	bash -c "[ \"$MILTER_PID\" = \"$PID0\" ] && kill -0 $PID0"
t_check "it started once" test "$(grep -c 'listening on' "$MILTER_LOG")" -eq 1
reloads=$(grep -c 'reloaded .*: generation' "$MILTER_LOG")
t_check "11 reloads took effect (one of 12 was broken): $reloads" test "$reloads" -eq 11
t_check "the broken file: each of its two errors logged" \
	bash -c "grep -q 'milter.conf:[0-9]*: Bogus: unknown option' '$MILTER_LOG' &&
		 grep -q 'milter.conf:[0-9]*: MinimumKeyBits: expected a whole number' '$MILTER_LOG' &&
		 grep -q 'reload of .* failed; generation [0-9]* stays in force' '$MILTER_LOG'"
if pf_log | grep -Eq 'milter-reject|milter.*(tempfail|4\.3\.0)|: 4[0-9][0-9] |: 5[0-9][0-9] '; then
	t_fail "no 4xx/5xx from the milter in Postfix's log" "$(pf_log | grep -E 'milter|: [45][0-9][0-9] ' | head -5)"
else
	t_ok "no 4xx/5xx from the milter in Postfix's log"
fi

# generation -> authserv-id, from the log
declare -A id_of
while read -r gen id; do id_of[$gen]=$id; done < <(
	sed -nE 's/.*authserv-id ([^,]+), generation ([0-9]+).*/\2 \1/p;
		 s/.*reloaded .*: generation ([0-9]+), authserv-id (.+)$/\1 \2/p' "$MILTER_LOG")
# queue id -> generation, from the verdict lines
declare -A gen_of
while read -r qid gen; do gen_of[$qid]=$gen; done < <(
	sed -nE 's/.*info: ([0-9A-F]+): from=.* gen=([0-9]+) .*/\1 \2/p' "$MILTER_LOG")
bad=0 checked=0 gens_seen=""
for f in $(sink_files); do
	qid=$(sink_headers "$f" | sed -nE 's/^Received:.*\(Postfix\) with E?SMTP id ([0-9A-F]+).*/\1/p' | head -1)
	gen=${gen_of[$qid]:-}
	want=${id_of[$gen]:-}
	got=$(ar_ids "$f" | tr '\n' ' ')
	if [ -z "$qid" ] || [ -z "$gen" ] || [ -z "$want" ] || [ "$got" != "$want " ]; then
		[ $bad -lt 5 ] && t_diag "$f: queue id ${qid:-?} generation ${gen:-?} wants '${want:-?}', has AR ids '$got'"
		bad=$((bad + 1))
	fi
	checked=$((checked + 1))
	case " $gens_seen " in *" $gen "*) ;; *) gens_seen="$gens_seen $gen" ;; esac
done
t_check "each of $checked messages has one AR field from us, of its snapshot's authserv-id" \
	test "$bad" -eq 0 -a "$checked" -eq "$sent"
n_gens=$(wc -w <<<"$gens_seen")
t_check "messages were handled by many snapshots ($n_gens generations)" test "$n_gens" -ge 6

# --help: usage on stdout, status 0, for both daemons
for d in cachet-milterd cachet-policyd; do
	out=$("$REPO/build/bin/$d" --help 2>/dev/null)
	rc=$?
	t_check "$d --help prints usage and exits 0" \
		bash -c "[ $rc -eq 0 ] && grep -q '^usage: $d' <<<'$out'"
done
t_done
