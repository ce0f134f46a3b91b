#!/bin/bash
# t_dkim_e2e.sh — DKIM end to end through the real Postfix: mail from an
# internal or authenticated client leaves signed (relaxed/relaxed,
# rsa-sha256, no l=, oversigned core fields, Authentication-Results never
# signed); the same message fed back in as external mail verifies against
# the key published in NSD; MultipleSignatures gives an RSA and an Ed25519
# signature that both verify; an OpenDKIM installation's KeyTable and
# SigningTable work unchanged.  Failure paths: unsafe key file and a
# SigningTable naming an unknown key stop "cachet-milterd -n" with the file
# (and line); mail with no SigningTable entry leaves unsigned; a tampered
# body is dkim=fail, a missing key record dkim=permerror, a refused key
# lookup dkim=temperror with the mail still delivered.
#
# One NSD, sink and Postfix for the whole file; the milter is restarted
# with each configuration (same port).  Keys are made at run time.
. tests/integration/lib.sh
. tests/integration/dkim_e2e/helpers.sh
t_setup

D=$REPO/tests/integration/dkim_e2e
K=$T/keys
EXT='ADDR=203.0.113.5'

mkdir -m 700 "$K"
dkim_gen_rsa "$K/rsa.pem" && dkim_gen_ed25519 "$K/ed.pem" &&
	dkim_gen_rsa "$K/mail2026.private" -traditional ||
	{ t_fail "test keys are made"; t_done; }
dkim_zone_write "$D/example.org.zone.in" "$T/example.org.zone" \
	"RSA_TXT=$(dkim_txt_rsa "$K/rsa.pem")" \
	"ED_TXT=$(dkim_txt_ed25519 "$K/ed.pem")" \
	"OPENDKIM_TXT=$(dkim_txt_rsa "$K/mail2026.private")"
dkim_zone_write "$D/opendkim.KeyTable.in" "$T/opendkim.KeyTable" "KEYDIR=$K"
dkim_zone_write "$D/opendkim.SigningTable.in" "$T/opendkim.SigningTable"

# One KeyTable for the single-signature cases: the good key, a selector
# with no record (permerror) and a domain NSD does not serve (temperror).
cat >"$T/KeyTable" <<EOF
rsa	example.org:sel:$K/rsa.pem
ed	example.org:ed:$K/ed.pem
nodns	nodns.example.org:gone:$K/rsa.pem
refused	example.net:sel:$K/rsa.pem
EOF
cat >"$T/SigningTable" <<EOF
*@example.org	rsa
*@nodns.example.org	nodns
*@example.net	refused
EOF
cat >"$T/SigningTable.multi" <<EOF
*@example.org	rsa
*@example.org	ed
EOF

start_dns "$T/example.org.zone" && start_sink && MILTER_PORT=$(free_port) &&
	start_postfix || { t_fail "harness starts"; t_done; }
BASE=("Mode sv" "Nameservers 127.0.0.1@$DNS_PORT" "KeyTable file:$T/KeyTable")

# milter LINE...: (re)start the milter with BASE plus LINEs.
milter() {
	stop_milter
	start_milter "$@" || { t_fail "milter starts: $*"; t_done; }
}

# mk FILE CASE [FROM]: a message with "X-Case: CASE" from FROM.
mk() {
	local from=${3:-sender@example.org}
	printf '%s\n' "X-Case: $2" "From: Sender <$from>" \
		"To: Rcpt <rcpt@test.example>" "Subject: dkim e2e $2" \
		"Date: Mon, 24 Nov 2025 10:00:00 +0000" \
		"Message-ID: <$2.$$.$RANDOM@example.org>" "" \
		"Hello." "This is the body of $2." "" "-- " "sender" >"$1"
}

# send_case CASE [FROM [SWAKS_OPTS]]: make, send and print the sink file.
send_case() {
	local c=$1 from=${2:-sender@example.org}
	shift
	[ $# -gt 0 ] && shift
	mk "$T/$c.eml" "$c" "$from"
	deliver "$T/$c.eml" "X-Case: $c" --from "$from" "$@"
}

# dkim_results FILE: the dkim=... results (with comment and properties)
# of our Authentication-Results, one per line.
dkim_results() {
	ar_ours "$1" | sed 's/^[^;]*;//' | tr ';' '\n' |
		sed -n 's/^[[:space:]]*\(dkim=.*\)/\1/p'
}

# show FILE: the delivered header block, for diagnostics.
show() {
	[ -n "$1" ] && sink_headers "$1" | cut -c1-300
}

# sig_is NAME SIG TAG=VALUE...: one check that SIG has every TAG=VALUE.
sig_is() {
	local name=$1 sig=$2 tv bad=""
	shift 2
	for tv in "$@"; do
		[ "$(dkim_tag "$sig" "${tv%%=*}")" = "${tv#*=}" ] ||
			bad+=" ${tv%%=*}=$(dkim_tag "$sig" "${tv%%=*}") (want ${tv#*=})"
	done
	if [ -n "$sig" ] && [ -z "$bad" ]; then
		t_ok "$name"
	else
		t_fail "$name" "DKIM-Signature: ${sig:-(none)}" "wrong:${bad:- no signature}"
	fi
}

# ---- 1. internal (loopback) mail leaves signed ------------------------------
milter "${BASE[@]}" "SigningTable refile:$T/SigningTable"
f1=$(send_case internal)
sigs=$(dkim_sigs "$f1")
if [ "$(printf '%s' "$sigs" | grep -c .)" = 1 ]; then
	t_ok "internal mail leaves with one DKIM-Signature"
else
	t_fail "internal mail leaves with one DKIM-Signature" "got:" "$(show "$f1")"
fi
sig1=$(printf '%s\n' "$sigs" | head -n 1)
sig_is "signature is d=example.org s=sel a=rsa-sha256 c=relaxed/relaxed" \
	"$sig1" d=example.org s=sel a=rsa-sha256 c=relaxed/relaxed
if [ -n "$sig1" ] && ! printf '%s\n' "$sig1" | tr ';' '\n' | grep -q '^l='; then
	t_ok "signature has no l= tag"
else
	t_fail "signature has no l= tag" "DKIM-Signature: ${sig1:-(none)}"
fi
h=$(dkim_tag "$sig1" h)
bad=""
for n in From To Subject Date Message-ID; do
	want=$(($(msg_field_count "$f1" "$n") + 1))
	got=$(count_in_list "$h" "$n")
	[ "$got" = "$want" ] || bad+=" $n: $got in h= (want $want)"
done
if [ -n "$h" ] && [ -z "$bad" ]; then
	t_ok "h= oversigns From/To/Subject/Date/Message-ID (present + 1)"
else
	t_fail "h= oversigns From/To/Subject/Date/Message-ID (present + 1)" "h=$h" "${bad:-no h=}"
fi
if [ -n "$h" ] && [ "$(count_in_list "$h" Authentication-Results)" = 0 ]; then
	t_ok "h= does not sign Authentication-Results"
else
	t_fail "h= does not sign Authentication-Results" "h=${h:-(none)}"
fi
first2=$(sink_headers "$f1" | head -n 2 | sed 's/:.*//' | tr '[:upper:]' '[:lower:]' | paste -sd ' ')
if [ -n "$f1" ] && [ "$(ar_ours "$f1")" = "$(sink_headers "$f1" | head -n 1)" ] &&
	[ "$first2" = "authentication-results dkim-signature" ]; then
	t_ok "our AR is the first header, the DKIM-Signature right below it"
	t_diag "header order on the way out: AR, then DKIM-Signature"
else
	t_fail "our AR is the first header, the DKIM-Signature right below it" \
		"first two fields: $first2" "$(show "$f1")"
fi

# ---- 2. authenticated client from an external address -----------------------
milter "${BASE[@]}" "SigningTable refile:$T/SigningTable" "InternalHosts 127.0.0.2"
f2=$(send_case sasl sender@example.org --xclient "$EXT LOGIN=alice")
sig2=$(dkim_sigs "$f2" | head -n 1)
sig_is "SASL-authenticated mail from 203.0.113.5 leaves signed (d=example.org s=sel)" \
	"$sig2" d=example.org s=sel a=rsa-sha256
f2x=$(send_case notauth sender@example.org --xclient "$EXT")
if [ -n "$f2x" ] && [ -z "$(dkim_sigs "$f2x")" ]; then
	t_ok "the same client without LOGIN is external: not signed"
else
	t_fail "the same client without LOGIN is external: not signed" "$(show "$f2x")"
fi

# ---- 3. the signed message from 1 verifies as external mail -----------------
milter "${BASE[@]}" "SigningTable refile:$T/SigningTable"
f3=$(refeed "$f1" back-internal)
r3=$(dkim_results "$f3")
if [ "$(printf '%s' "$r3" | grep -c .)" = 1 ] &&
	[[ $r3 == "dkim=pass "*" header.d=example.org "* ]] &&
	[[ $r3 == *" header.s=sel "* ]]; then
	t_ok "fed back as external: dkim=pass header.d=example.org header.s=sel"
else
	t_fail "fed back as external: dkim=pass header.d=example.org header.s=sel" \
		"dkim results: ${r3:-(none)}" "$(show "$f3")"
fi
if [[ $r3 == "dkim=pass (2048-bit rsa key) "* ]]; then
	t_ok "the AR comment says (2048-bit rsa key)"
else
	t_fail "the AR comment says (2048-bit rsa key)" "got: ${r3:-(none)}"
fi
f3b=$(refeed "$f2" back-sasl)
r3b=$(dkim_results "$f3b")
if [[ $r3b == "dkim=pass "*" header.d=example.org "* ]]; then
	t_ok "the SASL-signed message from 2 verifies too"
else
	t_fail "the SASL-signed message from 2 verifies too" "got: ${r3b:-(none)}"
fi

# ---- 6 (mail part). failure paths with the same configuration ---------------
f6u=$(send_case unlisted sender@example.com)
if [ -n "$f6u" ] && [ -z "$(dkim_sigs "$f6u")" ]; then
	t_ok "From domain with no SigningTable entry: delivered unsigned"
else
	t_fail "From domain with no SigningTable entry: delivered unsigned" "$(show "$f6u")"
fi
if [ -n "$f1" ]; then
	sink_msg "$f1" | sed 's/^This is the body of internal\.$/This is the body of someone else./' \
		>"$T/tampered.src"
	{ echo "X-Pass: tampered"; cat "$T/tampered.src"; } >"$T/tampered.eml"
	f6t=$(deliver "$T/tampered.eml" "X-Pass: tampered" --xclient "$EXT")
else
	f6t=""
fi
r6t=$(dkim_results "$f6t")
if [[ $r6t == "dkim=fail "* ]] && ! grep -q 'body of internal' "$T/tampered.src"; then
	t_ok "body changed after signing: dkim=fail"
else
	t_fail "body changed after signing: dkim=fail" "got: ${r6t:-(none)}"
fi
f6p=$(refeed "$(send_case nodns sender@nodns.example.org)" back-nodns)
r6p=$(dkim_results "$f6p")
if [[ $r6p == "dkim=permerror "*"header.d=nodns.example.org"* ]]; then
	t_ok "no key record in DNS (gone._domainkey.nodns.example.org): dkim=permerror"
else
	t_fail "no key record in DNS (gone._domainkey.nodns.example.org): dkim=permerror" \
		"got: ${r6p:-(none)}" "$(show "$f6p")"
fi
f6r=$(refeed "$(send_case refused sender@example.net)" back-refused)
r6r=$(dkim_results "$f6r")
if [[ $r6r == "dkim=temperror "*"header.d=example.net"* ]]; then
	t_ok "key lookup refused by NSD (example.net): dkim=temperror, delivered"
else
	t_fail "key lookup refused by NSD (example.net): dkim=temperror, delivered" \
		"got: ${r6r:-(none)}" "$(show "$f6r")"
fi

# ---- 4. MultipleSignatures: RSA and Ed25519 ---------------------------------
milter "${BASE[@]}" "SigningTable refile:$T/SigningTable.multi" "MultipleSignatures yes"
f4=$(send_case multi)
algs=$(dkim_sigs "$f4" | while read -r s; do dkim_tag "$s" a; done | sort | paste -sd ' ')
if [ "$algs" = "ed25519-sha256 rsa-sha256" ]; then
	t_ok "MultipleSignatures: leaves with a=rsa-sha256 and a=ed25519-sha256"
else
	t_fail "MultipleSignatures: leaves with a=rsa-sha256 and a=ed25519-sha256" \
		"a= of the signatures: ${algs:-(none)}" "$(show "$f4")"
fi
f4b=$(refeed "$f4" back-multi)
r4=$(dkim_results "$f4b")
if [ "$(printf '%s\n' "$r4" | grep -c '^dkim=pass ')" = 2 ] &&
	[[ $r4 == *"header.a=rsa-sha256"* ]] && [[ $r4 == *"header.a=ed25519-sha256"* ]]; then
	t_ok "MultipleSignatures: fed back as external, two dkim=pass (rsa, ed25519)"
else
	t_fail "MultipleSignatures: fed back as external, two dkim=pass (rsa, ed25519)" \
		"got:" "${r4:-(none)}"
fi

# ---- 5. an OpenDKIM installation's tables, unchanged ------------------------
milter "Mode sv" "Nameservers 127.0.0.1@$DNS_PORT" \
	"KeyTable file:$T/opendkim.KeyTable" "SigningTable refile:$T/opendkim.SigningTable"
f5=$(send_case opendkim)
sig5=$(dkim_sigs "$f5" | head -n 1)
sig_is "OpenDKIM-style KeyTable/SigningTable (PKCS#1 key): signed d=example.org s=mail2026" \
	"$sig5" d=example.org s=mail2026 a=rsa-sha256
f5b=$(refeed "$f5" back-opendkim)
r5=$(dkim_results "$f5b")
if [[ $r5 == "dkim=pass "*" header.s=mail2026 "* ]]; then
	t_ok "OpenDKIM-style tables: the signature verifies (dkim=pass)"
else
	t_fail "OpenDKIM-style tables: the signature verifies (dkim=pass)" "got: ${r5:-(none)}"
fi

# ---- 6 (configuration part). cachet-milterd -n ------------------------------
# check_n NAME WANT_RE CONF_LINES...: -n must exit non-zero, output WANT_RE.
check_n() {
	local name=$1 want=$2 rc
	shift 2
	printf '%s\n' "Socket inet:$(free_port)@127.0.0.1" "$@" >"$T/n.conf"
	"$MILTER_BIN" -n -c "$T/n.conf" >"$T/n.out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] && grep -Eq -- "$want" "$T/n.out"; then
		t_ok "$name"
		t_diag "$(head -n 3 "$T/n.out")"
	else
		t_fail "$name" "exit $rc, want non-zero and /$want/; output:" "$(head -n 5 "$T/n.out")"
	fi
}
cp "$K/rsa.pem" "$K/open.pem"
chmod 644 "$K/open.pem"
printf 'open\texample.org:sel:%s\n' "$K/open.pem" >"$T/KeyTable.open"
printf '*@example.org\topen\n' >"$T/SigningTable.open"
check_n "key file mode 0644 (RequireSafeKeys default): -n fails naming the file" \
	"$K/open.pem" "KeyTable file:$T/KeyTable.open" "SigningTable refile:$T/SigningTable.open"
printf '# one good line, then one naming no KeyTable entry\n*@example.org\trsa\n*@example.org\tnosuchkey\n' \
	>"$T/SigningTable.bad"
check_n "SigningTable naming a key not in the KeyTable: -n fails with file:line" \
	"$T/SigningTable.bad:3" "KeyTable file:$T/KeyTable" "SigningTable refile:$T/SigningTable.bad"

t_done
