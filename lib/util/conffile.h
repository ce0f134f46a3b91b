/*
 * The engine behind every `Key value` configuration file of cachet (the
 * milter's milterd/config.c, the policy server's policyd/pconf.c): line syntax,
 * quoting, comments, `Include`, the value types, defaults fed through the
 * same parsers as the file, and errors of the form "FILE:LINE: KEY: text".
 * A program describes its file with a schema: a table of options (name,
 * type, default as written in a file, where the value lives in the
 * program's struct) and the size of that struct.  The engine allocates the
 * struct zeroed, applies the defaults, then the file.
 *
 * Syntax: the key is case-insensitive; the value is the rest of the line
 * with `#` comments removed and outer white space trimmed; double quotes
 * protect `#` and white space (`\"` and `\\` inside them).  CRLF line ends
 * are accepted; NUL bytes and other control characters (except tab) are
 * errors.  `Include FILE` reads FILE in place, relative to the including
 * file's folder, at most CONFFILE_MAX_INCLUDE_DEPTH deep, without cycles.
 * An option given twice: the later value wins, except for types that
 * accumulate (lists; they replace the default on their first use).
 *
 * Limits: CONFFILE_MAX_LINE bytes per line, CONFFILE_MAX_FILE per file,
 * CONFFILE_MAX_TOTAL over all the files of one load.  Only regular files
 * are read (a FIFO named by mistake must not hang start-up).
 */
#ifndef CACHET_CONFFILE_H
#define CACHET_CONFFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define CONFFILE_MAX_INCLUDE_DEPTH 8
#define CONFFILE_MAX_LINE 65536
#define CONFFILE_MAX_FILE ((size_t)4 << 20)
#define CONFFILE_MAX_TOTAL ((size_t)16 << 20)
/* the most addresses an address-list option holds */
#define CONFFILE_MAX_NAMESERVERS 32
/* errors reported from one load (the rest are counted, not listed) */
#define CONFFILE_MAX_ERRORS 20

/* bounds of a number option (the option's `extra`) */
struct conffile_bounds {
	unsigned long long min, max;
};

/* enum names and letters (the option's `extra`); the list ends with a NULL name */
struct conffile_name_value {
	const char *name;
	int value;
};

struct conffile_option;

/* What a value is parsed against, besides its option. */
struct conffile_ctx {
	const char *dir;	/* folder of the file it came from; NULL = cwd */
	bool replace;		/* accumulating types: first value from a file replaces the default */
};

/*
 * A kind of value.  `set` parses `value` into `field`; on failure it
 * returns false, leaves the field as it was and appends the reason to
 * `why`, worded to follow "KEY: " (usually "expected ...").  `drop` frees
 * what the field holds (NULL: nothing to free).
 */
struct conffile_type {
	size_t size;		/* the field's size; 0 = an unsigned number of 4 or 8 bytes */
	bool bounded;		/* extra is a struct conffile_bounds */
	bool needs_extra;	/* extra must be given */
	bool (*set)(const struct conffile_option *o, void *field, const char *value,
		    const struct conffile_ctx *ctx, struct buf *why);
	void (*drop)(void *field);
	/*
	 * Structured values that quote parts of themselves: the value is given
	 * as written (quotes and backslashes kept; `#` inside quotes is still
	 * not a comment; outer white space trimmed).
	 */
	bool raw;
};

struct conffile_option {
	const char *name;
	const struct conffile_type *type;
	const char *def;	/* default as written in a file; NULL = none (zero/NULL) */
	size_t offset;		/* of the field in the program's struct */
	size_t size;		/* of the field */
	const void *extra;	/* struct conffile_bounds or conffile_name_value[], by type */
};

/* A row of an option table: the field `field` of the struct `st`. */
#define CONFFILE_OPT(st, name, type, def, field, extra)                            \
	{ name, type, def, offsetof(st, field), sizeof(((st *)0)->field), extra }

struct conffile_schema {
	const struct conffile_option *options;
	size_t n_options;
	size_t size;		/* of the program's struct */
};

/* The types every program may use. */
extern const struct conffile_type conffile_string;	/* any non-empty text (char *) */
extern const struct conffile_type conffile_path;	/* a readable regular file, relative to the file */
extern const struct conffile_type conffile_bool;	/* yes/no, true/false, on/off, 1/0 */
extern const struct conffile_type conffile_uint;	/* whole number within bounds */
extern const struct conffile_type conffile_size;	/* bytes, suffix k/m/g, within bounds */
extern const struct conffile_type conffile_duration;	/* stored as ms; plain number = seconds */
extern const struct conffile_type conffile_octal;	/* a file mode within bounds */
extern const struct conffile_type conffile_enum;	/* one name of a name_value list, stored as int */
extern const struct conffile_type conffile_letters;	/* letters of a name_value list, OR-ed */
extern const struct conffile_type conffile_socket;	/* inet:PORT@ADDR, inet6:, local:/unix:PATH, /PATH */
extern const struct conffile_type conffile_addr_list;	/* IP[@PORT] list, accumulating, NULL-terminated char ** */
extern const struct conffile_type conffile_netlist;	/* a host list (netlist.h) */
extern const struct conffile_type conffile_facility;	/* a syslog facility name, stored as int */

/*
 * Loads `path` (conffile_load) or text named `name` (conffile_parse;
 * Include relative to the cwd) against the schema.  Returns the struct,
 * allocated with xcalloc(1, schema->size): free its fields with
 * conffile_drop() and then the struct with free().  On failure returns
 * NULL and sets *error_r (free() it) to every error met, one per line
 * ("NAME[:LINE]: [KEY: ]text", at most CONFFILE_MAX_ERRORS of them), so an
 * administrator fixes them all at once.  A default that fails (only through its environment)
 * is an error only when the file does not set the option.
 */
void *conffile_load(const struct conffile_schema *s, const char *path, char **error_r);
void *conffile_parse(const struct conffile_schema *s, const char *name, const char *text,
		     size_t len, char **error_r);
/* The defaults alone; a default that fails is logged as a warning and left zero. */
void *conffile_defaults(const struct conffile_schema *s);
/* Frees what every option's field holds (not the struct itself). */
void conffile_drop(const struct conffile_schema *s, void *obj);

/*
 * One file, several schemas: a program's own options and a fragment per
 * module that owns options of its own (each check of the milter), so a
 * module adds options without touching a shared struct.  Keys are looked
 * up in every fragment (names are unique across them: a clash is a bug and
 * aborts), the file syntax and the error words are those above.  Returns
 * an array of n structs, the f-th for frags[f] (free the whole with
 * conffile_free_multi), or NULL and *error_r as above.
 */
void **conffile_load_multi(const struct conffile_schema *const *frags, size_t n,
			   const char *path, char **error_r);
void **conffile_parse_multi(const struct conffile_schema *const *frags, size_t n,
			    const char *name, const char *text, size_t len, char **error_r);
void **conffile_defaults_multi(const struct conffile_schema *const *frags, size_t n);
/* Drops and frees every struct and the array; sets *objs to NULL. */
void conffile_free_multi(const struct conffile_schema *const *frags, size_t n, void ***objs);

/* Helpers for types defined by programs. */
/* Decimal digits (at least one) at *s; advances *s.  false on overflow. */
bool conffile_parse_digits(const char **s, unsigned long long *v_r);
/* NULL dir or absolute rel: rel itself.  Free with free(). */
char *conffile_path_join(const char *dir, const char *rel);

#endif
