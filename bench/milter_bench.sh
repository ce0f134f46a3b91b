#!/usr/bin/env bash
# bench/milter_bench.sh — messages per second through a real Postfix, with
# and without a milter, measured the way doc/PERFORMANCE.md measured the
# stack cachet replaces: smtp-source -> Postfix -> smtp-sink on loopback,
# one message of about 4 KB per connection, SESSIONS (20) concurrent
# sessions, and the one-session latency (ms per message, one session).
#
# Configurations, each in the same run on the same Postfix, NSD and sink
# (tests/integration/lib.sh starts them in a temp dir and stops them by
# PID): Postfix alone; + opendkim verifying (Debian's opendkim, from its own
# config file in the temp dir, foreground, on a loopback port, never
# /etc/opendkim nor the system service); + cachet-milterd verifying DKIM
# only; + cachet-milterd with its default checks (SPF, DMARC, DKIM).  The
# message is signed once with `cachet sign`; NSD serves its key, SPF and
# DMARC records.  InternalHosts names an address that never connects, so
# the loopback client's mail is verified, not treated as outbound.  Each
# row prints the DKIM result the first delivered message carries, so a
# milter that verified nothing cannot pass for a fast one.
#
# Throughput = messages / seconds from the start of smtp-source until the
# maillog shows every message sent to the sink (median of RUNS runs).
# Latency = smtp-source's wall time with one session / messages.  Never
# passes or fails; prints n/a for what it could not measure.  Needs root
# (Postfix, NSD, smtp-sink).  Limits: polls the maillog every 0.05 s, so a
# throughput figure carries up to that much error per run; everything
# shares the machine's cores with the load generator.
#
# Environment: BUILD (default build), BENCH_MILTER_MSGS (per run, 1000),
# BENCH_MILTER_RUNS (3), BENCH_MILTER_ONE (one-session messages, 30),
# BENCH_MILTER_SESSIONS (20).
set -u

cd "$(dirname "$0")/.." || exit 0
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
MSGS=${BENCH_MILTER_MSGS:-1000}
RUNS=${BENCH_MILTER_RUNS:-3}
ONE=${BENCH_MILTER_ONE:-30}
SESSIONS=${BENCH_MILTER_SESSIONS:-20}
export MILTER_BIN=$BUILD/bin/cachet-milterd
CLI=$BUILD/bin/cachet
SOURCE=/usr/sbin/smtp-source

progress() { if [ -t 1 ]; then printf '.. %s\n' "$*"; fi; }

echo
echo "== milters through Postfix: smtp-source -> Postfix -> smtp-sink, ~4 KB, one message per connection"
if [ "$(id -u)" != 0 ]; then
	echo "n/a (needs root: Postfix, NSD, smtp-sink)"
	exit 0
fi
for f in "$SOURCE" /usr/sbin/smtp-sink /usr/sbin/postfix /usr/sbin/nsd "$MILTER_BIN" "$CLI"; do
	[ -x "$f" ] || { echo "n/a ($f missing)"; exit 0; }
done

. tests/integration/lib.sh
# lib.sh's t_setup exits 1 when not root; checked above.  Its cleanup
# stops everything started here by PID.
t_setup
trap 'exit 130' INT
trap 'exit 143' TERM HUP

bench_fail() { echo "n/a ($*)"; t_dump_logs | head -40; T_FAILED=0; exit 0; }

# ---- key, zone, signed message ----
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/sel.pem" 2>/dev/null ||
	bench_fail "openssl could not make a key"
chmod 600 "$T/sel.pem"
p=$(openssl pkey -in "$T/sel.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
rec="v=DKIM1; k=rsa; p=$p"
{
	echo '$ORIGIN bench.example.'
	echo '$TTL 3600'
	echo '@ IN SOA ns.bench.example. host.bench.example. 1 3600 600 86400 3600'
	echo '@ IN NS ns.bench.example.'
	echo 'ns IN A 127.0.0.1'
	echo '@ IN TXT "v=spf1 ip4:127.0.0.1 -all"'
	echo '_dmarc IN TXT "v=DMARC1; p=none"'
	# RFC 1035 3.3: one character-string holds at most 255 bytes.
	printf 'sel._domainkey IN TXT ( "%s" "%s" )\n' "${rec:0:200}" "${rec:200}"
} >"$T/bench.example.zone"

{
	printf '%s\n' "From: Bench <sender@bench.example>" "To: <rcpt@test.example>" \
		"Subject: cachet milter bench" "Date: Mon, 24 Nov 2025 10:00:00 +0000" \
		"Message-ID: <bench.$$@bench.example>" "MIME-Version: 1.0" \
		"Content-Type: text/plain; charset=us-ascii" ""
	for i in $(seq 1 55); do
		printf 'Line %02d of the benchmark body, plain text of about seventy bytes.\n' "$i"
	done
} >"$T/plain.eml"
"$CLI" sign --key "$T/sel.pem" --domain bench.example --selector sel "$T/plain.eml" \
	>"$T/signed.eml" 2>"$T/sign.err" || bench_fail "cachet sign: $(head -c 200 "$T/sign.err")"
msg_bytes=$(wc -c <"$T/signed.eml")

# ---- daemons ----
progress "starting NSD, smtp-sink, Postfix"
MILTER_PORT=$(free_port) || bench_fail "no free port"
start_dns "$T/bench.example.zone" && start_sink && start_postfix \
	"smtpd_milters =" "non_smtpd_milters =" || bench_fail "harness did not start"
milters_line="smtpd_milters = inet:127.0.0.1:$MILTER_PORT"

# pf_set LINE: change main.cf and make new smtpd processes see it
pf_set() {
	postconf -c "$PF_DIR" -e "$1" && pf postfix reload >/dev/null 2>&1
	sleep 1
}

sent_count() { grep -c 'status=sent' "$PF_LOG" 2>/dev/null; }

# one_run SESSIONS COUNT -> "wall_seconds_until_delivered source_seconds"
one_run() {
	local s=$1 n=$2 base t0 t1 t2 done_at deadline
	base=$(sent_count)
	t0=$(date +%s.%N)
	"$SOURCE" -4 -s "$s" -m "$n" -M client.bench.example -f sender@bench.example \
		-t rcpt@test.example -F "$T/signed.eml" "127.0.0.1:$PF_PORT" \
		>"$T/source.out" 2>&1
	t1=$(date +%s.%N)
	deadline=$(awk -v t="$t1" 'BEGIN { printf "%d", t + 30 }')
	done_at=""
	while :; do
		if [ $(( $(sent_count) - base )) -ge "$n" ]; then
			done_at=$(date +%s.%N)
			break
		fi
		[ "$(date +%s)" -ge "$deadline" ] && break
		sleep 0.05
	done
	rm -f "$SINK_DIR"/m.*
	if [ -z "$done_at" ]; then
		echo "n/a n/a"
		return
	fi
	t2=$done_at
	awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "%.3f %.3f\n", c - a, b - a }'
}

median() { printf '%s\n' "$@" | grep -v n/a | sort -g | awk '{ v[NR] = $1 } END {
	if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2];
	else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The DKIM result of one message sent now, as the sink got it.
dkim_seen() {
	local f r
	rm -f "$SINK_DIR"/m.*
	smtp_send "$T/signed.eml" --from sender@bench.example >/dev/null 2>&1
	sink_wait 1 10 || { echo "none delivered"; return; }
	f=$(sink_files | head -n 1)
	r=$(sink_headers "$f" | grep -i '^Authentication-Results:' | grep -o 'dkim=[a-z]*' | head -n 1)
	rm -f "$SINK_DIR"/m.*
	echo "${r:-no dkim= result}"
}

declare -A rate lat seen
# measure NAME: warm up, check the result, then RUNS throughput runs and
# one latency run
measure() {
	local name=$1 r rates=() w
	progress "$name: warm-up, $RUNS x $MSGS messages, $ONE in one session"
	one_run "$SESSIONS" 40 >/dev/null
	seen[$name]=$(dkim_seen)
	for r in $(seq 1 "$RUNS"); do
		read -r w _ <<<"$(one_run "$SESSIONS" "$MSGS")"
		[ "$w" = n/a ] && rates+=(n/a) ||
			rates+=("$(awk -v n="$MSGS" -v w="$w" 'BEGIN { printf "%.1f", n / w }')")
	done
	rate[$name]=$(median "${rates[@]}")
	rate_all[$name]="${rates[*]}"
	read -r _ w <<<"$(one_run 1 "$ONE")"
	lat[$name]=$( [ "$w" = n/a ] && echo n/a ||
		awk -v n="$ONE" -v w="$w" 'BEGIN { printf "%.1f", w * 1000 / n }')
}
declare -A rate_all

# 1. Postfix alone
measure postfix

pf_set "$milters_line"

# 2. opendkim, verify only
if command -v opendkim >/dev/null 2>&1; then
	cat >"$T/opendkim.conf" <<EOF
# generated by bench/milter_bench.sh: verify only, loopback, no syslog
Mode			v
Socket			inet:$MILTER_PORT@127.0.0.1
PidFile			$T/opendkim.pid
Syslog			no
Background		no
AuthservID		$AUTHSERV
InternalHosts		192.0.2.1
Nameservers		127.0.0.1@$DNS_PORT
EOF
	opendkim -f -x "$T/opendkim.conf" >"$T/opendkim.log" 2>&1 &
	ODK_PID=$!
	T_PIDS+=("$ODK_PID")
	if wait_until 10 port_listening "$MILTER_PORT"; then
		measure opendkim
	else
		seen[opendkim]="did not start: $(head -c 150 "$T/opendkim.log")"
	fi
	t_kill_pid "$ODK_PID" 5
	wait_until 5 eval '! port_listening "$MILTER_PORT"'
else
	seen[opendkim]="opendkim not installed"
fi

# 3. cachet-milterd, DKIM verify only; 4. its default checks
cachet_base=("Mode v" "Syslog no" "InternalHosts 192.0.2.1" "Nameservers 127.0.0.1@$DNS_PORT")
if start_milter "${cachet_base[@]}" "SPF no" "DMARC no"; then
	measure cachet-dkim
else
	seen[cachet-dkim]="did not start"
fi
stop_milter
if start_milter "${cachet_base[@]}"; then
	measure cachet-all
else
	seen[cachet-all]="did not start"
fi
stop_milter

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }'
}

echo "   $MSGS messages of $msg_bytes bytes per run, $SESSIONS sessions, median of $RUNS runs;"
echo "   latency: $ONE messages over one session.  Postfix $(postconf -d -h mail_version 2>/dev/null),"
echo "   opendkim $(opendkim -V 2>/dev/null | awk 'NR == 1 { print $NF }'), milters on inet sockets at 127.0.0.1"
printf '%-32s %8s %10s %15s %12s  %s\n' configuration "msgs/s" "vs alone" "cachet/opendkim" "1-sess ms" "dkim seen (runs)"
for name in postfix opendkim cachet-dkim cachet-all; do
	case $name in
	postfix) label="Postfix alone (no milter)" ;;
	opendkim) label="+ opendkim verify" ;;
	cachet-dkim) label="+ cachet-milterd DKIM verify" ;;
	cachet-all) label="+ cachet-milterd SPF+DMARC+DKIM" ;;
	esac
	co=-
	case $name in cachet-*) co=$(ratio "${rate[$name]:-n/a}" "${rate[opendkim]:-n/a}") ;; esac
	printf '%-32s %8s %10s %15s %12s  %s\n' "$label" "${rate[$name]:-n/a}" \
		"$(ratio "${rate[$name]:-n/a}" "${rate[postfix]:-n/a}")" "$co" "${lat[$name]:-n/a}" \
		"${seen[$name]:--} (${rate_all[$name]:-})"
done
# shellcheck disable=SC2034 # read by lib.sh's t_cleanup: never a failure
T_FAILED=0
exit 0
