#!/bin/bash
# t_dkim_interop.sh — DKIM interoperability with the Debian peers, both
# directions.  (a) dkimpy (python3-dkim) and Mail::DKIM (libmail-dkim-perl)
# sign; `cachet check` must pass the signatures, and after each change a
# relay or an attacker might make, say what RFC 6376 says: body changed ->
# fail (body hash), signed field changed -> fail (signature), unsigned
# field added -> pass, whitespace/case/folding changes -> pass under
# relaxed and fail under simple (3.4), trailing empty lines added or
# removed -> pass (3.4.3, 3.4.4), a second From above an oversigned From ->
# fail (5.4.2, 8.15).  (b) `cachet sign` signs; dkimpy and Mail::DKIM
# must verify, and must fail once the body is changed.  Keys are made per
# run in $T; dkimpy reads them from the zone file, Mail::DKIM asks NSD.
#
# Limits: Mail::DKIM 1.20230212 (Debian 12) has no ed25519-sha256 for
# DKIM-Signature, so its cases are RSA only.
cd "$(dirname "$0")/../.." || exit 2
. tests/integration/lib.sh
. tests/integration/dkim/lib_dkim.sh
t_setup

DOM=interop.example
ZONE=$T/$DOM.zone
FIX=$DKIM_HELPERS

if [ ! -x "$CACHET_BIN" ]; then
	t_fail "$CACHET_BIN present"
	t_done
fi
make_keys "$T" || { t_fail "test keys generated with openssl"; t_done; }
{
	printf '%s\n' "\$ORIGIN $DOM." "\$TTL 300" \
		"@ IN SOA ns.$DOM. hostmaster.$DOM. 1 3600 600 86400 300" \
		"@ IN NS ns" "ns IN A 127.0.0.1"
	printf 'rsa._domainkey IN TXT %s\n' "$(txt_rdata "v=DKIM1; k=rsa; p=$(cat "$T/rsa.p")")"
	printf 'ed._domainkey IN TXT %s\n' "$(txt_rdata "v=DKIM1; k=ed25519; p=$(cat "$T/ed.p")")"
} >"$ZONE"
start_dns "$ZONE" || { t_fail "NSD serves $DOM"; t_done; }
t_check "NSD serves the 2048-bit RSA key record (split in 255-byte strings)" \
	grep -qF "TXT v=DKIM1; k=rsa; p=$(cat "$T/rsa.p")" <(dns_query "rsa._domainkey.$DOM" TXT)

cp "$FIX/realistic.eml" "$T/realistic.eml"
sed 's/$/\r/' "$FIX/realistic.eml" >"$T/realistic-crlf.eml"
cp "$FIX/trailing-blank.eml" "$T/trailing-blank.eml"
sed 's/$/\r/' "$FIX/trailing-blank.eml" >"$T/trailing-blank-crlf.eml"
HDRS=from:to:cc:subject:date:message-id:mime-version:content-type:content-transfer-encoding
HDRS_TB=from:to:subject:date:message-id

# ---- (a) peers sign, cachet verifies ---------------------------------------

# peer_sign PEER ALG CANON OUT MSG [oversign]
peer_sign() {
	local peer=$1 alg=$2 canon=$3 out=$4 msg=$5 over=${6:-} h key sel
	case $alg in rsa-sha256) sel=rsa ;; *) sel="ed" ;; esac
	case $peer in
	dkimpy)
		h=$HDRS
		[ "$msg" = "$T/trailing-blank.eml" ] && h=$HDRS_TB
		[ -n "$over" ] && h=from:$h
		key=$T/rsa1.pem
		[ "$sel" = ed ] && key=$T/ed.pem
		"$PY" "$DKIM_HELPERS/dkimpy.py" sign --key "$key" --domain "$DOM" \
			--selector "$sel" --canon "$canon" --alg "$alg" --headers "$h" \
			"$msg" >"$out" 2>"$out.err"
		;;
	mail-dkim)
		perl "$DKIM_HELPERS/mail_dkim.pl" sign --key "$T/rsa1.pem" --domain "$DOM" \
			--selector "$sel" --canon "$canon" --alg "$alg" \
			${over:+--oversign-from} "$msg" >"$out" 2>"$out.err"
		;;
	esac
}

# mutate_expect NAME SIGNED MODE SPEC
mutate_expect() {
	local name=$1 in=$2 mode=$3 spec=$4 out=${2%.eml}.$3.eml
	if ! "$PY" "$DKIM_HELPERS/mutate.py" "$mode" "$in" >"$out"; then
		t_fail "$name" "mutate.py $mode does not apply to ${in#"$T"/}"
		return 0
	fi
	cachet_expect "$name" "$ZONE" "$out" "$spec"
}

# What RFC 6376 3.4 makes of each change, by header / body canonicalization.
hdr_ws() { [ "$1" = relaxed ] && echo pass || echo "fail:signature did not verify"; }
body_ws() { [ "$1" = relaxed ] && echo pass || echo "fail:body hash did not verify"; }

peer_case() { # PEER ALG CANON
	local peer=$1 alg=$2 canon=$3 hc=${3%/*} bc=${3#*/} tag s
	tag="$peer $alg $canon signs"
	s=$T/a-$peer-$alg-${canon/\//-}
	if peer_sign "$peer" "$alg" "$canon" "$s.eml" "$T/realistic.eml"; then
		cachet_expect "$tag realistic message: cachet -> pass" "$ZONE" "$s.eml" pass
		mutate_expect "$tag, body changed: cachet -> fail (body hash)" "$s.eml" body \
			"fail:body hash did not verify"
		mutate_expect "$tag, signed Subject changed: cachet -> fail (signature)" "$s.eml" subject \
			"fail:signature did not verify"
		mutate_expect "$tag, unsigned X-Added field added: cachet -> pass" "$s.eml" add-unsigned pass
		mutate_expect "$tag, spaces/tabs inside Subject value: cachet -> ${hdr_ws_word[$hc]}" \
			"$s.eml" subject-spaces "$(hdr_ws "$hc")"
		mutate_expect "$tag, Subject field name uppercased: cachet -> ${hdr_ws_word[$hc]}" \
			"$s.eml" subject-case "$(hdr_ws "$hc")"
		mutate_expect "$tag, folded To field unfolded: cachet -> ${hdr_ws_word[$hc]}" \
			"$s.eml" refold-to "$(hdr_ws "$hc")"
		mutate_expect "$tag, trailing whitespace on body lines: cachet -> ${body_ws_word[$bc]}" \
			"$s.eml" body-ws "$(body_ws "$bc")"
		mutate_expect "$tag, empty lines appended to the body: cachet -> pass" "$s.eml" add-blank pass
	else
		t_fail "$tag realistic message" "$(cat "$s.eml.err")"
	fi
	s=$T/a-$peer-$alg-${canon/\//-}-tb
	if peer_sign "$peer" "$alg" "$canon" "$s.eml" "$T/trailing-blank.eml"; then
		cachet_expect "$tag body ending in empty lines: cachet -> pass" "$ZONE" "$s.eml" pass
		mutate_expect "$tag body ending in empty lines, more appended: cachet -> pass" \
			"$s.eml" add-blank pass
		mutate_expect "$tag body ending in empty lines, them removed: cachet -> pass" \
			"$s.eml" strip-blank pass
		mutate_expect "$tag body ending in empty lines, text changed: cachet -> fail (body hash)" \
			"$s.eml" body "fail:body hash did not verify"
	else
		t_fail "$tag trailing-blank message" "$(cat "$s.eml.err")"
	fi
	s=$T/a-$peer-$alg-${canon/\//-}-os
	if peer_sign "$peer" "$alg" "$canon" "$s.eml" "$T/realistic.eml" oversign; then
		if [ "$(dkim_tag "$s.eml" h | tr : '\n' | grep -ci '^from$')" -ge 2 ]; then
			cachet_expect "$tag with From oversigned: cachet -> pass" "$ZONE" "$s.eml" pass
			mutate_expect "$tag with From oversigned, second From prepended: cachet -> fail (signature)" \
				"$s.eml" from-prepended "fail:signature did not verify"
		else
			t_fail "$tag with From oversigned: h= lists From twice" "got h=$(dkim_tag "$s.eml" h)"
		fi
	else
		t_fail "$tag with From oversigned" "$(cat "$s.eml.err")"
	fi
}

declare -A hdr_ws_word=([relaxed]=pass [simple]="fail (signature)")
declare -A body_ws_word=([relaxed]=pass [simple]="fail (body hash)")

for alg in rsa-sha256 ed25519-sha256; do
	for canon in simple/simple relaxed/relaxed relaxed/simple; do
		peer_case dkimpy "$alg" "$canon"
	done
done
for canon in simple/simple relaxed/relaxed; do
	peer_case mail-dkim rsa-sha256 "$canon"
done

# ---- (b) cachet signs, peers verify ----------------------------------------

# cachet_sign_case NAME OUT MSG SIGN-OPTS...: sign, then every peer verifies;
# then the body is changed and every peer must fail.
cachet_sign_case() {
	local name=$1 out=$2 msg=$3 alg=rsa-sha256 a
	shift 3
	for a in "$@"; do [ "$a" = ed25519-sha256 ] && alg=$a; done
	if ! "$CACHET_BIN" sign --domain "$DOM" "$@" "$msg" >"$out" 2>"$out.err"; then
		t_fail "cachet sign $name" "cachet sign $* failed:" "$(cat "$out.err")"
		return 0
	fi
	t_check "cachet sign $name: signed, nothing on stderr" test ! -s "$out.err"
	if run_peer "cachet sign $name: dkimpy -> pass" "$out.py" \
		"$PY" "$DKIM_HELPERS/dkimpy.py" verify --zone "$ZONE" "$out"; then
		t_ok "cachet sign $name: dkimpy -> pass"
	fi
	if [ "$alg" = rsa-sha256 ]; then
		if run_peer "cachet sign $name: Mail::DKIM -> pass" "$out.pl" \
			perl "$DKIM_HELPERS/mail_dkim.pl" verify --dns-port "$DNS_PORT" "$out"; then
			t_ok "cachet sign $name: Mail::DKIM -> pass"
		fi
	fi
	cachet_expect "cachet sign $name: cachet check -> pass" "$ZONE" "$out" pass

	"$PY" "$DKIM_HELPERS/mutate.py" body "$out" >"${out%.eml}.body.eml"
	"$PY" "$DKIM_HELPERS/dkimpy.py" verify --zone "$ZONE" "${out%.eml}.body.eml" \
		>"$out.py2" 2>&1
	if grep -q '^0 fail: body hash mismatch' "$out.py2"; then
		t_ok "cachet sign $name, body changed: dkimpy -> fail (body hash)"
	else
		t_fail "cachet sign $name, body changed: dkimpy -> fail (body hash)" "$(cat "$out.py2")"
	fi
	if [ "$alg" = rsa-sha256 ]; then
		perl "$DKIM_HELPERS/mail_dkim.pl" verify --dns-port "$DNS_PORT" \
			"${out%.eml}.body.eml" >"$out.pl2" 2>&1
		if grep -q '^0 fail (body has been altered)' "$out.pl2"; then
			t_ok "cachet sign $name, body changed: Mail::DKIM -> fail (body altered)"
		else
			t_fail "cachet sign $name, body changed: Mail::DKIM -> fail (body altered)" \
				"$(cat "$out.pl2")"
		fi
	fi
}

RSA=(--key "$T/rsa.pem" --selector rsa --algorithm rsa-sha256)
ED=(--key "$T/ed.pem" --selector ed --algorithm ed25519-sha256)
cachet_sign_case "rsa-sha256 relaxed/relaxed realistic" "$T/b-rsa-rr.eml" \
	"$T/realistic.eml" "${RSA[@]}" --canon relaxed/relaxed
cachet_sign_case "rsa-sha256 simple/simple realistic" "$T/b-rsa-ss.eml" \
	"$T/realistic.eml" "${RSA[@]}" --canon simple/simple
cachet_sign_case "rsa-sha256 relaxed/relaxed realistic CRLF" "$T/b-rsa-rr-crlf.eml" \
	"$T/realistic-crlf.eml" "${RSA[@]}" --canon relaxed/relaxed
cachet_sign_case "rsa-sha256 simple/simple CRLF, PKCS#1 key" "$T/b-rsa1-ss-crlf.eml" \
	"$T/realistic-crlf.eml" --key "$T/rsa1.pem" --selector rsa --canon simple/simple
cachet_sign_case "rsa-sha256 simple/simple body ending in empty lines" "$T/b-rsa-ss-tb.eml" \
	"$T/trailing-blank.eml" "${RSA[@]}" --canon simple/simple
cachet_sign_case "rsa-sha256 relaxed/relaxed body ending in empty lines" "$T/b-rsa-rr-tb.eml" \
	"$T/trailing-blank.eml" "${RSA[@]}" --canon relaxed/relaxed
cachet_sign_case "rsa-sha256 relaxed/simple, h= oversigning From, i= set" "$T/b-rsa-rs-h.eml" \
	"$T/realistic.eml" "${RSA[@]}" --canon relaxed/simple \
	--headers "from:from:to:cc:subject:date:message-id" --identity "alice@$DOM"
cachet_sign_case "ed25519-sha256 relaxed/relaxed realistic" "$T/b-ed-rr.eml" \
	"$T/realistic.eml" "${ED[@]}" --canon relaxed/relaxed
cachet_sign_case "ed25519-sha256 simple/simple realistic" "$T/b-ed-ss.eml" \
	"$T/realistic.eml" "${ED[@]}" --canon simple/simple
cachet_sign_case "ed25519-sha256 simple/simple CRLF body ending in empty lines" \
	"$T/b-ed-ss-tb.eml" "$T/trailing-blank-crlf.eml" "${ED[@]}" --canon simple/simple

# l= (RFC 6376 8.2): a signature over part of the body must not vouch for
# what follows it.  dkimpy writes l= when asked; cachet never does.
lsig=$T/l-rsa.eml
if "$PY" "$DKIM_HELPERS/dkimpy.py" sign --key "$T/rsa1.pem" --domain "$DOM" --selector rsa \
	--canon relaxed/relaxed --headers "$HDRS" --length "$T/realistic.eml" >"$lsig" 2>"$lsig.err"; then
	cachet_expect "dkimpy l= covering the whole body: cachet -> pass" "$ZONE" "$lsig" pass
	{ cat "$lsig"; printf 'Unsigned text appended after the signed length.\n'; } >"$T/l-more.eml"
	cachet_expect "dkimpy l= with content appended: cachet -> policy" "$ZONE" \
		"$T/l-more.eml" "policy:l= does not cover the whole body"
else
	t_fail "dkimpy signs with l=" "$(cat "$lsig.err")"
fi

t_done
