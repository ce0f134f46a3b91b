# tests/integration/dkim/lib_dkim.sh — DKIM helpers shared by
# t_dkim_interop.sh and t_dkim_rfc8463.sh.  Sourced after lib.sh (uses $T,
# $REPO, $PY, t_ok/t_fail).
#
#   cachet_expect NAME ZONE MSG SPEC...
#       run `cachet check --json --dns-zone ZONE MSG`; ok when its "dkim"
#       list has one entry per SPEC, in order, each matching: SPEC is a
#       result ("pass") or RESULT:REASON-SUBSTRING ("fail:body hash").
#   dkim_tag FILE TAG [N]     TAG's value in the N-th DKIM-Signature field.
#   make_keys DIR             RSA 2048 (PKCS#8 rsa.pem + PKCS#1 rsa1.pem)
#                             and Ed25519 (ed.pem) keys; their p= values in
#                             $DIR/rsa.p and $DIR/ed.p.
#   key_p_rsa PEM / key_p_ed PEM   the p= value of a key record.
#   run_peer NAME OUT CMD...  run CMD with stdout to OUT; ok-silent when it
#                             succeeds, else t_fail NAME with its stderr.
#
# Vars: CACHET_BIN (default build/bin/cachet), DKIM_HELPERS.

CACHET_BIN=${CACHET_BIN:-$REPO/build/bin/cachet}
DKIM_HELPERS=$REPO/tests/integration/dkim

cachet_expect() {
	local name=$1 zone=$2 msg=$3 out got want spec rc i=0
	shift 3
	out=$T/check.$RANDOM.json
	"$CACHET_BIN" check --json --dns-zone "$zone" "$msg" >"$out" 2>"$out.err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		t_fail "$name" "cachet check exited $rc on ${msg#"$T"/}" "$(cat "$out.err")"
		return 0
	fi
	mapfile -t got < <("$PY" "$DKIM_HELPERS/msginfo.py" results "$out")
	want="$*"
	if [ "${#got[@]}" -ne $# ]; then
		t_fail "$name" "want dkim results: $want" "got ${#got[@]} entries:" "${got[@]}"
		return 0
	fi
	for spec in "$@"; do
		local res=${spec%%:*} reason=
		[ "$spec" != "$res" ] && reason=${spec#*:}
		local g_res=${got[$i]%%|*} rest=${got[$i]#*|}
		local g_reason=${rest%%|*}
		if [ "$g_res" != "$res" ] || { [ -n "$reason" ] && [[ "$g_reason" != *"$reason"* ]]; }; then
			t_fail "$name" "want dkim results: $want" "got (result|reason|d|s|a):" "${got[@]}" \
				"message: ${msg#"$T"/}"
			return 0
		fi
		i=$((i + 1))
	done
	t_ok "$name"
}

dkim_tag() {
	"$PY" "$DKIM_HELPERS/msginfo.py" tag "$@"
}

key_p_rsa() {
	openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | base64 -w0
}

# RFC 8463 3: the raw 32-byte public key, i.e. the end of the SPKI DER.
key_p_ed() {
	openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0
}

make_keys() {
	local d=$1
	(
		umask 077
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/rsa.pem" 2>/dev/null &&
			openssl pkey -in "$d/rsa.pem" -traditional -out "$d/rsa1.pem" 2>/dev/null &&
			openssl genpkey -algorithm ed25519 -out "$d/ed.pem" 2>/dev/null
	) || return 1
	key_p_rsa "$d/rsa.pem" >"$d/rsa.p" && key_p_ed "$d/ed.pem" >"$d/ed.p" &&
		[ -s "$d/rsa.p" ] && [ -s "$d/ed.p" ]
}

# Split a TXT value into quoted strings of at most 255 bytes (RFC 1035
# 3.3.14: one character-string holds 255 octets).
txt_rdata() {
	local s=$1 out=""
	while [ ${#s} -gt 255 ]; do
		out+="\"${s:0:255}\" "
		s=${s:255}
	done
	printf '%s"%s"' "$out" "$s"
}

run_peer() {
	local name=$1 out=$2
	shift 2
	if "$@" >"$out" 2>"$out.err"; then
		return 0
	fi
	t_fail "$name" "failed: ${*#"$REPO"/}" "$(head -c 2000 "$out.err")"
	return 1
}
