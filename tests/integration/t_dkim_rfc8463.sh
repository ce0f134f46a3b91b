#!/bin/bash
# t_dkim_rfc8463.sh — the RFC 8463 Appendix A example, both ways: cachet
# verifies the two published signatures (Ed25519 and RSA) with the A.2 key
# records, and `cachet sign` with the A.1 keys and the A.3 parameters
# (c=relaxed/relaxed, t=1528637909, i=@football.example.com, h= with
# from/subject/date oversigned) yields the published body hash and
# signatures that dkimpy (python3-dkim) and cachet itself verify.  The
# vectors live in ../shared/vectors/rfc8463 beside the repository; the
# private keys there are test keys published in the RFC.
cd "$(dirname "$0")/../.." || exit 2
. tests/integration/lib.sh
. tests/integration/dkim/lib_dkim.sh
t_setup

VEC=$REPO/../shared/vectors/rfc8463
ZONE=$VEC/football.example.com.zone
BH=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=
H=from:to:subject:date:message-id:from:subject:date

if [ ! -f "$VEC/signed.eml" ] || [ ! -x "$CACHET_BIN" ]; then
	t_fail "RFC 8463 vectors and $CACHET_BIN present"
	t_done
fi

cachet_expect "rfc8463 A.3: cachet verifies both published signatures (ed25519 + rsa pass)" \
	"$ZONE" "$VEC/signed.eml" pass pass
"$CACHET_BIN" check --json --dns-zone "$ZONE" "$VEC/signed.eml" >"$T/a3.json" 2>/dev/null
t_check "rfc8463 A.3: results name brisbane/ed25519-sha256 then test/rsa-sha256" \
	diff <(printf '%s\n' "pass||football.example.com|brisbane|ed25519-sha256" \
		"pass||football.example.com|test|rsa-sha256") \
	<("$PY" "$DKIM_HELPERS/msginfo.py" results "$T/a3.json")

# Negative control: the same message with its body changed fails both.
"$PY" "$DKIM_HELPERS/mutate.py" body "$VEC/signed.eml" >"$T/a3-body.eml"
cachet_expect "rfc8463 A.3 with body changed: both fail (body hash)" \
	"$ZONE" "$T/a3-body.eml" "fail:body hash" "fail:body hash"

if "$PY" "$DKIM_HELPERS/dkimpy.py" verify --zone "$ZONE" "$T/a3-body.eml" >"$T/a3-body.py" 2>&1; then
	t_fail "rfc8463 A.3 with body changed: dkimpy fails both (negative control)" "$(cat "$T/a3-body.py")"
else
	t_check "rfc8463 A.3 with body changed: dkimpy fails both (negative control)" \
		test "$(grep -c '^[01] fail: body hash mismatch' "$T/a3-body.py")" = 2
fi

# The shared key files may be world-readable; cachet warns about that.
install -m 0600 "$VEC/brisbane.ed25519.pem" "$T/brisbane.pem"
install -m 0600 "$VEC/test.rsa.pem" "$T/test.pem"

sign_vec() { # KEY SELECTOR IN OUT
	"$CACHET_BIN" sign --key "$1" --domain football.example.com --selector "$2" \
		--canon relaxed/relaxed --time 1528637909 \
		--identity @football.example.com --headers "$H" "$3" >"$4" 2>"$4.err"
}

for k in brisbane:ed25519-sha256 test:rsa-sha256; do
	sel=${k%%:*} alg=${k#*:}
	out=$T/signed-$sel.eml
	if ! sign_vec "$T/$sel.pem" "$sel" "$VEC/unsigned.eml" "$out"; then
		t_fail "rfc8463 cachet sign $alg succeeds" "$(cat "$out.err")"
		continue
	fi
	t_ok "rfc8463 cachet sign $alg succeeds"
	t_check "rfc8463 cachet sign $alg: no warning on stderr" test ! -s "$out.err"
	bh=$(dkim_tag "$out" bh)
	if [ "$bh" = "$BH" ]; then t_ok "rfc8463 cachet sign $alg: bh= is the published body hash"
	else t_fail "rfc8463 cachet sign $alg: bh= is the published body hash" "got bh=$bh"; fi
	tags=$(for t in a c d s i t h; do printf '%s=%s;' "$t" "$(dkim_tag "$out" "$t")"; done)
	want="a=$alg;c=relaxed/relaxed;d=football.example.com;s=$sel;i=@football.example.com;t=1528637909;h=$H;"
	if [ "$tags" = "$want" ]; then t_ok "rfc8463 cachet sign $alg: a c d s i t h tags as asked"
	else t_fail "rfc8463 cachet sign $alg: a c d s i t h tags as asked" "want $want" "got  $tags"; fi
	t_check "rfc8463 cachet sign $alg: output keeps the input's CRLF line ends" \
		test "$(tr -d -c '\n' <"$out" | wc -c)" = "$(tr -d -c '\r' <"$out" | wc -c)"
	if run_peer "rfc8463 cachet sign $alg: dkimpy verifies" "$T/py-$sel.out" \
		"$PY" "$DKIM_HELPERS/dkimpy.py" verify --zone "$ZONE" "$out"; then
		t_ok "rfc8463 cachet sign $alg: dkimpy verifies"
	fi
	cachet_expect "rfc8463 cachet sign $alg: cachet check verifies" "$ZONE" "$out" pass
done

# Both signatures on one message, Ed25519 below RSA, as in A.3.
if sign_vec "$T/test.pem" test "$T/signed-brisbane.eml" "$T/signed-both.eml"; then
	if run_peer "rfc8463 cachet sign ed25519 then rsa: dkimpy verifies both" "$T/py-both.out" \
		"$PY" "$DKIM_HELPERS/dkimpy.py" verify --zone "$ZONE" "$T/signed-both.eml"; then
		t_check "rfc8463 cachet sign ed25519 then rsa: dkimpy verifies both" \
			test "$(grep -c ' pass$' "$T/py-both.out")" = 2
	fi
	cachet_expect "rfc8463 cachet sign ed25519 then rsa: cachet verifies both" \
		"$ZONE" "$T/signed-both.eml" pass pass
else
	t_fail "rfc8463 cachet sign rsa over an ed25519-signed message" "$(cat "$T/signed-both.eml.err")"
fi

t_done
