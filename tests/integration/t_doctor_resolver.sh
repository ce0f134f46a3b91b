#!/bin/bash
# t_doctor_resolver.sh — `cachet doctor` and `cachet-keys testkey` with the
# system resolver (no --dns-zone, no --nameserver), as a user runs them.
# The machine's /etc/resolv.conf is never touched: the test runs itself
# again inside a network namespace of its own whose resolv.conf
# (/etc/netns/NAME/resolv.conf, which `ip netns exec` mounts over
# /etc/resolv.conf for that process only) names 127.0.0.1, where NSD
# serves the lab zone good.lab.example on port 53, alone in that
# namespace.  The findings must be the golden lab/good.out's; with NSD
# stopped, doctor says DNS failed and exits 1 instead of calling anything
# ok.
cd "$(dirname "$0")/../.." || exit 2

if [ "${1:-}" != --in-netns ]; then
	if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null 2>&1; then
		echo "not ok - doctor with the system resolver needs root and ip(8) (a network namespace)"
		exit 1
	fi
	NS=cachet-doctor-$$
	made_dir=0
	[ -d /etc/netns ] || made_dir=1
	cleanup() {
		ip netns del "$NS" 2>/dev/null
		rm -rf "/etc/netns/$NS"
		[ "$made_dir" = 1 ] && rmdir /etc/netns 2>/dev/null
	}
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	mkdir -p "/etc/netns/$NS" && echo "nameserver 127.0.0.1" >"/etc/netns/$NS/resolv.conf" &&
		ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || {
		echo "not ok - a network namespace for the test"
		exit 1
	}
	ip netns exec "$NS" bash "$0" --in-netns
	exit $?
fi

. tests/integration/lib.sh
t_setup
CACHET_BIN=${CACHET_BIN:-$REPO/build/bin/cachet}
KEYS_BIN=${KEYS_BIN:-$REPO/build/bin/cachet-keys}
L=tests/integration/lab
KEY=$L/lab.private

t_check "the namespace's resolv.conf is the one in force" grep -qx "nameserver 127.0.0.1" /etc/resolv.conf
# resolv.conf names no port: NSD takes 53, which nothing else holds in
# this namespace
free_port() { echo 53; }
if ! start_dns "$L/example.zone" "$L/good.lab.example.zone"; then
	t_fail "NSD starts on 127.0.0.1:53 in the namespace"
	t_done
fi

LC_ALL=C "$CACHET_BIN" doctor --selector s2025 --key "$KEY" --ascii good.lab.example \
	>"$T/good.out" 2>&1
rc=$?
t_check "doctor good.lab.example through the system resolver: exit 0" test "$rc" = 0
t_check "the first line says the system resolver answers" \
	grep -qx "cachet doctor good.lab.example (DNS: the system's resolver)" "$T/good.out"
if [ "$(tail -n +2 "$T/good.out")" = "$(tail -n +2 "$L/good.out")" ]; then
	t_ok "the findings are the golden lab/good.out's"
else
	t_fail "the findings are the golden lab/good.out's" \
		"$(diff <(tail -n +2 "$L/good.out") <(tail -n +2 "$T/good.out") | head -30)"
fi

"$KEYS_BIN" testkey --domain good.lab.example --selector s2025 --key "$KEY" >"$T/testkey.out" 2>&1
rc=$?
t_check "cachet-keys testkey through the system resolver: the key matches (exit 0)" test "$rc" = 0
t_check "testkey says so in words" grep -qi "match" "$T/testkey.out"

# ---- the resolver does not answer ----
t_kill_pid "$DNS_PID" 2
LC_ALL=C timeout 60 "$CACHET_BIN" doctor --selector s2025 --key "$KEY" --ascii \
	good.lab.example >"$T/down.out" 2>&1
rc=$?
t_check "NSD stopped: doctor fails (exit 1)" test "$rc" = 1
t_check "NSD stopped: it says DNS failed, not that a record is missing" \
	grep -Eq "DNS did not answer|lookup failed" "$T/down.out"
t_check "NSD stopped: nothing is called ok" bash -c '! grep -q "^  \[ok\]" "$1"' _ "$T/down.out"
t_done
