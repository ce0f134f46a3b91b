# tests/integration/lib.sh — the integration-test harness of cachet.
#
# Sourced (". tests/integration/lib.sh") by every tests/integration/t_*.sh.
# It runs real parts on loopback, each test in its own temp dir $T
# (mktemp -d /tmp/ct.XXXXXX, short because of unix socket path limits):
# a Postfix instance with its own config dir and queue (never the system's
# /etc/postfix or /var/spool/postfix), smtp-sink as the next hop, NSD as an
# authoritative DNS server, and build/bin/cachet-milterd.  Ports are free
# loopback high ports chosen at run time.  Everything started is recorded
# and stopped by PID when the script exits, also on failure or interrupt
# (trap on EXIT/INT/TERM/HUP).  Must run as root (Postfix, NSD, sink).
#
# Limits: one instance of each daemon per test; Postfix cannot run
# chrooted here (master.cf sets chroot n everywhere).  Postfix only checks
# alternate_config_directories (in /etc/postfix/main.cf) for callers whose
# effective uid is not 0 (src/global/mail_conf.c and sendmail's -C), so as
# root "-c DIR" / "-C DIR" / MAIL_CONFIG=DIR work with no system edit.
#
# Output convention (tests/run.sh): one "ok - NAME" / "not ok - NAME" line
# per check, diagnostics as "# ..." lines, exit 0 iff all checks passed.
# Set CACHET_KEEP=1 to keep $T after the run (its path is printed).
#
# ---- Test flow ------------------------------------------------------------
#   t_setup                 make $T, install the cleanup trap.  Call first.
#   t_ok NAME / t_fail NAME [DIAG...]   record one check.
#   t_check NAME CMD...     ok if CMD succeeds, else not ok.
#   t_diag TEXT...          print TEXT (each line) as "# " lines.
#   t_diag_file FILE [N]    print the last N (20) lines of FILE as "# " lines.
#   t_done                  exit 0 if every check passed, else 1.
#   wait_until SECS CMD...  poll CMD every 0.1 s until it succeeds; 1 on timeout.
#   free_port               print a free loopback TCP+UDP port.
#   port_listening PORT     true if something accepts TCP on 127.0.0.1:PORT.
#   write_msg FILE [HEADER...]  write a small test message (LF endings) whose
#                           header block starts with the given HEADER lines,
#                           then From/To/Subject/Date/Message-ID, then a body.
#
# ---- DNS (NSD) -------------------------------------------------------------
#   start_dns [ZONE=]FILE...  NSD on 127.0.0.1:$DNS_PORT (UDP+TCP) serving
#                           each zone; ZONE defaults to the file's $ORIGIN.
#                           Own nsd.conf in $T/nsd; waits until it answers.
#   dns_query NAME TYPE     ask $DNS_PORT once over UDP; print "rcode=X" then
#                           one line per answer (A, AAAA, TXT, MX, CNAME, NS,
#                           PTR decoded, other types as hex).  Sets nothing.
#   Vars: DNS_PORT DNS_PID
#
# ---- Sink (smtp-sink) -------------------------------------------------------
#   start_sink [OPTS...]    smtp-sink on 127.0.0.1:$SINK_PORT; every mail
#                           transaction dumped to its own file in $SINK_DIR.
#                           OPTS go to smtp-sink (e.g. -r . to soft-reject).
#   sink_count              number of complete messages received.
#   sink_wait N [SECS]      wait (10 s) until at least N are there.
#   sink_files              the message files, oldest first.
#   sink_msg FILE           the message as delivered (sink's own X-*/
#                           Received prefix removed), LF endings.
#   sink_headers FILE       the header block of sink_msg, unfolded (one
#                           header per line).
#   sink_all_headers        sink_headers of every message, each followed
#                           by a line "--".
#   sink_file_with LINE     the first message file whose unfolded header
#                           block contains exactly LINE (e.g. "X-Case: 3").
#   ar_ids FILE             the authserv-id of every Authentication-Results
#                           header of a delivered message, in order,
#                           lowercased, comments and whitespace removed.
#   Vars: SINK_PORT SINK_DIR SINK_PID
#
# ---- Milter (build/bin/cachet-milterd) -----------------------------------
#   start_milter [LINE...]  write $MILTER_CONF (Socket inet:$MILTER_PORT@
#                           127.0.0.1, AuthservID mx.test.example, PidFile
#                           unless overridden by a LINE with the same key;
#                           plus every LINE), start it with -f, stderr to
#                           $MILTER_LOG (appended), wait until it listens.
#                           Reuses $MILTER_PORT if set (restart after stop).
#   stop_milter [-9]        TERM (or KILL) the milter and wait for it to go.
#   milter_alive            true if $MILTER_PID still runs.
#   milter_log_for QID      the milter's log line(s) for Postfix queue id QID.
#   Vars: MILTER_PORT MILTER_CONF MILTER_LOG MILTER_PID MILTER_BIN
#
# ---- Postfix -----------------------------------------------------------------
#   start_postfix [MAINCF_LINE...]  config dir $PF_DIR ($T/pf), queue $T/q,
#                           data $T/pd, smtpd on 127.0.0.1:$PF_PORT, all
#                           mail relayed to the sink, milters at
#                           $MILTER_PORT when it is set (pick it with
#                           MILTER_PORT=$(free_port) before start_postfix if
#                           the milter starts later), maillog $PF_LOG.
#                           Extra "name = value" lines are set in main.cf
#                           with postconf -e (they replace the defaults).
#                           Recipients must be in relay_domains (test.example,
#                           example.com) unless the client is in mynetworks.
#   stop_postfix            postfix stop, then kill leftovers.
#   pf CMD ARGS...          run a Postfix command on this instance
#                           (MAIL_CONFIG=$PF_DIR), e.g. pf postqueue -p.
#   smtp_send FILE [SWAKS_OPTS...]  send FILE with swaks to smtpd; full
#                           transcript in $SMTP_OUT; returns swaks' exit code.
#                           Default envelope sender@example.org ->
#                           rcpt@test.example (override with --from/--to).
#                           Add e.g. --xclient 'ADDR=203.0.113.5 LOGIN=alice'.
#   smtp_data_reply         the server's reply to the end of DATA in the
#                           last smtp_send (e.g. "250 2.0.0 Ok: queued as X").
#   smtp_queue_id           the Postfix queue id from that reply, if any.
#   inject FILE [SENDER [RCPT]]  Postfix sendmail -C $PF_DIR (pickup and
#                           non_smtpd_milters path).
#   deliver FILE LINE [SWAKS_OPTS...]  smtp_send FILE, wait until the sink
#                           has a message whose header has LINE, print its
#                           sink file (1 and a diagnostic if it never comes).
#   refeed SINKFILE TAG [SWAKS_OPTS...]  send a delivered message again (as
#                           the sink got it, with an unsigned "X-Pass: TAG"
#                           on top), by default as external client
#                           203.0.113.5 (--xclient ADDR=203.0.113.5); print
#                           the new sink file.
#   ar_ours FILE            our Authentication-Results fields ($AUTHSERV) of
#                           a delivered message, one per line, unfolded.
#   pf_queue_count          number of messages in any Postfix queue
#                           (maildrop, incoming, active, deferred, hold).
#   pf_flush                postqueue -f (pickup rescans maildrop each 1 s).
#   pf_log                  print the Postfix maillog.
#   pf_pids                 PIDs of the running processes of this instance.
#   Vars: PF_DIR PF_PORT PF_LOG PF_QUEUE
# ----------------------------------------------------------------------------

T=""
T_FAILED=0
T_COUNT=0
T_PIDS=()
REPO=$(pwd)
MILTER_BIN=${MILTER_BIN:-$REPO/build/bin/cachet-milterd}
PY=/usr/bin/python3
AUTHSERV=mx.test.example

t_setup() {
	if [ "$(id -u)" != 0 ]; then
		echo "# integration tests need root (Postfix, NSD, smtp-sink)"
		exit 1
	fi
	T=$(mktemp -d /tmp/ct.XXXXXX) || exit 1
	chmod 755 "$T"
	trap t_cleanup EXIT
	trap 'T_FAILED=$((T_FAILED + 1)); echo "# interrupted"; exit 130' INT
	trap 'T_FAILED=$((T_FAILED + 1)); echo "# terminated"; exit 143' TERM HUP
}

t_diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

t_diag_file() {
	[ -f "$1" ] || { t_diag "($1: no such file)"; return 0; }
	t_diag "--- tail of ${1#"$T"/} ---"
	tail -n "${2:-20}" "$1" | tr -d '\000' | sed 's/^/# /'
}

t_ok() {
	T_COUNT=$((T_COUNT + 1))
	echo "ok - $1"
}

t_fail() {
	local name=$1
	shift
	T_COUNT=$((T_COUNT + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok - $name"
	[ $# -gt 0 ] && t_diag "$@"
	return 0
}

t_check() {
	local name=$1
	shift
	if "$@"; then t_ok "$name"; else t_fail "$name" "failed: $*"; fi
}

t_done() {
	[ "$T_FAILED" -eq 0 ] && exit 0
	exit 1
}

# Print the log tails that explain a failure.
t_dump_logs() {
	local f
	for f in "$T"/milter.log "$T"/pf/maillog "$T"/sink.log "$T"/nsd/nsd.log; do
		[ -s "$f" ] && t_diag_file "$f" 25
	done
	[ -n "${SMTP_OUT:-}" ] && [ -s "$SMTP_OUT" ] && t_diag_file "$SMTP_OUT" 15
	return 0
}

# PIDs of processes that mention $T in their command line or environment
# (Postfix daemons only carry it in MAIL_CONFIG).  Excludes this shell.
t_leftover_pids() {
	local d pid
	local -a cmd env
	[ -n "$T" ] || return 0
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" = "$$" ] && continue
		# Read with bash builtins only: a grep/tr here would carry $T in
		# its own argv and find itself.
		cmd=() env=()
		{ mapfile -d '' cmd; } 2>/dev/null <"$d/cmdline"
		{ mapfile -d '' env; } 2>/dev/null <"$d/environ"
		if [[ " ${cmd[*]-} " == *"$T"* ]] || [[ " ${env[*]-} " == *" MAIL_CONFIG=$T/pf "* ]]; then
			[ -d "$d" ] && echo "$pid"
		fi
	done
}

# Stop one PID: TERM, wait up to SECS (3), then KILL.
t_kill_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 "$((${2:-3} * 10))"); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

t_cleanup() {
	local rc=$? pid left
	trap - EXIT INT TERM HUP
	[ -n "$T" ] || exit "$rc"
	[ "$rc" -ne 0 ] && [ "$T_FAILED" -eq 0 ] && T_FAILED=1
	[ "$T_FAILED" -ne 0 ] && t_dump_logs
	[ -n "${PF_DIR:-}" ] && [ -f "$PF_DIR/main.cf" ] && stop_postfix
	for pid in "${T_PIDS[@]}"; do
		t_kill_pid "$pid" 2
	done
	left=$(t_leftover_pids)
	if [ -n "$left" ]; then
		echo "# teardown: killing leftover processes: $(echo $left)"
		for pid in $left; do kill -KILL "$pid" 2>/dev/null; done
	fi
	if [ -n "${CACHET_KEEP:-}" ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
	[ "$T_FAILED" -ne 0 ] && [ "$rc" -eq 0 ] && rc=1
	exit "$rc"
}

wait_until() {
	local secs=$1 i
	shift
	for i in $(seq 1 "$((secs * 10))"); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# A port that is free for TCP and UDP on 127.0.0.1 right now.
free_port() {
	"$PY" - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randint(20000, 60999)
    socks = []
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            socks.append(s)
            s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(p)
    break
else:
    raise SystemExit("no free port")
EOF
}

port_listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

write_msg() {
	local f=$1
	shift
	{
		[ $# -gt 0 ] && printf '%s\n' "$@"
		printf '%s\n' \
			"From: Sender <sender@example.org>" \
			"To: Rcpt <rcpt@test.example>" \
			"Subject: cachet integration test" \
			"Date: Mon, 24 Nov 2025 10:00:00 +0000" \
			"Message-ID: <$(basename "$f").$$.$RANDOM@example.org>" \
			"" \
			"Hello." \
			"This is a test message."
	} >"$f"
}

# ---- DNS -------------------------------------------------------------------

start_dns() {
	local d=$T/nsd arg zone file
	mkdir -p "$d"
	DNS_PORT=$(free_port) || return 1
	cat >"$d/nsd.conf" <<EOF
server:
	ip-address: 127.0.0.1
	port: $DNS_PORT
	do-ip6: no
	server-count: 1
	username: ""
	chroot: ""
	zonesdir: "$d"
	database: ""
	zonelistfile: "$d/zone.list"
	xfrdfile: "$d/xfrd.state"
	xfrdir: "$d/xfr"
	pidfile: "$d/nsd.pid"
	logfile: "$d/nsd.log"
	cookie-secret-file: "$d/cookie.secret"
	verbosity: 1
	hide-version: yes
	# every query comes from 127.0.0.1: NSD's response rate limiting
	# (200/s by default) would drop answers and make lookups time out
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: no
EOF
	for arg in "$@"; do
		case $arg in
		*=*) zone=${arg%%=*}; file=${arg#*=} ;;
		*)
			file=$arg
			zone=$(sed -n 's/^\$ORIGIN[[:space:]]\{1,\}\([^[:space:];]*\).*/\1/p' "$file" | head -n 1)
			;;
		esac
		[ -n "$zone" ] || { t_diag "start_dns: no \$ORIGIN in $file"; return 1; }
		case $file in /*) ;; *) file=$REPO/$file ;; esac
		printf 'zone:\n\tname: "%s"\n\tzonefile: "%s"\n' "${zone%.}" "$file" >>"$d/nsd.conf"
	done
	if ! nsd-checkconf "$d/nsd.conf" >"$d/checkconf.out" 2>&1; then
		t_diag "nsd-checkconf failed:"
		t_diag_file "$d/checkconf.out"
		return 1
	fi
	/usr/sbin/nsd -d -c "$d/nsd.conf" >"$d/nsd.out" 2>&1 &
	DNS_PID=$!
	T_PIDS+=("$DNS_PID")
	if ! wait_until 10 dns_answers "$@"; then
		t_diag "NSD does not answer on port $DNS_PORT"
		t_diag_file "$d/nsd.log"
		t_diag_file "$d/nsd.out"
		return 1
	fi
}

# True once NSD answers an SOA query with rcode NOERROR for the first zone.
dns_answers() {
	local zone=${1%%=*}
	[ "$zone" = "$1" ] &&
		zone=$(sed -n 's/^\$ORIGIN[[:space:]]\{1,\}\([^[:space:];]*\).*/\1/p' "$1" | head -n 1)
	dns_query "$zone" SOA 2>/dev/null | grep -q '^rcode=NOERROR'
}

dns_query() {
	"$PY" - "$DNS_PORT" "$1" "$2" <<'EOF'
import random, socket, struct, sys
port, name, qtype = int(sys.argv[1]), sys.argv[2], sys.argv[3].upper()
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15,
         "TXT": 16, "AAAA": 28}
RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]
tnum = TYPES.get(qtype) or int(qtype.lstrip("TYPE"))
qid = random.randint(0, 65535)
q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
for label in name.rstrip(".").split("."):
    if label:
        q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack(">HH", tnum, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
s.sendto(q, ("127.0.0.1", port))
r = s.recv(65535)

def rname(off):
    labels, jumped, end = [], False, None
    while True:
        n = r[off]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | r[off + 1]
            continue
        off += 1
        if n == 0:
            break
        labels.append(r[off:off + n].decode("ascii", "replace"))
        off += n
    return ".".join(labels) + ".", (end if end is not None else off)

rid, flags, qd, an = struct.unpack(">HHHH", r[:8])
if rid != qid:
    raise SystemExit("id mismatch")
rc = flags & 0xF
print("rcode=" + (RCODES[rc] if rc < len(RCODES) else str(rc)))
off = 12
for _ in range(qd):
    _, off = rname(off)
    off += 4
for _ in range(an):
    _, off = rname(off)
    t, _, _, ln = struct.unpack(">HHIH", r[off:off + 10])
    off += 10
    rd = r[off:off + ln]
    if t == 1:
        out = socket.inet_ntop(socket.AF_INET, rd)
    elif t == 28:
        out = socket.inet_ntop(socket.AF_INET6, rd)
    elif t == 16:
        parts, i = [], 0
        while i < len(rd):
            parts.append(rd[i + 1:i + 1 + rd[i]].decode("utf-8", "replace"))
            i += 1 + rd[i]
        out = "".join(parts)
    elif t == 15:
        out = "%d %s" % (struct.unpack(">H", rd[:2])[0], rname(off + 2)[0])
    elif t in (2, 5, 12):
        out = rname(off)[0]
    else:
        out = rd.hex()
    inv = {v: k for k, v in TYPES.items()}
    print("%s %s" % (inv.get(t, "TYPE%d" % t), out))
    off += ln
EOF
}

# ---- Sink ------------------------------------------------------------------

start_sink() {
	SINK_DIR=$T/sink
	mkdir -p "$SINK_DIR"
	chown nobody "$SINK_DIR"
	SINK_PORT=$(free_port) || return 1
	# -u: smtp-sink refuses to keep root.  -d: one file per transaction,
	# named "m." + random hex; it is complete once the sink answered ".",
	# which is what sink_count checks (the file ends with the empty line
	# the dump format appends, and the sink has closed it).
	/usr/sbin/smtp-sink -u nobody -4 -h sink.test.example \
		-d "$SINK_DIR/m." "$@" "127.0.0.1:$SINK_PORT" 64 \
		>"$T/sink.log" 2>&1 &
	SINK_PID=$!
	T_PIDS+=("$SINK_PID")
	if ! wait_until 10 port_listening "$SINK_PORT"; then
		t_diag "smtp-sink does not listen on $SINK_PORT"
		t_diag_file "$T/sink.log"
		return 1
	fi
}

# Files the sink still holds open are incomplete transactions.
sink_open_files() {
	ls -l "/proc/$SINK_PID/fd" 2>/dev/null | grep -c -F "$SINK_DIR/"
}

sink_files() {
	ls -1tr "$SINK_DIR"/m.* 2>/dev/null
}

sink_count() {
	local n open
	n=$(sink_files | wc -l)
	open=$(sink_open_files)
	echo $((n - open))
}

sink_wait() {
	wait_until "${2:-10}" sink_has "$1"
}

sink_has() {
	[ "$(sink_count)" -ge "$1" ]
}

# The message as Postfix delivered it: drop the dump prefix (X-Client-Addr..
# X-Rcpt-Args and the sink's three-line Received header) and the empty
# line the dump format appends.
sink_msg() {
	tr -d '\r' <"$1" | awk '
		skip == 1 && /^[ \t]/ { next }
		skip == 1 { skip = 2 }
		skip == 0 && /^Received: / { skip = 1; next }
		skip == 0 { next }
		{ lines[n++] = $0 }
		END { if (n > 0 && lines[n - 1] == "") n--
		      for (i = 0; i < n; i++) print lines[i] }'
}

sink_headers() {
	sink_msg "$1" | awk '
		/^$/ { exit }
		/^[ \t]/ { cur = cur $0; next }
		{ if (started) print cur; cur = $0; started = 1 }
		END { if (started) print cur }'
}

sink_all_headers() {
	local f
	for f in $(sink_files); do
		sink_headers "$f"
		echo "--"
	done
}

sink_file_with() {
	local f
	for f in $(sink_files); do
		if sink_headers "$f" | grep -qxF -- "$1"; then
			echo "$f"
			return 0
		fi
	done
	return 1
}

ar_ids() {
	sink_headers "$1" | awk '
		tolower($0) ~ /^authentication-results[ \t]*:/ {
			v = substr($0, index($0, ":") + 1)
			while (gsub(/\([^()]*\)/, " ", v)) ;
			gsub(/^[ \t]+/, "", v)
			sub(/[ \t;].*$/, "", v)
			print tolower(v)
		}'
}

# ---- Milter ----------------------------------------------------------------

start_milter() {
	local line key
	[ -n "${MILTER_PORT:-}" ] || MILTER_PORT=$(free_port) || return 1
	MILTER_CONF=$T/milter.conf
	MILTER_LOG=$T/milter.log
	if [ ! -x "$MILTER_BIN" ]; then
		t_diag "milter binary $MILTER_BIN missing (make build/bin/cachet-milterd)"
		return 1
	fi
	{
		for key in Socket AuthservID PidFile TestDNSData; do
			printf '%s\n' "$@" | grep -qi "^$key[[:space:]]" && continue
			case $key in
			Socket) echo "Socket inet:$MILTER_PORT@127.0.0.1" ;;
			AuthservID) echo "AuthservID $AUTHSERV" ;;
			PidFile) echo "PidFile $T/milter.pid" ;;
			TestDNSData)
				# never the system resolver: tests stay on loopback
				printf '%s\n' "$@" | grep -qi "^Nameservers[[:space:]]" && continue
				: >"$T/empty.zone"
				echo "TestDNSData $T/empty.zone" ;;
			esac
		done
		for line in "$@"; do echo "$line"; done
	} >"$MILTER_CONF"
	"$MILTER_BIN" -c "$MILTER_CONF" -f 2>>"$MILTER_LOG" >>"$MILTER_LOG" &
	MILTER_PID=$!
	T_PIDS+=("$MILTER_PID")
	if ! wait_until 10 milter_ready; then
		t_diag "cachet-milterd does not listen on $MILTER_PORT"
		t_diag_file "$MILTER_LOG"
		return 1
	fi
}

milter_alive() {
	[ -n "${MILTER_PID:-}" ] && kill -0 "$MILTER_PID" 2>/dev/null
}

milter_ready() {
	milter_alive && port_listening "$MILTER_PORT"
}

milter_log_for() {
	grep -F ": $1: " "$MILTER_LOG"
}

stop_milter() {
	milter_alive || return 0
	if [ "${1:-}" = -9 ]; then
		kill -KILL "$MILTER_PID"
		wait "$MILTER_PID" 2>/dev/null
	else
		t_kill_pid "$MILTER_PID" 5
	fi
	return 0
}

# ---- Postfix ---------------------------------------------------------------

pf() {
	MAIL_CONFIG=$PF_DIR "$@"
}

start_postfix() {
	local line m=""
	PF_DIR=$T/pf
	PF_QUEUE=$T/q
	PF_LOG=$PF_DIR/maillog
	PF_PORT=$(free_port) || return 1
	mkdir -p "$PF_DIR" "$PF_QUEUE"
	[ -n "${MILTER_PORT:-}" ] && m="inet:127.0.0.1:$MILTER_PORT"
	[ -n "${SINK_PORT:-}" ] || { t_diag "start_postfix: start_sink first"; return 1; }
	cat >"$PF_DIR/main.cf" <<EOF
# generated by tests/integration/lib.sh
compatibility_level = 3.6
queue_directory = $PF_QUEUE
data_directory = $T/pd
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.example
mydomain = test.example
myorigin = test.example
mydestination =
relay_domains = test.example, example.com
local_recipient_maps =
local_transport = error:5.1.1 local delivery disabled in tests
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
relayhost = [127.0.0.1]:$SINK_PORT
default_transport = smtp:[127.0.0.1]:$SINK_PORT
relay_transport = smtp:[127.0.0.1]:$SINK_PORT
smtp_dns_support_level = disabled
smtpd_milters = $m
non_smtpd_milters = $m
milter_default_action = tempfail
smtpd_authorized_xclient_hosts = 127.0.0.0/8
maillog_file = $PF_LOG
maillog_file_prefixes = $T
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C
biff = no
append_dot_mydomain = no
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 0h
smtpd_banner = \$myhostname ESMTP
EOF
	for line in "$@"; do
		postconf -c "$PF_DIR" -e "$line" || { t_diag "bad main.cf line: $line"; return 1; }
	done
	cat >"$PF_DIR/master.cf" <<EOF
# generated by tests/integration/lib.sh; chroot n everywhere
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n       -       n       1       1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	# postfix start runs the same checks as postfix check, but its errors
	# go to syslog when stderr is not a tty (no /dev/log here): on failure
	# rerun the check under script(1) so its messages can be shown.
	if ! pf timeout 60 postfix start >"$T/pf-start.out" 2>&1; then
		t_diag "postfix start failed"
		script -qec "postfix -c $PF_DIR check" /dev/null >"$T/pf-check.out" 2>&1
		t_diag_file "$T/pf-check.out"
		t_diag_file "$PF_LOG"
		return 1
	fi
	if ! wait_until 10 port_listening "$PF_PORT"; then
		t_diag "Postfix smtpd does not listen on $PF_PORT"
		t_diag_file "$PF_LOG"
		return 1
	fi
}

pf_master_pid() {
	local p
	p=$({ tr -d ' ' <"$PF_QUEUE/pid/master.pid"; } 2>/dev/null) || return 1
	[ -n "$p" ] && echo "$p"
}

# postfix stop waits for master; the timeout guards against a wedged
# instance (seen once: postlogd blocked logging to its own socket, and every
# daemon blocked logging to it), after which every process of the instance
# is killed.
stop_postfix() {
	local mp pid
	mp=$(pf_master_pid)
	if [ -n "$mp" ] && kill -0 "$mp" 2>/dev/null; then
		pf timeout 10 postfix stop >>"$T/pf-stop.out" 2>&1
		wait_until 5 eval "! kill -0 $mp 2>/dev/null"
	fi
	for pid in $(pf_pids); do
		t_diag "stop_postfix: killing wedged Postfix process $pid ($(cat "/proc/$pid/comm" 2>/dev/null))"
		kill -KILL "$pid" 2>/dev/null
	done
	return 0
}

SMTP_N=0
smtp_send() {
	local f=$1
	shift
	SMTP_N=$((SMTP_N + 1))
	SMTP_OUT=$T/swaks.$SMTP_N.out
	local from=sender@example.org to=rcpt@test.example a
	for a in "$@"; do
		case $a in --from | -f) from="" ;; --to | -t) to="" ;; esac
	done
	swaks --server "127.0.0.1:$PF_PORT" --helo client.example.org \
		--data "$f" ${from:+--from "$from"} ${to:+--to "$to"} \
		--timeout 30 "$@" >"$SMTP_OUT" 2>&1
}

smtp_data_reply() {
	awk '
		/^ -> \.$/ || /^ -> \.\r$/ { after = 1; next }
		after && /^(<-|<\*\*) / { sub(/^(<-|<\*\*) +/, ""); print; exit }' "$SMTP_OUT"
}

smtp_queue_id() {
	smtp_data_reply | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p'
}

deliver() {
	local f=$1 line=$2
	shift 2
	if ! smtp_send "$f" "$@"; then
		t_diag "send $f: $(smtp_data_reply)"
		return 1
	fi
	wait_until 10 sink_file_with "$line" >/dev/null || {
		t_diag "no message with \"$line\" at the sink"
		return 1
	}
	sink_file_with "$line"
}

refeed() {
	local src=$1 tag=$2
	shift 2
	[ -n "$src" ] || return 1
	{ echo "X-Pass: $tag"; sink_msg "$src"; } >"$T/$tag.eml"
	[ $# -gt 0 ] || set -- --xclient "ADDR=203.0.113.5"
	deliver "$T/$tag.eml" "X-Pass: $tag" "$@"
}

ar_ours() {
	sink_headers "$1" | grep -i "^Authentication-Results:[[:space:]]*${AUTHSERV}[[:space:]]*;"
}

inject() {
	/usr/sbin/sendmail -C "$PF_DIR" -i -f "${2:-sender@example.org}" \
		"${3:-rcpt@test.example}" <"$1"
}

pf_queue_count() {
	pf postqueue -j 2>/dev/null | grep -c '"queue_id"'
}

# maildrop needs no kick: pickup wakes up every second (master.cf).
pf_flush() {
	pf postqueue -f
}

pf_pids() {
	local d
	local -a env
	for d in /proc/[0-9]*; do
		env=()
		{ mapfile -d '' env; } 2>/dev/null <"$d/environ"
		[[ " ${env[*]-} " == *" MAIL_CONFIG=$PF_DIR "* ]] && [ -d "$d" ] &&
			echo "${d#/proc/}"
	done
	return 0
}

pf_log() {
	cat "$PF_LOG" 2>/dev/null
}
