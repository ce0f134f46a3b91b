/*
 * Writing JSON (RFC 8259) into a buf: just string quoting, which is the
 * part that is easy to get wrong.  Input bytes that are not valid UTF-8
 * (mail is full of them) become U+FFFD, so the output is always valid JSON.
 */
#ifndef CACHET_JSON_H
#define CACHET_JSON_H

#include "buf.h"

/* Appends s as a JSON string, quotes included; NULL is written as null. */
void json_put_string(struct buf *b, const char *s);
/* Appends "key":value, value as json_put_string writes it (no comma). */
void json_put_member(struct buf *b, const char *key, const char *value);

#endif
