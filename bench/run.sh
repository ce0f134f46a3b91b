#!/usr/bin/env bash
# Runs cachet's benchmarks and their peers in the same run, and prints the
# figures with their ratios.  Never passes or fails: it exits 0 whatever it
# measured, and prints "n/a" where a peer or a figure is missing.
#
# DKIM: generates an RSA-2048 and an Ed25519 key in a temporary directory,
# measures raw public-key and SHA-256 rates with `openssl speed`, then runs
# $BUILD/bench/dkim_bench (verify and sign per message, 4 KB and 100 KB)
# and prints ops/s next to the raw crypto rates.  See bench/README.md.
#
# Environment: BUILD (default build), BENCH_SECONDS (per figure, default 2),
# BENCH_SIZES (dkim_bench -s list, default 4k,100k).  A whole run takes
# about 25 * BENCH_SECONDS + 15 s.  Progress lines go to
# stdout only when it is a terminal.
set -u

BUILD=${BUILD:-build}
SECS=${BENCH_SECONDS:-2}
# openssl speed takes whole seconds only.
if ! [[ $SECS =~ ^[1-9][0-9]{0,3}$ ]]; then
	echo "bench: BENCH_SECONDS='$SECS' is not a whole number of seconds (1-9999); using 2"
	SECS=2
fi
SIZES=${BENCH_SIZES:-4k,100k}
DKIM_BENCH=$BUILD/bench/dkim_bench

progress() { if [ -t 1 ]; then printf '.. %s\n' "$*"; fi; }

# A positive decimal number, or "n/a".
num_or_na() {
	if [[ ${1-} =~ ^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$ ]]; then
		printf '%s\n' "$1"
	else
		printf 'n/a\n'
	fi
}

# "4k,100k" -> "4096 102400", the sizes dkim_bench reports.
size_bytes() {
	local s out=""
	for s in ${1//,/ }; do
		case $s in
		*[kK]) out="$out $(( ${s%[kK]} * 1024 ))" ;;
		*) out="$out $s" ;;
		esac
	done
	printf '%s\n' "$out"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cachet-bench.XXXXXX") || { echo "bench: no temp dir"; exit 0; }
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

have_openssl=0
command -v openssl >/dev/null 2>&1 && have_openssl=1

echo "== machine"
echo "cpus (nproc):   $(nproc 2>/dev/null || echo n/a)"
model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
echo "cpu model:      ${model:-n/a}"
echo "kernel:         $(uname -sr)"
if [ "$have_openssl" = 1 ]; then
	v=$(openssl version 2>/dev/null)
	echo "openssl:        ${v:-n/a (openssl version failed)}"
else
	echo "openssl:        n/a (no openssl command)"
fi
echo "load average:   $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a) (other work on the machine skews every figure)"
echo "per figure:     $SECS s, one thread"

# ---- keys: dkim_bench gets the PEM file and the DNS record text ----
keys=()
if [ "$have_openssl" = 1 ]; then
	progress "generating keys"
	if openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$tmp/rsa2048.pem" 2>/dev/null; then
		p=$(openssl pkey -in "$tmp/rsa2048.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
		echo "v=DKIM1; k=rsa; p=$p" >"$tmp/rsa2048.txt"
		keys+=(rsa2048 "$tmp/rsa2048.pem" "@$tmp/rsa2048.txt")
	fi
	# RFC 8463 4.2: p= is the raw 32-byte key, the end of the SPKI DER.
	if openssl genpkey -algorithm ED25519 -out "$tmp/ed25519.pem" 2>/dev/null; then
		p=$(openssl pkey -in "$tmp/ed25519.pem" -pubout -outform DER 2>/dev/null |
			tail -c 32 | base64 -w0)
		echo "v=DKIM1; k=ed25519; p=$p" >"$tmp/ed25519.txt"
		keys+=(ed25519 "$tmp/ed25519.pem" "@$tmp/ed25519.txt")
	fi
fi

# ---- peers: openssl speed, machine-readable (-mr) output ----
# Lines "key op ops/s" and "sha256 SIZE bytes/s" in $tmp/peers.
: >"$tmp/peers"
if [ "$have_openssl" = 1 ]; then
	progress "openssl speed rsa2048 ed25519 (~$(( SECS * 4 )) s)"
	openssl speed -mr -seconds "$SECS" rsa2048 ed25519 >"$tmp/speed_pk" 2>/dev/null
	# +F2:index:bits:sign/s:verify/s and +F6:index:bits:name:sign/s:verify/s
	awk -F: '$1 == "+F2" && $3 == 2048 { print "rsa2048 sign " $4; print "rsa2048 verify " $5 }
		 $1 == "+F6" && $4 == "Ed25519" { print "ed25519 sign " $5; print "ed25519 verify " $6 }' \
		"$tmp/speed_pk" >>"$tmp/peers"
	for size in $(size_bytes "$SIZES"); do
		progress "openssl speed -bytes $size sha256 (~$SECS s)"
		openssl speed -mr -seconds "$SECS" -bytes "$size" sha256 >"$tmp/speed_sha" 2>/dev/null
		# +F:index:sha256:bytes/s (one value per -bytes size)
		awk -F: -v size="$size" '$1 == "+F" && $3 == "sha256" { print "sha256 " size " " $NF; exit }' \
			"$tmp/speed_sha" >>"$tmp/peers"
	done
fi

peer() {
	num_or_na "$(awk -v k="$1" -v o="$2" '$1 == k && $2 == o { print $3; exit }' "$tmp/peers")"
}

# ---- cachet ----
: >"$tmp/cachet"
if [ ! -x "$DKIM_BENCH" ]; then
	echo "dkim_bench: n/a ($DKIM_BENCH not built)"
elif [ ${#keys[@]} -eq 0 ]; then
	echo "dkim_bench: n/a (no keys: openssl could not make them)"
else
	n_keys=$(( ${#keys[@]} / 3 ))
	n_sizes=$(size_bytes "$SIZES" | wc -w)
	est=$(awk -v s="$SECS" -v k="$n_keys" -v z="$n_sizes" \
		'BEGIN { printf "%d", (s + 0.3) * (z + k * (5 + 2 * z)) }')
	progress "dkim_bench (~$est s)"
	if ! "$DKIM_BENCH" -t "$SECS" -s "$SIZES" "${keys[@]}" >"$tmp/cachet" 2>"$tmp/cachet.err"; then
		echo "dkim_bench failed: $(head -c 500 "$tmp/cachet.err")"
	fi
fi

cachet() {	# op key size field(7 ops/s, 8 us/op, 10 share)
	num_or_na "$(awk -F'\t' -v op="$1" -v k="$2" -v s="$3" -v f="$4" \
		'$1 == op && $2 == k && $3 == s { print $f; exit }' "$tmp/cachet")"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.3f\n", a / b }'
}

size_label() {
	awk -v s="$1" 'BEGIN { if (s % 1024 == 0) printf "%d KB\n", s / 1024; else printf "%d B\n", s }'
}

fmt() {	# value printf-format
	if [ "$1" = n/a ]; then printf 'n/a\n'; else awk -v v="$1" -v f="$2" 'BEGIN { printf f "\n", v }'; fi
}

pct() {
	if [ "$1" = n/a ]; then printf 'n/a\n'; else awk -v v="$1" 'BEGIN { printf "%.0f%%\n", v * 100 }'; fi
}

labels=()
for (( i = 0; i < ${#keys[@]}; i += 3 )); do labels+=("${keys[i]}"); done
[ ${#labels[@]} -gt 0 ] || labels=(rsa2048 ed25519)

echo
echo "== DKIM per message, one thread (rates per CPU-second, as openssl speed counts)"
echo "   raw = openssl speed for the same key operation; cachet/raw = share of the raw rate kept"
printf '%-7s %-8s %-10s %11s %9s %7s %11s %10s\n' \
	size key op "cachet/s" "us/op" crypto "raw/s" cachet/raw
for size in $(size_bytes "$SIZES"); do
	for key in "${labels[@]}"; do
		for op in verify verify-new sign; do
			ops=$(cachet "$op" "$key" "$size" 7)
			us=$(cachet "$op" "$key" "$size" 8)
			share=$(cachet "$op" "$key" "$size" 10)
			raw=$(peer "$key" "${op%-new}")
			printf '%-7s %-8s %-10s %11s %9s %7s %11s %10s\n' \
				"$(size_label "$size")" "$key" "$op" "$(fmt "$ops" '%.0f')" \
				"$(fmt "$us" '%.1f')" "$(pct "$share")" \
				"$(fmt "$raw" '%.0f')" "$(ratio "$ops" "$raw")"
		done
	done
done
echo "   crypto = the share of cachet's time per message spent in the public-key"
echo "   operation itself (measured in-process as lib/dkim_crypto.c calls it);"
echo "   verify = a sender seen before (its key record from the cache of parsed"
echo "   keys), verify-new = the first message of a sender (the record parsed)"

echo
echo "== DKIM pieces (us per operation; in-process vs openssl speed)"
printf '%-8s %-14s %9s %9s %10s\n' key piece "us/op" "raw us/op" raw/cachet
for key in "${labels[@]}"; do
	for op in sign verify; do
		us=$(cachet "crypto-$op" "$key" 0 8)
		raw=$(peer "$key" "$op")
		raw_us=n/a
		[ "$raw" = n/a ] || raw_us=$(awk -v r="$raw" 'BEGIN { printf "%.1f", 1e6 / r }')
		printf '%-8s %-14s %9s %9s %10s\n' "$key" "crypto-$op" "$(fmt "$us" '%.1f')" \
			"$raw_us" "$(ratio "$raw_us" "$us")"
	done
	for op in key-parse sig-parse header-hash; do
		printf '%-8s %-14s %9s %9s %10s\n' "$key" "$op" \
			"$(fmt "$(cachet "$op" "$key" 0 8)" '%.1f')" - -
	done
done

echo
echo "== body hash: relaxed canonicalization + SHA-256 vs SHA-256 alone (MB/s, 10^6 bytes)"
echo "   sha256 raw = the same body in one EVP_Digest, timed in the same process in rounds"
echo "   alternating with cachet's; openssl speed = the same hash over blocks of the size"
printf '%-7s %11s %11s %10s %14s\n' size cachet "sha256 raw" cachet/raw "openssl speed"
for size in $(size_bytes "$SIZES"); do
	mbs=n/a raw_mbs=n/a speed_mbs=n/a
	ops=$(cachet bodyhash relaxed "$size" 7)
	[ "$ops" = n/a ] || mbs=$(awk -v o="$ops" -v s="$size" 'BEGIN { printf "%.1f", o * s / 1e6 }')
	ops=$(cachet sha256 raw "$size" 7)
	[ "$ops" = n/a ] || raw_mbs=$(awk -v o="$ops" -v s="$size" 'BEGIN { printf "%.1f", o * s / 1e6 }')
	speed=$(peer sha256 "$size")
	[ "$speed" = n/a ] || speed_mbs=$(awk -v r="$speed" 'BEGIN { printf "%.1f", r / 1e6 }')
	printf '%-7s %11s %11s %10s %14s\n' "$(size_label "$size")" "$mbs" "$raw_mbs" \
		"$(ratio "$mbs" "$raw_mbs")" "$speed_mbs"
done
# ---- cachet-policyd: policy requests per second, 50 kept-open connections ----
# $BUILD/bench/policyd_bench speaks the policy protocol (RCPT and
# END-OF-MESSAGE requests, 1000 SASL users, 3 rules) against a running
# cachet-policyd: with the embedded memory store and no StateFile, with a
# StateFile and its journal (the default), with a StateFile and Journal no,
# then with a redis-server started here (own dir, loopback, stopped by
# PID).  No peer policy server is installed to compare with; the rows are
# each other's peers (the journal's price; the price of sharing counters
# between MX hosts).  Besides the client's figures, each row has the
# server's CPU time per request (utime + stime from /proc, over the run):
# requests/s on a core of its own is about 1e6 / that.  The memory and
# redis stores have a second row at a fixed offered rate (open loop,
# policyd_bench -r; BENCH_POLICYD_RATE, 50000/s, and
# BENCH_POLICYD_REDIS_RATE, 20000/s): the latency at that
# load, where the closed-loop rows give the most requests a second and a
# latency that is only connections / (requests per second).  See
# bench/README.md.
POLICYD=$BUILD/bin/cachet-policyd
POLICYD_BENCH=$BUILD/bench/policyd_bench
PB_CONNS=${BENCH_POLICYD_CONNS:-50}
# The load generator's threads, sharing the connections with epoll
# (policyd_bench -T): by default as many as the CPUs beside the daemon's
# one loop, at most 2 (1 on 2 CPUs).  More leave more busy threads than
# CPUs, and the figures become the generator's: on 2 CPUs, one blocking
# thread per connection cost more CPU per request than the daemon and
# raised the daemon's own (closed TCP 39-47k req/s at 19-24 us/req,
# against 59-65k at 15-17 us/req with one epoll thread, runs alternating),
# and two epoll threads took the open rows' p99 at 50,000/s over TCP to
# 1.8-19 ms (0.4-2.1 ms with one; December 2026).  BENCH_POLICYD_THREADS=N
# sets N; 0 gives the closed rows one blocking thread per connection (the
# open rows need -T and keep the default).
pb_auto_threads=$(( $(nproc) - 1 ))
[ "$pb_auto_threads" -ge 1 ] || pb_auto_threads=1
[ "$pb_auto_threads" -le 2 ] || pb_auto_threads=2
PB_THREADS=${BENCH_POLICYD_THREADS:-$pb_auto_threads}
# the open-loop rows: requests a second offered over the PB_CONNS connections
PB_RATE=${BENCH_POLICYD_RATE:-50000}
# Redis's open-loop row: a rate its closed-loop row shows it takes here
# (about 30,000/s on 2 CPUs), so its latency is that of a loaded server,
# not of a backlog
PB_REDIS_RATE=${BENCH_POLICYD_REDIS_RATE:-20000}
# an open-loop row at a rate that leaves the daemon idle: the machine's floor
PB_FLOOR_RATE=${BENCH_POLICYD_FLOOR_RATE:-2000}
PB_RATE_THREADS=$PB_THREADS
[ "$PB_RATE_THREADS" -gt 0 ] 2>/dev/null || PB_RATE_THREADS=$pb_auto_threads
pb_pids=()
pb_cleanup() { local p; for p in "${pb_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; pb_pids=(); }
trap 'pb_cleanup; rm -rf "$tmp"' EXIT

pb_port() {	# a free loopback TCP port
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pb_wait_port() {
	local i
	for i in $(seq 1 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# CPU ticks (utime + stime) of a process
pb_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# A unix socket (the socket file exists once the server listens).
pb_wait_unix() {
	local i
	for i in $(seq 1 50); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# pb_run LABEL SOCK RATE STORE [LINES...]: start cachet-policyd with STORE
# (and the extra configuration lines) on SOCK (tcp: 127.0.0.1 and a free
# port; unix: a socket file, as `check_policy_service unix:` uses), run the
# load (RATE "closed": each connection's next request as soon as its reply
# is in; a number: that many requests a second offered), print a row
pb_run() {
	local label=$1 sock=$2 rate=$3 store=$4 out pid t0 t1 where addr ready
	shift 4
	if [ "$sock" = unix ]; then
		where="$tmp/policyd-$label-$rate.sock"
		addr=(-S "$where") ready=(pb_wait_unix "$where")
		where="unix:$where"
	else
		where=$(pb_port)
		addr=(-p "$where") ready=(pb_wait_port "$where")
		where="inet:$where@127.0.0.1"
	fi
	mkdir -p "$tmp/state-$label"
	{
		echo "Socket $where"
		cat <<PBEOF
AllowRoot yes
Syslog no
RateLimitStore $store
MaxConnections 1000
Limit user key=sasl_username messages=100/1m recipients=500/1h action=defer only=authenticated
Limit net key=client_address/24 messages=1000/1h action=defer
Limit daily key=sender messages=5000/1d action=hold
PBEOF
		printf '%s\n' "$@"
	} >"$tmp/policyd-$label.conf"
	"$POLICYD" -c "$tmp/policyd-$label.conf" -f 2>"$tmp/policyd-$label.log" &
	pid=$!
	pb_pids+=("$pid")
	if ! "${ready[@]}"; then
		printf '%-9s %s\n' "$label" "n/a (cachet-policyd did not start: $(head -c 200 "$tmp/policyd-$label.log"))"
		return
	fi
	progress "policyd_bench $label (~$SECS s)"
	t0=$(pb_ticks "$pid")
	local topt=()
	if [ "$rate" != closed ]; then
		topt=(-T "$PB_RATE_THREADS" -r "$rate")
	elif [ "$PB_THREADS" -gt 0 ] 2>/dev/null; then
		topt=(-T "$PB_THREADS")
	fi
	out=$("$POLICYD_BENCH" "${addr[@]}" -c "$PB_CONNS" -t "$SECS" "${topt[@]}" 2>&1)
	t1=$(pb_ticks "$pid")
	awk -v l="$label" -v so="$sock" -v r="$rate" -v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" \
		'/^conns/ { us = $4 > 0 ? (t1 - t0) / hz * 1e6 / $4 : 0
			    row = sprintf("%-9s %4s %8s %5s %9s %9s %9s %9s %7s %11.1f", l, so, r, $2, $6,
					  $8, $10, $12, $14, us); f = 1 }
		/^short/ { short = 1 }
		END { if (!f) printf "%-9s %4s %8s n/a\n", l, so, r
		      else print row (short ? "  short: the rate offered was not met" : "") }' <<<"$out"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset 'pb_pids[-1]'
}

echo
echo "== cachet-policyd: policy requests, $PB_CONNS kept-open connections, $SECS s each," \
	"load threads: $([ "$PB_THREADS" -gt 0 ] 2>/dev/null && echo "$PB_THREADS (epoll)" || echo "one per connection")"
echo "   (load average at start: $(cut -d' ' -f1-3 /proc/loadavg))"
if [ ! -x "$POLICYD" ] || [ ! -x "$POLICYD_BENCH" ]; then
	echo "n/a ($POLICYD or $POLICYD_BENCH not built)"
else
	printf '%-9s %4s %8s %5s %9s %9s %9s %9s %7s %11s\n' store sock load conns "req/s" "p50 us" \
		"p99 us" "max us" errors "srv us/req"
	pb_run memory tcp closed memory
	pb_run memory tcp "$PB_RATE" memory
	pb_run memory unix closed memory
	pb_run memory unix "$PB_RATE" memory
	# the floor: at this rate the daemon is idle between requests, so the
	# latency is mostly the machine waking its threads (a VM's idle CPUs)
	pb_run memory unix "$PB_FLOOR_RATE" memory
	pb_run journal tcp closed memory "StateFile $tmp/state-journal/p.state" "Journal yes"
	pb_run nojournal tcp closed memory "StateFile $tmp/state-nojournal/p.state" "Journal no"
	if command -v redis-server >/dev/null 2>&1; then
		rport=$(pb_port)
		mkdir -p "$tmp/redis"
		redis-server --port "$rport" --bind 127.0.0.1 --dir "$tmp/redis" --save "" \
			--appendonly no --protected-mode no --logfile "$tmp/redis/log" &
		pb_pids+=("$!")
		if pb_wait_port "$rport"; then
			pb_run redis tcp closed "redis://127.0.0.1:$rport/0"
			pb_run redis tcp "$PB_REDIS_RATE" "redis://127.0.0.1:$rport/0"
		else
			printf '%-9s n/a (redis-server did not start)\n' redis
		fi
		pb_cleanup
	else
		printf '%-9s n/a (no redis-server)\n' redis
	fi
	echo "   load: closed = each connection sends its next request when its reply is in"
	echo "   (the most the server does; latency = conns / req/s); a number = that many"
	echo "   requests/s offered on a schedule ($PB_RATE_THREADS epoll thread(s)), latency from each"
	echo "   request's due time (a late reply delays the next request, and that counts)"
	echo "   one cachet-policyd process (one event loop); the load generator runs on"
	echo "   the same machine and takes CPU from it; journal and nojournal have a"
	echo "   StateFile (SnapshotInterval 60s), memory has none.  sock: the policy"
	echo "   client's connections, TCP to 127.0.0.1 or a unix socket (Postfix's"
	echo "   check_policy_service inet: or unix:)"
fi

# ---- SPF / DMARC / DKIM through the pipeline, with DNS three ways ----
# $BUILD/bench/auth_bench drives the real pipeline (production check table)
# over one signed inbound message, SPF only and all checks, against: the
# zone in memory (TestDNSData), a loopback NSD after warm-up (libunbound's
# cache answers), and a second NSD whose records have TTL 0 (the server
# answers every lookup; its query count is printed to show it).  Peer:
# libspf2's own evaluation.  Its resolver modes need resolv.conf to name
# the loopback NSD, so as root the section runs in a network namespace
# with its own /etc/netns/NAME/resolv.conf (both removed at exit), NSD on
# port 53 there; otherwise those peer figures are n/a.
AUTH_BENCH=$BUILD/bench/auth_bench
ab_ns=""
ab_netns_dir_made=0
ab_pids=()
ab_cleanup() {
	local p
	for p in "${ab_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ab_pids=()
	if [ -n "$ab_ns" ]; then
		ip netns del "$ab_ns" 2>/dev/null
		rm -rf "/etc/netns/$ab_ns"
		[ "$ab_netns_dir_made" = 1 ] && rmdir /etc/netns 2>/dev/null
		ab_ns=""
	fi
}
trap 'ab_cleanup; pb_cleanup; rm -rf "$tmp"' EXIT

ab_run() { if [ -n "$ab_ns" ]; then ip netns exec "$ab_ns" "$@"; else "$@"; fi; }

# ab_nsd NAME PORT ZONEFILE: start NSD (loopback, own dir), wait until it answers
ab_nsd() {
	local d=$tmp/auth/$1 i
	mkdir -p "$d"
	cat >"$d/nsd.conf" <<ABEOF
server:
	ip-address: 127.0.0.1
	port: $2
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
	verbosity: 0
	hide-version: yes
	# NSD's response rate limiting (200 answers/s per /24 by default) would
	# drop most answers to one loopback client; off, as for a local resolver.
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: yes
	control-interface: "$d/nsd.ctl"
zone:
	name: "bench.example"
	zonefile: "$3"
zone:
	name: "example"
	zonefile: "$d/parent.zone"
ABEOF
	# The parent, empty: DMARC's tree walk asks for _dmarc.example, which
	# must be "no such name" (cacheable for the zone's TTL), as on the
	# internet, not REFUSED (a temporary failure, asked again every time).
	local ttl
	ttl=$(awk '$1 == "$TTL" { print $2; exit }' "$3")
	cat >"$d/parent.zone" <<ABEOF
\$ORIGIN example.
\$TTL ${ttl:-0}
@	IN	SOA	ns.example. hostmaster.example. 1 3600 600 86400 ${ttl:-0}
@	IN	NS	ns.example.
ns	IN	A	127.0.0.1
ABEOF
	# Not through ab_run: $! must be NSD itself (ip netns exec execs it),
	# not a subshell, so that stopping it by PID stops NSD.
	if [ -n "$ab_ns" ]; then
		ip netns exec "$ab_ns" /usr/sbin/nsd -d -c "$d/nsd.conf" >"$d/nsd.out" 2>&1 &
	else
		/usr/sbin/nsd -d -c "$d/nsd.conf" >"$d/nsd.out" 2>&1 &
	fi
	ab_pids+=("$!")
	for i in $(seq 1 50); do
		ab_queries "$1" >/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ab_queries NAME: queries NSD NAME has answered so far
ab_queries() {
	local n
	n=$(ab_run nsd-control -c "$tmp/auth/$1/nsd.conf" stats_noreset 2>/dev/null |
		awk -F= '$1 == "num.queries" { print $2 }')
	[ -n "$n" ] && printf '%s\n' "$n"
}

ab_row() {	# impl checks dns -> "msgs/s us_wall us_cpu"
	awk -F'\t' -v i="$1" -v c="$2" -v d="$3" \
		'$1 == i && $2 == c && $3 == d { print $7, $9, $8; f = 1; exit }
		 END { if (!f) print "n/a n/a n/a" }' "$tmp/auth/out"
}

echo
echo "== SPF, DMARC, DKIM per message through the pipeline, one thread, $SECS s each"
ab_port=53 ab_port0=5300
if [ ! -x "$AUTH_BENCH" ]; then
	echo "n/a ($AUTH_BENCH not built)"
elif [ ! -f "$tmp/rsa2048.pem" ]; then
	echo "n/a (no RSA key: openssl could not make it)"
else
	mkdir -p "$tmp/auth"
	: >"$tmp/auth/out"
	"$AUTH_BENCH" zone 3600 "@$tmp/rsa2048.txt" >"$tmp/auth/zone.3600"
	"$AUTH_BENCH" zone 0 "@$tmp/rsa2048.txt" >"$tmp/auth/zone.0"
	ab_why=""
	if [ "$(id -u)" != 0 ]; then
		ab_why="not root: no network namespace for the C library's resolver"
	elif ! command -v ip >/dev/null 2>&1; then
		ab_why="no ip command: no network namespace"
	else
		[ -d /etc/netns ] || ab_netns_dir_made=1
		ab_ns=cachet-bench-$$
		if mkdir -p "/etc/netns/$ab_ns" &&
			echo "nameserver 127.0.0.1" >"/etc/netns/$ab_ns/resolv.conf" &&
			ip netns add "$ab_ns" 2>"$tmp/auth/netns.err" &&
			ip netns exec "$ab_ns" ip link set lo up 2>>"$tmp/auth/netns.err"; then
			:
		else
			ab_why="network namespace: $(head -c 200 "$tmp/auth/netns.err")"
			ab_cleanup
		fi
	fi
	if [ -z "$ab_ns" ]; then
		ab_port=$(pb_port) ab_port0=$(pb_port)
	fi
	ab_r=()
	if ! command -v nsd >/dev/null 2>&1 && [ ! -x /usr/sbin/nsd ]; then
		ab_why=${ab_why:-no NSD}
		echo "   cached/server rows n/a: NSD is not installed"
		ab_cached=() ab_server=""
	elif ! ab_nsd cached "$ab_port" "$tmp/auth/zone.3600" ||
		! ab_nsd server "$ab_port0" "$tmp/auth/zone.0"; then
		echo "   cached/server rows n/a: NSD did not start: $(head -c 200 "$tmp/auth"/*/nsd.log 2>/dev/null)"
		ab_cached=() ab_server=""
	else
		ab_cached=(-c "127.0.0.1@$ab_port")
		ab_server="127.0.0.1@$ab_port0"
		[ -n "$ab_ns" ] && ab_r=(-r)
	fi
	progress "auth_bench zone/cached (~$(( 7 * SECS + 3 )) s)"
	ab_run "$AUTH_BENCH" run -t "$SECS" -k "$tmp/rsa2048.pem" -z "$tmp/auth/zone.3600" \
		"${ab_cached[@]}" "${ab_r[@]}" >>"$tmp/auth/out" 2>"$tmp/auth/err" ||
		echo "   auth_bench failed: $(head -c 300 "$tmp/auth/err")"
	declare -A ab_qpm=()
	if [ -n "$ab_server" ]; then
		for c in spf all; do
			progress "auth_bench $c server (~$(( SECS + 1 )) s)"
			q0=$(ab_queries server)
			ab_run "$AUTH_BENCH" run -t "$SECS" -k "$tmp/rsa2048.pem" -u "$ab_server" \
				-C "$c" -n >"$tmp/auth/out.$c" 2>"$tmp/auth/err" ||
				echo "   auth_bench $c server failed: $(head -c 300 "$tmp/auth/err")"
			q1=$(ab_queries server)
			cat "$tmp/auth/out.$c" >>"$tmp/auth/out"
			n=$(awk -F'\t' '$3 == "server" { print $10; exit }' "$tmp/auth/out.$c")
			ab_qpm[$c]=$(awk -v a="${q0:-x}" -v b="${q1:-x}" -v n="${n:-0}" 'BEGIN {
				if (a == "x" || b == "x" || n + 0 == 0) print "n/a"
				else printf "%.1f\n", (b - a) / n }')
		done
	fi
	if [ -n "$ab_server" ]; then
		progress "auth_bench lookups alone (~$(( 2 * SECS + 1 )) s)"
		ab_run "$AUTH_BENCH" run -t "$SECS" -k "$tmp/rsa2048.pem" -u "$ab_server" \
			-C lookup >>"$tmp/auth/out" 2>"$tmp/auth/err" ||
			echo "   auth_bench lookups failed: $(head -c 300 "$tmp/auth/err")"
	fi
	ab_cleanup
	printf '%-8s %-7s %-7s %10s %9s %9s %11s %9s %13s\n' impl checks dns "msgs/s" "wall us" \
		"cpu us" "cachet/peer" "vs zone" "queries/msg"
	for c in spf all; do
		for d in zone cached server; do
			read -r rate wall cpu <<<"$(ab_row cachet "$c" "$d")"
			read -r zrate _ _ <<<"$(ab_row cachet "$c" zone)"
			peer=n/a
			[ "$c" = spf ] && read -r peer _ _ <<<"$(ab_row libspf2 spf "$d")"
			qpm=-
			[ "$d" = server ] && qpm=${ab_qpm[$c]:-n/a}
			printf '%-8s %-7s %-7s %10s %9s %9s %11s %9s %13s\n' cachet "$c" "$d" \
				"$(fmt "$(num_or_na "$rate")" '%.0f')" "$(fmt "$(num_or_na "$wall")" '%.1f')" \
				"$(fmt "$(num_or_na "$cpu")" '%.1f')" \
				"$(ratio "$(num_or_na "$rate")" "$(num_or_na "$peer")")" \
				"$(ratio "$(num_or_na "$rate")" "$(num_or_na "$zrate")")" "$qpm"
		done
	done
	for d in zone cached server; do
		read -r rate wall cpu <<<"$(ab_row libspf2 spf "$d")"
		note=""
		[ "$rate" = n/a ] && [ "$d" != zone ] && note="  (${ab_why:-no result})"
		printf '%-8s %-7s %-7s %10s %9s %9s %11s %9s %13s%s\n' libspf2 spf "$d" \
			"$(fmt "$(num_or_na "$rate")" '%.0f')" "$(fmt "$(num_or_na "$wall")" '%.1f')" \
			"$(fmt "$(num_or_na "$cpu")" '%.1f')" - - - "$note"
	done
	echo "   msgs/s per wall-clock second (a message waits for DNS without using CPU);"
	echo "   cpu us = process CPU per message, all threads.  cachet/peer = cachet's SPF"
	echo "   rate over libspf2's own for the same DNS mode (MAIL FROM + HELO each);"
	echo "   no peer runs DKIM or DMARC here (n/a).  server = NSD records with TTL 0:"
	echo "   queries/msg is what that NSD answered per message, warm-up included."
	read -r drate _ dcpu <<<"$(ab_row cachet lookup dns)"
	read -r urate _ ucpu <<<"$(ab_row libunbound lookup dns)"
	echo
	echo "   one lookup at the TTL-0 server, rotating through the message's names:"
	printf '   %-22s %10s lookups/s %9s cpu us per lookup\n' "lib/dns alone" \
		"$(fmt "$(num_or_na "$drate")" '%.0f')" "$(fmt "$(num_or_na "$dcpu")" '%.1f')"
	printf '   %-22s %10s lookups/s %9s cpu us per lookup   lib/dns/libunbound: %s\n' \
		"libunbound alone (peer)" "$(fmt "$(num_or_na "$urate")" '%.0f')" \
		"$(fmt "$(num_or_na "$ucpu")" '%.1f')" \
		"$(ratio "$(num_or_na "$drate")" "$(num_or_na "$urate")")"
fi

# ---- milters through a real Postfix (bench/milter_bench.sh) ----
# Postfix alone, + a null filter, + opendkim verify, + cachet-milterd (DKIM
# only, and its default SPF+DMARC+DKIM), over TCP and unix sockets, DNS
# cacheable and TTL 0: msgs/s with 20 sessions, ms per message with one
# session, milter CPU per message.  Needs root; about 3 min; own temp dir
# and daemons.
progress "milter_bench (~3 min)"
BUILD=$BUILD bash "$(dirname "$0")/milter_bench.sh"

exit 0
