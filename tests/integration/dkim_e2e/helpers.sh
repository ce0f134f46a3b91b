# tests/integration/dkim_e2e/helpers.sh — key, zone and DKIM-Signature
# helpers for t_dkim_e2e.sh (sourced after lib.sh; uses $T and sink_*).
#
# Keys are made at run time with openssl (nothing secret is committed) and
# published through a zone file built from example.org.zone.in.  Tag
# helpers read the unfolded header lines sink_headers prints; they are a
# test's reading of RFC 6376 3.2 tag lists (split on ";", whitespace
# removed), not a DKIM parser.
#
#   dkim_gen_rsa FILE [-traditional]  2048-bit RSA key, mode 0600
#                        (-traditional: PKCS#1 "RSA PRIVATE KEY" PEM, as
#                        opendkim-genkey wrote them).
#   dkim_gen_ed25519 FILE             Ed25519 key, mode 0600.
#   dkim_txt_rsa FILE / dkim_txt_ed25519 FILE
#                        the TXT rdata of the key record, as zone-file
#                        quoted strings of at most 200 bytes each.
#   dkim_zone_write TEMPLATE OUT NAME=VALUE...
#                        copy TEMPLATE replacing every @NAME@ by VALUE.
#   dkim_sigs FILE       the value of each DKIM-Signature of a delivered
#                        message, one per line, whitespace removed.
#   dkim_tag SIG TAG     the value of TAG in SIG (a dkim_sigs line).
#   msg_field_count FILE NAME  how many NAME: fields the message has.
#   count_in_list LIST NAME    how many times NAME is in the colon-separated
#                        LIST (case-insensitive).

dkim_gen_rsa() {
	local f=$1
	if [ "${2:-}" = -traditional ]; then
		openssl genrsa -traditional -out "$f" 2048 2>/dev/null || return 1
	else
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
			-out "$f" 2>/dev/null || return 1
	fi
	chmod 600 "$f"
}

dkim_gen_ed25519() {
	openssl genpkey -algorithm ed25519 -out "$1" 2>/dev/null || return 1
	chmod 600 "$1"
}

# Zone files cap one character-string at 255 bytes (RFC 1035 3.3): cut the
# record into quoted pieces.
dkim_txt_quote() {
	local s=$1 out="("
	while [ ${#s} -gt 200 ]; do
		out+=" \"${s:0:200}\""
		s=${s:200}
	done
	echo "$out \"$s\" )"
}

dkim_txt_rsa() {
	local p
	p=$(openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | base64 -w0) || return 1
	dkim_txt_quote "v=DKIM1; k=rsa; p=$p"
}

# RFC 8463 4.2: p= is the bare 32-byte public key, not the SPKI structure.
dkim_txt_ed25519() {
	local p
	p=$(openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0) || return 1
	dkim_txt_quote "v=DKIM1; k=ed25519; p=$p"
}

dkim_zone_write() {
	local tmpl=$1 out=$2 kv script=""
	shift 2
	for kv in "$@"; do
		# Values are base64 and quotes: "|" cannot occur in them.
		script+="s|@${kv%%=*}@|${kv#*=}|g;"
	done
	sed "$script" "$tmpl" >"$out"
}

dkim_sigs() {
	sink_headers "$1" | sed -n 's/^[Dd][Kk][Ii][Mm]-[Ss]ignature:[[:space:]]*//p' |
		tr -d ' \t'
}

dkim_tag() {
	printf '%s\n' "$1" | tr ';' '\n' | sed -n "s/^$2=//p" | head -n 1
}

msg_field_count() {
	sink_headers "$1" | grep -ci "^$2[[:space:]]*:"
}

count_in_list() {
	printf '%s\n' "$1" | tr ':' '\n' | grep -cix -- "$2"
}
