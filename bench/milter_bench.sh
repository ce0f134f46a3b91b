#!/usr/bin/env bash
# bench/milter_bench.sh — messages per second through a real Postfix, with
# and without a milter, measured the way doc/PERFORMANCE.md measured the
# stack cachet replaces: smtp-source -> Postfix -> smtp-sink on loopback,
# one message of about 4 KB per connection, SESSIONS (20) concurrent
# sessions, the one-session latency (ms per message, one session), and the
# milter's own CPU per message.
#
# Rows, all in the same run on the same Postfix, NSD and sink
# (tests/integration/lib.sh starts them in a temp dir and stops them by
# PID):
#  - Postfix alone;
#  - + the null filter (bench/null_milter.c): libmilter answering every
#    step with continue and adding one header at end of message, the floor
#    under any milter;
#  - + opendkim verifying (Debian's opendkim, from its own config file in
#    the temp dir, foreground, never /etc/opendkim nor the system service);
#  - + cachet-milterd verifying DKIM only;
#  - + cachet-milterd with its default checks (SPF, DMARC, DKIM);
#  - with BENCH_MILTER_BASELINE=PATH, + that cachet-milterd binary with the
#    same configuration (an older build: before/after in one run).
# Each milter row runs over TCP (inet:127.0.0.1) and over a unix socket
# (local:), except cachet DKIM-only (TCP).  Every milter is started once,
# on its own socket, and gets its own smtpd service in the one Postfix
# (its own port, -o smtpd_milters=...): rows switch by port, never by a
# reload, which would leave the next row to start new Postfix processes.
#
# DNS: NSD serves two zones with the same records (DKIM key, SPF
# "v=spf1 ip4:127.0.0.1 -all", DMARC p=none): bench.example with TTL 3600
# on every record (after the warm-up, answers come from the milters'
# caches) and bench0.example with TTL 0 (nothing can be cached: every
# lookup of every message goes to NSD).  A row's TTL says which domain its
# message is from and signed by (the message is signed once per domain
# with `cachet sign`).  InternalHosts names an address that never
# connects, so the loopback client's mail is verified, not treated as
# outbound.  Each row prints what the first delivered message carries (the
# results in Authentication-Results, or the null filter's header), so a
# milter that verified nothing cannot pass for a fast one.
#
# Rounds: the rows are measured in turn, RUNS rounds over all of them (so
# a change of load on the machine hits every row alike, not one), every
# other round in the reverse order; each figure is the median over the
# rounds.  Throughput = messages / seconds
# from the start of smtp-source until the maillog shows every message sent
# to the sink.  Latency = smtp-source's wall time with one session /
# messages.  Milter CPU = user + system time of the milter process (all
# its threads, from /proc/PID/stat) over the throughput runs / messages:
# it does not depend on how much CPU the other processes left it.
#
# Never passes or fails; prints n/a for what it could not measure.  Needs
# root (Postfix, NSD, smtp-sink).  Limits: polls the maillog every 0.05 s,
# so a throughput figure carries up to that much error per run; everything
# shares the machine's cores with the load generator; CPU time has the
# kernel's tick resolution (1/CLK_TCK s per run); NSD's CPU is no milter's.
#
# Environment: BUILD (default build), BENCH_MILTER_MSGS (per run, 500),
# BENCH_MILTER_RUNS (rounds, 3), BENCH_MILTER_ONE (one-session messages,
# 30), BENCH_MILTER_SESSIONS (20), BENCH_MILTER_BASELINE (a cachet-milterd
# to compare with, optional).
set -u

cd "$(dirname "$0")/.." || exit 0
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
MSGS=${BENCH_MILTER_MSGS:-500}
RUNS=${BENCH_MILTER_RUNS:-3}
ONE=${BENCH_MILTER_ONE:-30}
SESSIONS=${BENCH_MILTER_SESSIONS:-20}
BASELINE=${BENCH_MILTER_BASELINE:-}
export MILTER_BIN=$BUILD/bin/cachet-milterd
CLI=$BUILD/bin/cachet
NULL_BIN=$BUILD/bench/null_milter
SOURCE=/usr/sbin/smtp-source
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)

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
if [ -n "$BASELINE" ]; then
	case $BASELINE in /*) ;; *) BASELINE=$PWD/$BASELINE ;; esac
fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)

. tests/integration/lib.sh
# lib.sh's t_setup exits 1 when not root; checked above.  Its cleanup
# stops everything started here by PID.
t_setup
trap 'exit 130' INT
trap 'exit 143' TERM HUP

bench_fail() { echo "n/a ($*)"; t_dump_logs | head -40; T_FAILED=0; exit 0; }

# ---- key, zones, signed messages ----
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/sel.pem" 2>/dev/null ||
	bench_fail "openssl could not make a key"
chmod 600 "$T/sel.pem"
p=$(openssl pkey -in "$T/sel.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
rec="v=DKIM1; k=rsa; p=$p"

# zone DOMAIN TTL: the records every message needs, each with TTL
zone() {
	echo "\$ORIGIN $1."
	echo "\$TTL $2"
	echo "@ IN SOA ns.$1. host.$1. 1 3600 600 86400 $2"
	echo "@ IN NS ns.$1."
	echo 'ns IN A 127.0.0.1'
	echo '@ IN TXT "v=spf1 ip4:127.0.0.1 -all"'
	echo '_dmarc IN TXT "v=DMARC1; p=none"'
	# RFC 1035 3.3: one character-string holds at most 255 bytes.
	printf 'sel._domainkey IN TXT ( "%s" "%s" )\n' "${rec:0:200}" "${rec:200}"
}

# signed DOMAIN FILE: the bench message from sender@DOMAIN, signed by DOMAIN
signed() {
	{
		printf '%s\n' "From: Bench <sender@$1>" "To: <rcpt@test.example>" \
			"Subject: cachet milter bench" "Date: Mon, 24 Nov 2025 10:00:00 +0000" \
			"Message-ID: <bench.$$@$1>" "MIME-Version: 1.0" \
			"Content-Type: text/plain; charset=us-ascii" ""
		for i in $(seq 1 55); do
			printf 'Line %02d of the benchmark body, plain text of about seventy bytes.\n' "$i"
		done
	} >"$T/plain.$1.eml"
	"$CLI" sign --key "$T/sel.pem" --domain "$1" --selector sel "$T/plain.$1.eml" \
		>"$2" 2>"$T/sign.err" || bench_fail "cachet sign: $(head -c 200 "$T/sign.err")"
}

# per TTL: the message, its envelope sender and the client's HELO name,
# all in that TTL's domain (SPF looks up the HELO name too)
declare -A MSG FROM HELO
for ttl in 3600 0; do
	d=bench.example
	[ "$ttl" = 0 ] && d=bench0.example
	zone "$d" "$ttl" >"$T/$d.zone"
	signed "$d" "$T/signed.$ttl.eml"
	MSG[$ttl]=$T/signed.$ttl.eml
	FROM[$ttl]=sender@$d
	HELO[$ttl]=client.$d
done
msg_bytes=$(wc -c <"${MSG[3600]}")

# ---- daemons ----
progress "starting NSD, smtp-sink, Postfix"
start_dns "$T/bench.example.zone" "$T/bench0.example.zone" && start_sink && start_postfix \
	"smtpd_milters =" "non_smtpd_milters =" || bench_fail "harness did not start"

declare -A INST_MILTER INST_PID INST_WHY INST_PORT
# ready SOCKET: something listens there (a TCP port or a unix socket file)
ready() {
	case $1 in
	inet:*) port_listening "${1#inet:}" ;;
	unix:*) [ -S "${1#unix:}" ] ;;
	esac
}

# launch NAME SOCKET CMD...: start a milter in the background (log in
# $T/NAME.log), wait for its socket; SOCKET is Postfix's form
# (inet:127.0.0.1:PORT or unix:PATH).  Sets INST_MILTER/INST_PID or INST_WHY.
launch() {
	local name=$1 sock=$2 pid
	shift 2
	"$@" >>"$T/$name.log" 2>&1 &
	pid=$!
	T_PIDS+=("$pid")
	local psock=$sock
	case $sock in inet:*) psock=inet:${sock##*:} ;; esac
	if wait_until 10 eval 'kill -0 '"$pid"' 2>/dev/null && ready '"$psock"; then
		# the null filter leaves its socket as its umask made it: Postfix
		# runs as another user
		case $sock in unix:*) chmod 666 "${sock#unix:}" ;; esac
		INST_MILTER[$name]=$sock
		INST_PID[$name]=$pid
	else
		INST_WHY[$name]="did not start: $(tr '\n' ' ' <"$T/$name.log" | head -c 150)"
		t_kill_pid "$pid" 2
	fi
}

# cachet_conf NAME SOCKET LINE...: a cachet-milterd configuration file
cachet_conf() {
	local name=$1 sock=$2
	shift 2
	{
		echo "Socket $sock"
		echo "SocketMode 0666"
		echo "AuthservID $AUTHSERV"
		echo "PidFile $T/$name.pid"
		printf '%s\n' "Mode v" "Syslog no" "InternalHosts 192.0.2.1" \
			"Nameservers 127.0.0.1@$DNS_PORT" "$@"
	} >"$T/$name.conf"
	echo "$T/$name.conf"
}

# start_pair NAME KIND: the milter KIND on a TCP port (NAME-t) and on a
# unix socket (NAME-u)
start_one() {
	local name=$1 kind=$2 t=$3 port conf sock
	if [ "$t" = t ]; then
		port=$(free_port) || { INST_WHY[$name]="no free port"; return; }
		sock=inet:$port@127.0.0.1
		psock=inet:127.0.0.1:$port
	else
		sock=local:$T/$name.sock
		psock=unix:$T/$name.sock
	fi
	case $kind in
	null)
		[ -x "$NULL_BIN" ] || { INST_WHY[$name]="$NULL_BIN not built"; return; }
		launch "$name" "$psock" "$NULL_BIN" "$sock" ;;
	opendkim)
		command -v opendkim >/dev/null 2>&1 ||
			{ INST_WHY[$name]="opendkim not installed"; return; }
		cat >"$T/$name.conf" <<EOF
# generated by bench/milter_bench.sh: verify only, loopback, no syslog
Mode			v
Socket			$sock
UMask			000
PidFile			$T/$name.pid
Syslog			no
Background		no
AuthservID		$AUTHSERV
InternalHosts		192.0.2.1
Nameservers		127.0.0.1@$DNS_PORT
EOF
		launch "$name" "$psock" opendkim -f -x "$T/$name.conf" ;;
	cachet-dkim)
		conf=$(cachet_conf "$name" "$sock" "SPF no" "DMARC no")
		launch "$name" "$psock" "$MILTER_BIN" -f -c "$conf" ;;
	cachet)
		conf=$(cachet_conf "$name" "$sock")
		launch "$name" "$psock" "$MILTER_BIN" -f -c "$conf" ;;
	baseline)
		[ -x "$BASELINE" ] || { INST_WHY[$name]="$BASELINE missing"; return; }
		conf=$(cachet_conf "$name" "$sock")
		launch "$name" "$psock" "$BASELINE" -f -c "$conf" ;;
	esac
}

progress "starting the milters"
kinds=(null opendkim cachet-dkim cachet)
[ -n "$BASELINE" ] && kinds+=(baseline)
for kind in "${kinds[@]}"; do
	start_one "$kind-t" "$kind" t
	[ "$kind" = cachet-dkim ] || start_one "$kind-u" "$kind" u
done

# An smtpd service per milter, on its own port; idle processes stay (max_idle)
# so that no row starts Postfix processes the others had ready.
postconf -c "$PF_DIR" -e "max_idle = 3600s"
for inst in "${!INST_MILTER[@]}"; do
	port=$(free_port) || { INST_WHY[$inst]="no free port for its smtpd"; continue; }
	echo "127.0.0.1:$port inet n - n - - smtpd -o smtpd_milters=${INST_MILTER[$inst]}" \
		>>"$PF_DIR/master.cf"
	INST_PORT[$inst]=$port
done
pf postfix reload >/dev/null 2>&1
for inst in "${!INST_PORT[@]}"; do
	wait_until 10 port_listening "${INST_PORT[$inst]}" ||
		{ INST_WHY[$inst]="its smtpd does not listen"; unset "INST_PORT[$inst]"; }
done

# ---- rows ----
# A row: its instance (or "postfix" for none) and its TTL (which message).
# In measuring order: a milter's TTL rows together, the baseline after the
# build it is compared with.
rows=(postfix null-t null-u)
for t in t u; do
	rows+=("opendkim-$t:3600" "opendkim-$t:0")
	[ "$t" = t ] && rows+=("cachet-dkim-t:3600")
	rows+=("cachet-$t:3600" "cachet-$t:0")
	[ -n "$BASELINE" ] && rows+=("baseline-$t:3600" "baseline-$t:0")
done

inst_of() { echo "${1%%:*}"; }
ttl_of() { case $1 in *:*) echo "${1##*:}" ;; *) echo - ;; esac; }

sent_count() { grep -c 'status=sent' "$PF_LOG" 2>/dev/null; }

# cpu_ticks PID: user + system time of the process, all threads, in ticks
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null
}

# one_run SESSIONS COUNT TTL PORT -> "wall_seconds_until_delivered source_seconds"
one_run() {
	local s=$1 n=$2 ttl=$3 port=$4 base t0 t1 t2 done_at deadline
	base=$(sent_count)
	t0=$(date +%s.%N)
	"$SOURCE" -4 -s "$s" -m "$n" -M "${HELO[$ttl]}" -f "${FROM[$ttl]}" \
		-t rcpt@test.example -F "${MSG[$ttl]}" "127.0.0.1:$port" \
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
	else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# What one message sent now carries at the sink: the results of every
# Authentication-Results field, or the null filter's header.
seen_now() {
	local ttl=$1 PF_PORT=$2 f h r
	rm -f "$SINK_DIR"/m.*
	smtp_send "${MSG[$ttl]}" --from "${FROM[$ttl]}" --helo "${HELO[$ttl]}" >/dev/null 2>&1
	sink_wait 1 10 || { echo "none delivered"; return; }
	f=$(sink_files | head -n 1)
	h=$(sink_headers "$f")
	r=$(grep -i '^Authentication-Results:' <<<"$h" |
		grep -oE '(^|[[:space:];])(dkim|spf|dmarc)=[a-z]+' | tr -d ' \t;' |
		awk '!s[$0]++' | tr '\n' ' ')
	grep -qi '^X-Null-Milter: seen' <<<"$h" && r="${r}X-Null-Milter added"
	rm -f "$SINK_DIR"/m.*
	r=${r% }
	echo "${r:-no result}"
}

declare -A rates lats cpu_sum cpu_msgs seen
for round in $(seq 1 "$RUNS"); do
	# every other round backwards: no row always follows the same one
	order=("${rows[@]}")
	if [ $((round % 2)) = 0 ]; then
		order=()
		for ((i = ${#rows[@]} - 1; i >= 0; i--)); do order+=("${rows[$i]}"); done
	fi
	for row in "${order[@]}"; do
		inst=$(inst_of "$row")
		ttl=$(ttl_of "$row")
		[ "$ttl" = - ] && ttl=3600
		if [ "$inst" = postfix ]; then
			port=$PF_PORT
			pid=""
		elif [ -n "${INST_PORT[$inst]:-}" ]; then
			port=${INST_PORT[$inst]}
			pid=${INST_PID[$inst]}
		else
			seen[$row]=${INST_WHY[$inst]:-not started}
			continue
		fi
		progress "round $round/$RUNS: $row ($MSGS messages, $ONE in one session)"
		one_run "$SESSIONS" 20 "$ttl" "$port" >/dev/null	# warm-up: caches, processes
		[ "$round" = 1 ] && seen[$row]=$(seen_now "$ttl" "$port")
		c0=""
		[ -n "$pid" ] && c0=$(cpu_ticks "$pid")
		read -r w _ <<<"$(one_run "$SESSIONS" "$MSGS" "$ttl" "$port")"
		c1=""
		[ -n "$pid" ] && c1=$(cpu_ticks "$pid")
		if [ "$w" = n/a ]; then
			rates[$row]+=" n/a"
		else
			rates[$row]+=" $(awk -v n="$MSGS" -v w="$w" 'BEGIN { printf "%.1f", n / w }')"
			if [ -n "$c0" ] && [ -n "$c1" ]; then
				cpu_sum[$row]=$(( ${cpu_sum[$row]:-0} + c1 - c0 ))
				cpu_msgs[$row]=$(( ${cpu_msgs[$row]:-0} + MSGS ))
			fi
		fi
		read -r _ w <<<"$(one_run 1 "$ONE" "$ttl" "$port")"
		lats[$row]+=" $( [ "$w" = n/a ] && echo n/a ||
			awk -v n="$ONE" -v w="$w" 'BEGIN { printf "%.1f", w * 1000 / n }')"
	done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)

# ---- the table ----
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "n/a" || b == "n/a" || a == "" || b == "" || b + 0 == 0) print "-";
		else printf "%.2f\n", a / b }'
}
rate() { [ -n "${rates[$1]:-}" ] && median ${rates[$1]} || echo n/a; }
lat() { [ -n "${lats[$1]:-}" ] && median ${lats[$1]} || echo n/a; }
# milter CPU ms per message
cpu() {
	if [ -n "${cpu_msgs[$1]:-}" ] && [ "${cpu_msgs[$1]}" -gt 0 ]; then
		awk -v t="${cpu_sum[$1]}" -v n="${cpu_msgs[$1]}" -v hz="$HZ" \
			'BEGIN { printf "%.3f\n", t * 1000 / hz / n }'
	else
		echo n/a
	fi
}
label() {
	case $(inst_of "$1") in
	postfix) echo "Postfix alone (no milter)" ;;
	null-*) echo "+ null filter" ;;
	opendkim-*) echo "+ opendkim verify" ;;
	cachet-dkim-*) echo "+ cachet DKIM verify" ;;
	cachet-*) echo "+ cachet SPF+DMARC+DKIM" ;;
	baseline-*) echo "+ baseline SPF+DMARC+DKIM" ;;
	esac
}
sock_of() { case $(inst_of "$1") in *-t) echo tcp ;; *-u) echo unix ;; *) echo - ;; esac; }

echo "   $MSGS messages of $msg_bytes bytes per run, $SESSIONS sessions, median of $RUNS rounds"
echo "   (each round measures every row once, in the order below or its reverse);"
echo "   1-sess: $ONE messages over one session.  cpu: the milter process's user+system"
echo "   time per message over the throughput runs.  ttl: of every DNS record the row's"
echo "   message needs (3600: answers cached after the warm-up; 0: none can be)."
echo "   Postfix $(postconf -d -h mail_version 2>/dev/null), opendkim $(opendkim -V 2>/dev/null |
	awk 'NR == 1 { print $NF }'), $(nproc 2>/dev/null || echo n/a) cpus,"
echo "   load average $load_start at the start, $load_end at the end."
[ -n "$BASELINE" ] && echo "   baseline: $BASELINE"
printf '%-28s %-4s %4s %7s %6s %6s %6s %7s %7s %7s  %s\n' configuration sock ttl "msgs/s" \
	"/alone" "/null" "/odk" "1-sess" "cpu ms" "cpu/odk" "seen (msgs/s of each round)"
alone=$(rate postfix)
for row in "${rows[@]}"; do
	inst=$(inst_of "$row")
	s=$(sock_of "$row")
	ttl=$(ttl_of "$row")
	r=$(rate "$row")
	c=$(cpu "$row")
	vs_null=- vs_odk=- cpu_odk=-
	case $inst in
	opendkim-* | cachet-* | baseline-*) vs_null=$(ratio "$r" "$(rate "null-${inst##*-}")") ;;
	esac
	case $inst in
	cachet-* | baseline-*)
		odk="opendkim-${inst##*-}:$ttl"
		vs_odk=$(ratio "$r" "$(rate "$odk")")
		cpu_odk=$(ratio "$c" "$(cpu "$odk")") ;;
	esac
	[ "$inst" = postfix ] && c=-
	printf '%-28s %-4s %4s %7s %6s %6s %6s %7s %7s %7s  %s\n' "$(label "$row")" "$s" "$ttl" "$r" \
		"$(ratio "$r" "$alone")" "$vs_null" "$vs_odk" "$(lat "$row")" "$c" "$cpu_odk" \
		"${seen[$row]:--} (${rates[$row]:+${rates[$row]# }})"
done
echo "   /alone, /null, /odk: msgs/s over Postfix alone, the null filter on the same kind"
echo "   of socket, opendkim on the same socket and TTL; cpu/odk: cpu over opendkim's."
if [ -n "$BASELINE" ]; then
	echo "   cachet over the baseline (same socket, same TTL): msgs/s, 1-sess ms, cpu ms"
	for t in t u; do
		for ttl in 3600 0; do
			a="cachet-$t:$ttl" b="baseline-$t:$ttl"
			printf '     %-4s ttl %-4s  msgs/s %5s  1-sess %5s  cpu %5s\n' "$(sock_of "$a")" "$ttl" \
				"$(ratio "$(rate "$a")" "$(rate "$b")")" "$(ratio "$(lat "$a")" "$(lat "$b")")" \
				"$(ratio "$(cpu "$a")" "$(cpu "$b")")"
		done
	done
fi
# shellcheck disable=SC2034 # read by lib.sh's t_cleanup: never a failure
T_FAILED=0
exit 0
