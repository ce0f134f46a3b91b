#!/bin/bash
# t_keys_rotate.sh — a DKIM key rotation with cachet-keys on a running
# setup: real NSD, Postfix and cachet-milterd signing from an OpenDKIM-
# format KeyTable and SigningTable (refile:, with comments).  Mail leaves
# signed with the old key; `cachet-keys rotate` while the new record is
# not yet in DNS makes the key, prints the record and leaves both tables
# byte for byte as they were (exit 1); run again with --wait while the
# record is published (zone file changed, NSD reloaded with SIGHUP), it
# switches: the KeyTable gains the new key after a switch comment, the
# SigningTable names it, comments and modes kept.  After the milter's
# SIGHUP, mail leaves signed with the new key, and both messages verify
# (cachet check against the zone, and dkimpy).  retire refuses a key
# still named by the SigningTable and one switched less than --ttl ago,
# then removes the old key's line and moves its file aside; the milter
# still loads the tables (-n).  --wait shows progress on a terminal only,
# and a wait that runs out switches nothing.
cd "$(dirname "$0")/../.." || exit 2
. tests/integration/lib.sh
. tests/integration/dkim/lib_dkim.sh
. tests/integration/dkim_e2e/helpers.sh
t_setup

KEYS_BIN=${KEYS_BIN:-$REPO/build/bin/cachet-keys}
D=lab.example
E=$T/etc
K=$E/keys
mkdir -p "$K" && chmod 700 "$K"

if ! "$KEYS_BIN" genkey --domain $D --selector old --dir "$K" >/dev/null 2>"$T/gen.err"; then
	t_fail "genkey makes the old key" "$(cat "$T/gen.err")"
	t_done
fi
write_zone() { # the base zone, then every record file given
	{
		echo "\$ORIGIN $D."
		echo "\$TTL 5"
		echo "@ IN SOA ns.$D. hostmaster.$D. $(date +%s) 3600 600 86400 5"
		echo "@ IN NS ns.$D."
		echo "ns IN A 127.0.0.1"
		cat "$@"
	} >"$T/lab.zone.new" && mv "$T/lab.zone.new" "$T/lab.zone"
}
write_zone "$K/old.txt"
cat >"$E/KeyTable" <<EOF
# KeyTable of the lab (OpenDKIM format)
#   keyname  domain:selector:keyfile

old._domainkey.$D	$D:old:$K/old.private
EOF
cat >"$E/SigningTable" <<EOF
# SigningTable (refile:): sender pattern, key name
*@$D	old._domainkey.$D
*@students.$D	old._domainkey.$D:@$D	# with i=
EOF
chmod 640 "$E/SigningTable"
cp -p "$E/KeyTable" "$T/KeyTable.before" && cp -p "$E/SigningTable" "$T/SigningTable.before"

start_dns "$T/lab.zone" && start_sink && MILTER_PORT=$(free_port) && start_postfix &&
	start_milter "Mode sv" "Nameservers 127.0.0.1@$DNS_PORT" "KeyTable file:$E/KeyTable" \
		"SigningTable refile:$E/SigningTable" || { t_fail "harness starts"; t_done; }

# send CASE: a message from sender@lab.example through Postfix; prints the sink file
send() {
	write_msg "$T/$1.eml" "X-Case: $1"
	sed -i "s/sender@example.org/sender@$D/; s/@example.org>/@$D>/" "$T/$1.eml"
	deliver "$T/$1.eml" "X-Case: $1" --from "sender@$D"
}
f1=$(send before)
s1=$(dkim_sigs "$f1" | head -n 1)
t_check "before the rotation, mail leaves signed s=old" test "$(dkim_tag "$s1" s)" = old

ROT=(rotate --keytable "$E/KeyTable" --signingtable "refile:$E/SigningTable" --domain $D
	--selector new --nameserver "127.0.0.1@$DNS_PORT")
"$KEYS_BIN" "${ROT[@]}" >"$T/rot1.out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "^not switched" "$T/rot1.out"; then
	t_ok "rotate with the record not yet published: not switched (exit 1)"
else
	t_fail "rotate with the record not yet published: not switched (exit 1)" "rc=$rc" "$(cat "$T/rot1.out")"
fi
if cmp -s "$E/KeyTable" "$T/KeyTable.before" && cmp -s "$E/SigningTable" "$T/SigningTable.before"; then
	t_ok "rotate with the record not yet published: both tables unchanged"
else
	t_fail "rotate with the record not yet published: both tables unchanged" \
		"$(diff "$T/KeyTable.before" "$E/KeyTable"; diff "$T/SigningTable.before" "$E/SigningTable")"
fi
t_check "rotate made the new key beside the old one (mode 0600) and printed its record" \
	test "$(stat -c %a "$K/new.private" 2>/dev/null)" = 600 -a -s "$K/new.txt"
t_check "rotate printed the record to publish" grep -q "^new._domainkey.$D. IN TXT (" "$T/rot1.out"

# Again, waiting; the record is published (NSD reloads on SIGHUP) a moment later.
"$KEYS_BIN" "${ROT[@]}" --wait 30 --interval 1 >"$T/rot2.out" 2>&1 &
rot_pid=$!
T_PIDS+=("$rot_pid")
sleep 1.5
write_zone "$K/old.txt" "$K/new.txt"
touch -d '+2 seconds' "$T/lab.zone"
kill -HUP "$DNS_PID"
wait "$rot_pid"
rc=$?
if [ $rc = 0 ] && grep -q "^switched: KeyTable" "$T/rot2.out"; then
	t_ok "rotate --wait: switched once the record was published (exit 0)"
else
	t_fail "rotate --wait: switched once the record was published (exit 0)" "rc=$rc" "$(cat "$T/rot2.out")"
fi
t_check "rotate --wait is quiet off a terminal (no progress lines)" \
	test "$(grep -c 'waiting for' "$T/rot2.out")" = 0
t_check "KeyTable: the old lines kept, then the switch comment and the new key" \
	diff <(head -n 4 "$E/KeyTable") "$T/KeyTable.before"
t_check "KeyTable: the switch comment names both keys" \
	grep -q "^# cachet-keys: switched $D from old._domainkey.$D to new._domainkey.$D at [0-9]* (" "$E/KeyTable"
t_check "KeyTable: the new key line" grep -qx "new._domainkey.$D $D:new:$K/new.private" "$E/KeyTable"
want_st=$(sed "s/old._domainkey/new._domainkey/" "$T/SigningTable.before")
t_check "SigningTable: both entries name the new key, comments and i= kept" \
	test "$(cat "$E/SigningTable")" = "$want_st"
t_check "SigningTable: its mode (0640) is kept" test "$(stat -c %a "$E/SigningTable")" = 640

kill -HUP "$MILTER_PID"
wait_until 10 grep -q 'reloaded .*: generation 2' "$MILTER_LOG" ||
	t_diag "no reload logged" "$(tail -n 5 "$MILTER_LOG")"
f2=$(send after)
s2=$(dkim_sigs "$f2" | head -n 1)
t_check "after the switch and SIGHUP, mail leaves signed s=new" test "$(dkim_tag "$s2" s)" = new

for c in before:"$f1" after:"$f2"; do
	n=${c%%:*} f=${c#*:}
	sink_msg "$f" >"$T/$n.delivered"
	cachet_expect "the $n message's signature verifies (cachet check, zone with both records)" \
		"$T/lab.zone" "$T/$n.delivered" pass
	if run_peer "the $n message's signature verifies (dkimpy)" "$T/py-$n.out" \
		"$PY" "$DKIM_HELPERS/dkimpy.py" verify --zone "$T/lab.zone" "$T/$n.delivered"; then
		t_ok "the $n message's signature verifies (dkimpy)"
	fi
done

# --wait on a terminal (script(1) gives it one) shows progress; when the wait runs out
# with nothing published, nothing is switched
cp -p "$E/KeyTable" "$T/KeyTable.mid" && cp -p "$E/SigningTable" "$T/SigningTable.mid"
script -qec "$KEYS_BIN rotate --keytable $E/KeyTable --signingtable refile:$E/SigningTable \
	--domain $D --selector third --nameserver 127.0.0.1@$DNS_PORT --wait 2 --interval 1" \
	/dev/null >"$T/rot3.out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "waiting for third._domainkey.$D to be published: absent" "$T/rot3.out" &&
	grep -q "^not switched" "$T/rot3.out" && cmp -s "$E/KeyTable" "$T/KeyTable.mid" &&
	cmp -s "$E/SigningTable" "$T/SigningTable.mid"; then
	t_ok "rotate --wait on a terminal: progress shown; timed out unpublished: nothing switched"
else
	t_fail "rotate --wait on a terminal: progress shown; timed out unpublished: nothing switched" \
		"rc=$rc" "$(tr '\r' '\n' <"$T/rot3.out" | tail -n 8)"
fi

RET=(retire --keytable "$E/KeyTable" --signingtable "refile:$E/SigningTable" --domain $D)
"$KEYS_BIN" "${RET[@]}" --selector new --ttl 0 >"$T/ret0.out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "is still used: SigningTable" "$T/ret0.out"; then
	t_ok "retire refuses the key the SigningTable names (exit 1)"
else
	t_fail "retire refuses the key the SigningTable names (exit 1)" "rc=$rc" "$(cat "$T/ret0.out")"
fi
"$KEYS_BIN" "${RET[@]}" --selector old --ttl 3600 >"$T/ret1.out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "with --ttl 3600 it may go from" "$T/ret1.out"; then
	t_ok "retire refuses a key switched away from less than --ttl ago (exit 1)"
else
	t_fail "retire refuses a key switched away from less than --ttl ago (exit 1)" "rc=$rc" "$(cat "$T/ret1.out")"
fi
sleep 1
"$KEYS_BIN" "${RET[@]}" --selector old --ttl 1 >"$T/ret2.out" 2>&1
rc=$?
if [ $rc = 0 ] && ! grep -q "old._domainkey.$D	" "$E/KeyTable" && [ ! -e "$K/old.private" ] &&
	[ -f "$K/old.private.retired" ] && grep -q "moved its key file" "$T/ret2.out"; then
	t_ok "retire after --ttl: the KeyTable line gone, the key file moved aside (said so)"
else
	t_fail "retire after --ttl: the KeyTable line gone, the key file moved aside (said so)" \
		"rc=$rc" "$(cat "$T/ret2.out")" "$(cat "$E/KeyTable")"
fi
"$MILTER_BIN" -c "$MILTER_CONF" -n >"$T/n.out" 2>&1
rc=$?
if [ $rc = 0 ]; then t_ok "the milter still loads the tables after retire (-n)"
else t_fail "the milter still loads the tables after retire (-n)" "$(cat "$T/n.out")"; fi
t_done
