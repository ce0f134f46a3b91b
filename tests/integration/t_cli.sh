#!/usr/bin/env bash
# `cachet check` and `cachet-milterd -n` from the outside: output format,
# JSON, exit statuses, and errors that name the file, the line and the key.
set -u
cd "$(dirname "$0")/../.." || exit 2
BIN=${BIN:-build/bin}
T=$(mktemp -d /tmp/cachet-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; fails=$((fails + 1)); }
check() { # check NAME COMMAND...: passes when the command succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

printf 'From: a@example.com\nTo: b@example.net\nSubject: hi\n\nbody\n' >"$T/lf.eml"
# DNS from an empty zone: no lookup leaves the machine
: >"$T/empty.zone"
CHECK=("$BIN/cachet" check --dns-zone "$T/empty.zone")
AR1="Authentication-Results: mx.example.net; dkim=none (message not signed); dmarc=none header.from=example.com"
sed 's/$/\r/' "$T/lf.eml" >"$T/crlf.eml"

out=$("${CHECK[@]}" --authserv-id mx.example.net "$T/lf.eml")
rc=$?
check "plain output has the exact AR field after the walk-through" \
	test "$(grep -A1 -x '6. Authentication-Results' <<<"$out" | tail -n1)" = "$AR1"
check "plain output has one line per check" \
	test "$(grep -cE '^(dkim|spf|dmarc|arc|av|spam): ' <<<"$out")" = 6
check "exit 0 when evaluated" test "$rc" = 0
check "stdin gives the same result as the file" \
	test "$("${CHECK[@]}" --authserv-id mx.example.net - <"$T/lf.eml")" = "$out"
check "CRLF and LF files give the same result" \
	test "$("${CHECK[@]}" --authserv-id mx.example.net "$T/crlf.eml")" = "$out"

"${CHECK[@]}" --json --authserv-id mx.example.net "$T/lf.eml" >"$T/out.json"
check "--json prints one valid object with every member" /usr/bin/python3 - "$T/out.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["authentication_results"] == "mx.example.net; dkim=none (message not signed); dmarc=none header.from=example.com", d
assert d["action"] == "accept"
assert isinstance(d["dkim"], list) and d["dkim"][0]["result"] == "none"
for k in ("domain", "selector", "algorithm", "reason"):
    assert k in d["dkim"][0], k
for k in ("spf", "dmarc", "arc", "av", "spam"):
    assert d[k]["result"] == "none", k
PY

check "unknown client is external" grep -q 'origin: external' <<<"$out"
check "InternalHosts client is internal" \
	grep -q 'origin: internal' <<<"$("${CHECK[@]}" --client-ip 127.0.0.1 "$T/lf.eml")"
check "SASL user is internal" grep -q 'origin: internal' \
	<<<"$("${CHECK[@]}" --client-ip 203.0.113.9 --auth-user alice "$T/lf.eml")"

"${CHECK[@]}" "$T/missing.eml" 2>"$T/err"
check "unreadable input exits 1" test $? = 1
check "unreadable input names the file" grep -q "missing.eml" "$T/err"
"${CHECK[@]}" 2>/dev/null
check "no file is a usage error (2)" test $? = 2
"${CHECK[@]}" --bogus "$T/lf.eml" 2>/dev/null
check "unknown option is a usage error (2)" test $? = 2
"${CHECK[@]}" --now yesterday "$T/lf.eml" 2>/dev/null
check "bad --now is a usage error (2)" test $? = 2
"${CHECK[@]}" --authserv-id 'a b;c' "$T/lf.eml" 2>/dev/null
check "bad --authserv-id is a usage error (2)" test $? = 2

{ for i in $(seq 1 2000); do echo "X-H$i: v"; done; printf 'From: a@example.com\n\nbody\n'; } >"$T/many.eml"
out=$("${CHECK[@]}" "$T/many.eml" 2>"$T/err")
rc=$?
check "2000 header fields: evaluated, exit 0" test "$rc" = 0
check "2000 header fields: rejected 552 5.3.4 naming the limit" \
	grep -q 'action: reject (552 5.3.4 message header exceeds limits: too many header fields' <<<"$out"

printf 'From a@b\n\0\0 binary\x01\xff\n' >"$T/junk.eml"
"${CHECK[@]}" "$T/junk.eml" >/dev/null 2>&1
check "garbage message: evaluated, exit 0" test $? = 0

printf 'Socket inet:8891@127.0.0.1\nSokcet inet:1@127.0.0.1\n' >"$T/bad.conf"
"$BIN/cachet-milterd" -n -c "$T/bad.conf" 2>"$T/err"
check "milterd -n: unknown key exits 1" test $? = 1
check "milterd -n: error names file, line and key" grep -q "bad.conf:2: Sokcet" "$T/err"
printf 'TestDNSData %s/nope.zone\n' "$T" >"$T/nozone.conf"
"$BIN/cachet-milterd" -n -c "$T/nozone.conf" 2>"$T/err"
check "milterd -n: missing TestDNSData file exits 1" test $? = 1
check "milterd -n: missing file is named" grep -q "nope.zone" "$T/err"
printf 'ok.example. TXT "x"\nbad.example. BOGUS 1\n' >"$T/bad.zone"
printf 'TestDNSData %s/bad.zone\n' "$T" >"$T/badzone.conf"
"$BIN/cachet-milterd" -n -c "$T/badzone.conf" 2>"$T/err"
check "milterd -n: bad zone file exits 1 naming file and line" \
	grep -q "bad.zone:2" "$T/err"
check "milterd -n: embedded default configuration is valid" \
	bash -c "\"$BIN/cachet-milterd\" -n -c conf/cachet.conf >/dev/null"
"$BIN/cachet" check --dns-zone "$T/bad.zone" "$T/lf.eml" 2>"$T/err"
check "check --dns-zone with a bad zone exits 2 naming the line" \
	bash -c "test $? = 2 && grep -q 'bad.zone:2' '$T/err'"

[ "$fails" -eq 0 ]
