/*
 * The header lists cachet signs by default, shared by the milter's signer
 * and `cachet sign` so both produce the same h=.
 */
#include "dkim.h"

#include "compiler.h"

/* RFC 6376 5.4.1's list, plus the MIME fields that change how a body reads. */
const char *const dkim_default_sign_headers[] = {
	"From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID", "In-Reply-To",
	"References", "Sender", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "Content-ID", "Content-Description", "Resent-Date",
	"Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Message-ID",
	"List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post",
	"List-Subscribe", "List-Post", "List-Owner", "List-Archive",
};
const size_t dkim_default_sign_headers_count = ARRAY_LEN(dkim_default_sign_headers);

/* The fields a forger would most like to add (RFC 6376 8.15). */
const char *const dkim_default_oversign_headers[] = {
	"From", "To", "Cc", "Subject", "Date", "Reply-To", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding",
};
const size_t dkim_default_oversign_headers_count = ARRAY_LEN(dkim_default_oversign_headers);
