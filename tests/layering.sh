#!/usr/bin/env bash
# The layering test of the libraries (`make layering`, run by tests/run.sh).
#
#   tests/layering.sh CC INC_UTIL INC_DNS INC_MAIL INC_POLICYD
#
# lib/util < lib/dns < lib/mail < the programs: a folder may include its own
# headers and those of the layers below it, never those above.  Checked two
# ways: (1) the include graph, read from the sources: every #include "x.h"
# of a layer must name a header of that layer or a lower one; (2) the build
# itself: a file compiled with a layer's include path (the very flags the
# Makefile uses) that includes a higher layer's header must fail to compile.
# Then (3) the programs link only what they use: cachet-policyd has neither
# libspf2, libopendmarc, libunbound nor libmilter, cachet-keys none of
# libspf2, libopendmarc, libmilter, libpsl and libhiredis, only the
# milter has libmilter, and neither the milter nor the CLI has libspf2.  Prints "ok - ..." / "not ok - ..." lines; exit 0 iff all passed.
set -u
cd "$(dirname "$0")/.." || exit 2
CC=$1 INC_UTIL=$2 INC_DNS=$3 INC_MAIL=$4 INC_POLICYD=$5
BUILD=${BUILD:-build}
failed=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; shift; for l in "$@"; do echo "# $l"; done; failed=1; }

# The headers a folder may include, by layer.
allowed_headers() {
	local d
	for d in "$@"; do ls "$d"/*.h 2>/dev/null; done | xargs -n1 basename | sort -u
}

check_folder() {
	local folder=$1
	shift
	local allowed bad=() f inc
	allowed=$(allowed_headers "$@")
	for f in "$folder"/*.[ch]; do
		while read -r inc; do
			grep -qxF "$inc" <<<"$allowed" || bad+=("$f includes $inc")
		done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done
	if [ ${#bad[@]} -eq 0 ]; then
		ok "$folder includes only its own layer and those below ($*)"
	else
		not_ok "$folder includes only its own layer and those below ($*)" "${bad[@]}"
	fi
}

check_folder lib/util lib/util
check_folder lib/dns lib/util lib/dns
check_folder lib/mail lib/util lib/dns lib/mail
check_folder policyd lib/util policyd
check_folder keys lib/util lib/dns lib/mail keys

# A header of a higher layer must not even be found with a lower layer's flags.
probe() {
	local name=$1 inc=$2 header=$3 out
	# shellcheck disable=SC2086 # the include flags are several words
	if out=$(printf '#include "%s"\n' "$header" | $CC -D_GNU_SOURCE $inc -fsyntax-only -x c - 2>&1); then
		not_ok "$name" "compiled with: $inc"
	elif grep -q 'No such file' <<<"$out"; then
		ok "$name"
	else
		not_ok "$name" "failed for another reason:" "$out"
	fi
}
probe "lib/util cannot include lib/dns (dns.h)" "$INC_UTIL" dns.h
probe "lib/util cannot include lib/mail (header.h)" "$INC_UTIL" header.h
probe "lib/dns cannot include lib/mail (dkim.h)" "$INC_DNS" dkim.h
probe "lib/mail cannot include milterd (pipeline.h)" "$INC_MAIL" pipeline.h
probe "policyd cannot include lib/dns (dns.h)" "$INC_POLICYD" dns.h
probe "policyd cannot include milterd (config.h)" "$INC_POLICYD" config.h

# And the right include still compiles (the probe is not failing for nothing).
# shellcheck disable=SC2086
if printf '#include "buf.h"\n#include "dns.h"\n#include "header.h"\n' |
	$CC -D_GNU_SOURCE $INC_MAIL -fsyntax-only -x c - 2>/dev/null; then
	ok "lib/mail's flags find util, dns and mail headers"
else
	not_ok "lib/mail's flags find util, dns and mail headers"
fi

linked() { ldd "$1" 2>/dev/null | awk '{print $1}'; }
if [ -x "$BUILD/bin/cachet-policyd" ]; then
	bad=$(linked "$BUILD/bin/cachet-policyd" | grep -E 'libspf2|libopendmarc|libunbound|libmilter')
	if [ -z "$bad" ]; then
		ok "cachet-policyd links no libspf2, libopendmarc, libunbound or libmilter"
	else
		not_ok "cachet-policyd links no libspf2, libopendmarc, libunbound or libmilter" "$bad"
	fi
else
	not_ok "cachet-policyd is built" "$BUILD/bin/cachet-policyd missing"
fi
if [ -x "$BUILD/bin/cachet-keys" ]; then
	bad=$(linked "$BUILD/bin/cachet-keys" | grep -E 'libspf2|libopendmarc|libmilter|libpsl|libhiredis')
	if [ -z "$bad" ]; then
		ok "cachet-keys links no libspf2, libopendmarc, libmilter, libpsl or libhiredis"
	else
		not_ok "cachet-keys links no libspf2, libopendmarc, libmilter, libpsl or libhiredis" "$bad"
	fi
else
	not_ok "cachet-keys is built" "$BUILD/bin/cachet-keys missing"
fi
if [ -x "$BUILD/bin/cachet" ]; then
	bad=$(nm "$BUILD/bin/cachet" 2>/dev/null | grep -E ' (smfi_|mi_)[a-z]' | head -3)
	bad+=$(linked "$BUILD/bin/cachet" | grep libmilter)
	if [ -z "$bad" ]; then
		ok "cachet (the CLI) has no libmilter"
	else
		not_ok "cachet (the CLI) has no libmilter" "$bad"
	fi
fi
# SPF is ours (milterd/spf_dns.c): libspf2 is the benchmarks' peer only
for prog in cachet-milterd cachet; do
	[ -x "$BUILD/bin/$prog" ] || continue
	bad=$(linked "$BUILD/bin/$prog" | grep libspf2)
	if [ -z "$bad" ]; then
		ok "$prog links no libspf2"
	else
		not_ok "$prog links no libspf2" "$bad"
	fi
done
exit $failed
