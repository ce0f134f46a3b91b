#!/bin/bash
# t_keys.sh — cachet-keys genkey and testkey, the way a lab user meets
# them: genkey writes S.private (0600) and S.txt, never over an existing
# file, refuses RSA under 1024 bits; the record it prints loads as a zone
# (strings of at most 255 octets) and dkimpy verifies a message `cachet
# sign` signed with the key against it.  testkey says MATCH (exit 0) for
# the record as printed, and NO MATCH (exit 1), with the reason in words,
# for: another key, nothing published, a record cut in half, a space that
# replaced a character, a stray quote, the two halves published as two
# records, v= not first, k= unknown, h= without sha256, a revoked key; a
# space added inside p= still matches but is named; t=y is named.  Then
# the same MATCH through a real NSD (--nameserver), and usage errors (2).
# Also: cachet-keys links no libspf2, libopendmarc, libmilter or libpsl.
cd "$(dirname "$0")/../.." || exit 2
. tests/integration/lib.sh
. tests/integration/dkim/lib_dkim.sh
t_setup

KEYS_BIN=${KEYS_BIN:-$REPO/build/bin/cachet-keys}
D=lab.example
if [ ! -x "$KEYS_BIN" ] || [ ! -x "$CACHET_BIN" ]; then
	t_fail "cachet-keys and cachet are built" "$KEYS_BIN $CACHET_BIN"
	t_done
fi

bad=$(ldd "$KEYS_BIN" | awk '{print $1}' | grep -E 'libspf2|libopendmarc|libmilter|libpsl|libhiredis')
if [ -z "$bad" ]; then t_ok "cachet-keys links no libspf2, libopendmarc, libmilter, libpsl or libhiredis"
else t_fail "cachet-keys links no libspf2, libopendmarc, libmilter, libpsl or libhiredis" "$bad"; fi

# ---- genkey ----
mkdir -p "$T/k"
if "$KEYS_BIN" genkey --domain $D --selector s1 --dir "$T/k" >"$T/gen.out" 2>"$T/gen.err"; then
	t_ok "genkey rsa: exit 0"
else
	t_fail "genkey rsa: exit 0" "$(cat "$T/gen.err")"
fi
t_check "genkey rsa: S.private is mode 0600" test "$(stat -c %a "$T/k/s1.private")" = 600
bits=$(openssl pkey -in "$T/k/s1.private" -noout -text 2>/dev/null | sed -n 's/.*Private-Key: (\([0-9]*\) bit.*/\1/p')
t_check "genkey rsa: a 2048-bit key by default (openssl reads it)" test "$bits" = 2048
t_check "genkey rsa: the record printed is S.txt" cmp -s "$T/gen.out" "$T/k/s1.txt"
t_check "genkey rsa: zone-file syntax, owner S._domainkey.D." \
	grep -q "^s1._domainkey.$D. IN TXT ( \"v=DKIM1; k=rsa; \"$" "$T/k/s1.txt"
long=$(grep -o '"[^"]*"' "$T/k/s1.txt" | awk 'length($0) > 257' | wc -l)
t_check "genkey rsa: every string at most 255 octets" test "$long" = 0
p=$(key_p_rsa "$T/k/s1.private")
joined=$(tr -d '\n\t' <"$T/k/s1.txt" | grep -o '"[^"]*"' | tr -d '"' | tr -d '\n')
t_check "genkey rsa: the strings join to v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>" \
	test "$joined" = "v=DKIM1; k=rsa; p=$p"
t_check "genkey rsa: stderr gives the KeyTable line" \
	grep -q "^KeyTable line: s1._domainkey.$D $D:s1:$T/k/s1.private$" "$T/gen.err"

sum=$(sha256sum <"$T/k/s1.private")
"$KEYS_BIN" genkey --domain $D --selector s1 --dir "$T/k" >/dev/null 2>"$T/again.err"
rc=$?
if [ $rc = 1 ] && grep -q "exists; not replacing it" "$T/again.err" &&
	[ "$(sha256sum <"$T/k/s1.private")" = "$sum" ]; then
	t_ok "genkey refuses to overwrite an existing key (exit 1, file unchanged)"
else
	t_fail "genkey refuses to overwrite an existing key (exit 1, file unchanged)" "rc=$rc" "$(cat "$T/again.err")"
fi
: >"$T/k/s3.txt"
"$KEYS_BIN" genkey --domain $D --selector s3 --dir "$T/k" >/dev/null 2>"$T/s3.err"
rc=$?
t_check "genkey refuses when S.txt exists, and leaves no S.private (exit 1)" \
	test $rc = 1 -a ! -e "$T/k/s3.private"

for b in 512 1023; do
	"$KEYS_BIN" genkey --domain $D --selector b$b --bits $b --dir "$T/k" >/dev/null 2>"$T/b.err"
	rc=$?
	if [ $rc = 2 ] && [ ! -e "$T/k/b$b.private" ] && grep -q "RFC 8301" "$T/b.err"; then
		t_ok "genkey refuses a $b-bit RSA key (exit 2, no file, RFC 8301 named)"
	else
		t_fail "genkey refuses a $b-bit RSA key (exit 2, no file, RFC 8301 named)" "rc=$rc" "$(cat "$T/b.err")"
	fi
done
"$KEYS_BIN" genkey --domain $D --selector b1024 --bits 1024 --dir "$T/k" >/dev/null 2>&1
t_check "genkey takes --bits 1024" test -s "$T/k/b1024.private"
"$KEYS_BIN" genkey --domain $D --selector e1 --type ed25519 --dir "$T/k" >/dev/null 2>&1
t_check "genkey ed25519: p= is the raw 32-byte key (RFC 8463)" \
	grep -q "\"p=$(key_p_ed "$T/k/e1.private")\"" "$T/k/e1.txt"

# ---- the record verifies a signature (dkimpy) ----
{
	echo "\$ORIGIN $D."
	echo "\$TTL 300"
	echo "@ IN SOA ns.$D. hostmaster.$D. 1 3600 600 86400 300"
	echo "@ IN NS ns.$D."
	echo "ns IN A 127.0.0.1"
	cat "$T/k/s1.txt" "$T/k/e1.txt"
} >"$T/good.zone"
write_msg "$T/m.eml" "X-Case: genkey"
sed -i "s/example.org/$D/g" "$T/m.eml"
for s in s1 e1; do
	if "$CACHET_BIN" sign --key "$T/k/$s.private" --domain $D --selector $s "$T/m.eml" >"$T/m-$s.eml" 2>"$T/sign.err" &&
		run_peer "genkey $s: dkimpy verifies a signature against the record" "$T/py-$s.out" \
			"$PY" "$DKIM_HELPERS/dkimpy.py" verify --zone "$T/good.zone" "$T/m-$s.eml"; then
		t_ok "genkey $s: dkimpy verifies a signature against the record"
	elif [ -s "$T/sign.err" ]; then
		t_fail "genkey $s: dkimpy verifies a signature against the record" "$(cat "$T/sign.err")"
	fi
done

# ---- testkey ----
# testkey_expect NAME RC WORDS ZONE SELECTOR [KEY]: exit status and words in its output
testkey_expect() {
	local name=$1 want=$2 words=$3 zone=$4 sel=$5 key=${6:-$T/k/s1.private} rc
	"$KEYS_BIN" testkey --domain $D --selector "$sel" --key "$key" --dns-zone "$zone" \
		>"$T/tk.out" 2>&1
	rc=$?
	if [ "$rc" = "$want" ] && grep -qF -- "$words" "$T/tk.out"; then
		t_ok "$name"
	else
		t_fail "$name" "want exit $want and \"$words\", got exit $rc:" "$(cat "$T/tk.out")"
	fi
}
# zone_with SELECTOR TXT-RDATA...: the good zone plus one more record
zone_with() {
	local f=$T/z.$RANDOM sel=$1
	shift
	{ cat "$T/good.zone"; for r in "$@"; do echo "$sel._domainkey IN TXT $r"; done; } >"$f"
	echo "$f"
}
half=${p:0:$((${#p} / 2))}
half4=${p:0:196}

testkey_expect "testkey: the record as printed MATCHes (exit 0)" 0 "MATCH: the published key" \
	"$T/good.zone" s1
testkey_expect "testkey: size and type said (rsa, 2048 bits)" 0 "type:    rsa, 2048 bits" \
	"$T/good.zone" s1
testkey_expect "testkey: another key's record is NO MATCH (exit 1)" 1 \
	"NO MATCH: the published key is another key" "$T/good.zone" e1
testkey_expect "testkey: nothing published is NO MATCH (exit 1)" 1 "no TXT record (nxdomain)" \
	"$T/good.zone" nothere
testkey_expect "testkey: a record cut in half is named as cut (exit 1)" 1 "the record was cut" \
	"$(zone_with cut "$(txt_rdata "v=DKIM1; k=rsa; p=$half")")" cut
testkey_expect "testkey: cut on a 4-character boundary too (exit 1)" 1 "the record was cut" \
	"$(zone_with cut4 "$(txt_rdata "v=DKIM1; k=rsa; p=$half4")")" cut4
testkey_expect "testkey: a space that replaced a character is named (exit 1)" 1 \
	"p= holds white space (at character 101)" \
	"$(zone_with sp "$(txt_rdata "v=DKIM1; k=rsa; p=${p:0:100} ${p:101}")")" sp
testkey_expect "testkey: a space added inside p= still matches, and is named (exit 0)" 0 \
	"problem: p= holds white space" \
	"$(zone_with sp2 "$(txt_rdata "v=DKIM1; k=rsa; p=${p:0:100} ${p:100}")")" sp2
testkey_expect "testkey: a stray quote inside p= is named (exit 1)" 1 \
	"the record holds a '\"' (at character 119)" \
	"$(zone_with q "$(txt_rdata "v=DKIM1; k=rsa; p=${p:0:100}\\\"${p:100}")")" q
testkey_expect "testkey: the halves as two records: several records named (exit 1)" 1 \
	"2 TXT records at this name" \
	"$(zone_with two "$(txt_rdata "v=DKIM1; k=rsa; p=${p:0:200}")" "\"${p:200}\"")" two
testkey_expect "testkey: the halves as two records: the second seen as the rest of p=" 1 \
	"looks like the rest of p=" \
	"$(zone_with two "$(txt_rdata "v=DKIM1; k=rsa; p=${p:0:200}")" "\"${p:200}\"")" two
testkey_expect "testkey: v= not first is named (exit 1)" 1 "v=DKIM1 is not the first tag" \
	"$(zone_with v "$(txt_rdata "k=rsa; v=DKIM1; p=$p")")" v
testkey_expect "testkey: k= unknown is named (exit 1)" 1 "k=dsa: unknown key type" \
	"$(zone_with k "$(txt_rdata "v=DKIM1; k=dsa; p=$p")")" k
testkey_expect "testkey: h= without sha256 is named (exit 1)" 1 "h=sha1 leaves out sha256" \
	"$(zone_with h "$(txt_rdata "v=DKIM1; h=sha1; p=$p")")" h
testkey_expect "testkey: a revoked key (empty p=) is named (exit 1)" 1 "the key is revoked" \
	"$(zone_with rev '"v=DKIM1; k=rsa; p="')" rev
testkey_expect "testkey: t=y is named as testing (exit 0)" 0 "t=y (testing" \
	"$(zone_with ty "$(txt_rdata "v=DKIM1; k=rsa; t=y; p=$p")")" ty
testkey_expect "testkey: an Ed25519 key MATCHes its record" 0 "type:    ed25519" \
	"$T/good.zone" e1 "$T/k/e1.private"

"$KEYS_BIN" testkey --domain $D --selector s1 >/dev/null 2>&1
t_check "testkey: without --key, a usage error (exit 2)" test $? = 2
"$KEYS_BIN" testkey --domain $D --selector s1 --key "$T/k/s1.private" --dns-zone x \
	--nameserver 127.0.0.1 >/dev/null 2>&1
t_check "testkey: --dns-zone with --nameserver, a usage error (exit 2)" test $? = 2

# ---- the same through a real DNS server ----
if start_dns "$T/good.zone"; then
	if "$KEYS_BIN" testkey --domain $D --selector s1 --key "$T/k/s1.private" \
		--nameserver "127.0.0.1@$DNS_PORT" >"$T/ns.out" 2>&1 && grep -q "^MATCH" "$T/ns.out"; then
		t_ok "testkey --nameserver (NSD): MATCH"
	else
		t_fail "testkey --nameserver (NSD): MATCH" "$(cat "$T/ns.out")"
	fi
else
	t_fail "NSD starts"
fi
t_done
