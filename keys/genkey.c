/*
 * `cachet-keys genkey`: a new key pair for one selector.  Writes
 * DIR/SELECTOR.private (PEM PKCS#8, mode 0600) and DIR/SELECTOR.txt (the
 * TXT record in master-file syntax, strings of at most 255 octets) and
 * prints the record on stdout (what was written, and the KeyTable line,
 * on stderr), so `cachet-keys genkey ... >> zone` works.
 *
 * Keys come from OpenSSL 3's EVP_PKEY_Q_keygen: RSA (2048 bits unless
 * told; under 1024 refused, RFC 8301 3.2; over 8192 refused, receivers
 * would not verify it) or Ed25519 (RFC 8463).  An existing file is never
 * replaced: both files are created with O_EXCL before the key is made,
 * and removed again if anything fails after that.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "buf.h"
#include "file.h"
#include "keys.h"
#include "xalloc.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: cachet-keys genkey --domain D --selector S [options]\n"
		   "  --type rsa|ed25519     key type (default rsa)\n"
		   "  --bits N               RSA size, 1024..8192 (default 2048)\n"
		   "  --dir DIR              where S.private and S.txt go (default .)\n"
		   "Writes DIR/S.private (mode 0600) and DIR/S.txt, never over an existing\n"
		   "file, and prints the record to publish.\n"
		   "exit status: 0 written, 1 not written, 2 usage\n");
}

/* The key as PKCS#8 PEM in out; false if OpenSSL fails. */
static bool make_pem(const struct keys_genkey *g, struct buf *out)
{
	EVP_PKEY *pkey = g->type == DKIM_KEY_ED25519
				 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
				 : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)g->bits);
	BIO *bio = BIO_new(BIO_s_mem());
	bool ok = pkey != NULL && bio != NULL &&
		  PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1;
	if (ok) {
		char *pem = NULL;
		long len = BIO_get_mem_data(bio, &pem);
		ok = len > 0 && buf_append(out, pem, (size_t)len);
	}
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return ok;
}

/* Creates path, which must not exist; -1 after saying why. */
static int create_new(const char *path, mode_t mode, const char *cmd)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			fprintf(stderr, "cachet-keys %s: %s exists; not replacing it "
					"(choose another selector or --dir)\n", cmd, path);
		else
			fprintf(stderr, "cachet-keys %s: %s: %s\n", cmd, path, strerror(errno));
		return -1;
	}
	/* whatever the umask */
	if (fchmod(fd, mode) != 0) {
		fprintf(stderr, "cachet-keys %s: %s: %s\n", cmd, path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

static bool finish_file(int fd, const char *p, size_t len)
{
	bool ok = file_write_all(fd, p, len) && fsync(fd) == 0;
	return close(fd) == 0 && ok;
}

struct dkim_privkey *keys_generate(const struct keys_genkey *g, const char *cmd,
				   char **private_r)
{
	const char *dir = g->dir != NULL ? g->dir : ".";
	char *priv = xasprintf("%s/%s.private", dir, g->selector);
	char *txt = xasprintf("%s/%s.txt", dir, g->selector);
	struct dkim_privkey *key = NULL;
	struct buf pem, rec;
	buf_init(&pem, DKIM_PRIVKEY_FILE_MAX);
	buf_init(&rec, 0);
	int fd_priv = create_new(priv, 0600, cmd);
	int fd_txt = fd_priv >= 0 ? create_new(txt, 0644, cmd) : -1;
	if (fd_txt < 0) {
		if (fd_priv >= 0) {
			close(fd_priv);
			unlink(priv);
		}
		goto out;
	}
	const char *error = "OpenSSL could not make the key";
	if (make_pem(g, &pem))
		key = dkim_privkey_load_pem(pem.p, pem.len, &error);
	if (key != NULL) {
		dkim_privkey_zone_record(key, g->selector, g->domain, &rec);
		/* both files are finished (and closed) whatever happens to the first */
		bool ok_priv = finish_file(fd_priv, pem.p, pem.len);
		bool ok_txt = finish_file(fd_txt, rec.p, rec.len);
		if (!ok_priv || !ok_txt) {
			error = strerror(errno);
			dkim_privkey_free(&key);
		}
	} else {
		close(fd_priv);
		close(fd_txt);
	}
	if (key == NULL) {
		fprintf(stderr, "cachet-keys %s: %s\n", cmd, error);
		unlink(priv);
		unlink(txt);
	}
out:
	OPENSSL_cleanse(pem.p, pem.len);
	buf_free(&pem);
	buf_free(&rec);
	free(txt);
	if (key != NULL)
		*private_r = priv;
	else
		free(priv);
	return key;
}

enum { O_DOMAIN = 256, O_SEL, O_TYPE, O_BITS, O_DIR };

static int parse_args(int argc, char **argv, struct keys_genkey *g)
{
	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, O_DOMAIN },
		{ "selector", required_argument, NULL, O_SEL },
		{ "type", required_argument, NULL, O_TYPE },
		{ "bits", required_argument, NULL, O_BITS },
		{ "dir", required_argument, NULL, O_DIR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long long bits = 0;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_DOMAIN: g->domain = optarg; break;
		case O_SEL: g->selector = optarg; break;
		case O_DIR: g->dir = optarg; break;
		case O_TYPE:
			if (strcmp(optarg, "rsa") == 0)
				g->type = DKIM_KEY_RSA;
			else if (strcmp(optarg, "ed25519") == 0)
				g->type = DKIM_KEY_ED25519;
			else {
				fprintf(stderr, "cachet-keys genkey: --type: rsa or ed25519\n");
				return -1;
			}
			break;
		case O_BITS:
			if (keys_parse_number(optarg, 1, 1 << 20, &bits) < 0) {
				fprintf(stderr, "cachet-keys genkey: --bits: a number of bits\n");
				return -1;
			}
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (g->domain == NULL || g->selector == NULL || optind != argc) {
		usage(stderr);
		return -1;
	}
	const char *bad;
	if ((bad = keys_name_problem(g->domain)) != NULL ||
	    (bad = keys_name_problem(g->selector)) != NULL) {
		fprintf(stderr, "cachet-keys genkey: %s %s\n",
			keys_name_problem(g->domain) != NULL ? g->domain : g->selector, bad);
		return -1;
	}
	if (g->type == DKIM_KEY_ED25519 && bits != 0) {
		fprintf(stderr, "cachet-keys genkey: --bits is for RSA keys (Ed25519 keys have one size)\n");
		return -1;
	}
	g->bits = bits != 0 ? (int)bits : KEYS_RSA_DEFAULT_BITS;
	if (g->type == DKIM_KEY_RSA && g->bits < DKIM_RSA_MIN_BITS) {
		fprintf(stderr, "cachet-keys genkey: refusing a %d-bit RSA key: receivers ignore "
				"keys under %d bits (RFC 8301 3.2); use 2048\n", g->bits,
			DKIM_RSA_MIN_BITS);
		return -1;
	}
	if (g->type == DKIM_KEY_RSA && g->bits > DKIM_RSA_MAX_BITS) {
		fprintf(stderr, "cachet-keys genkey: refusing a %d-bit RSA key: receivers do not "
				"verify keys over %d bits; use 2048\n", g->bits, DKIM_RSA_MAX_BITS);
		return -1;
	}
	return 0;
}

int cmd_genkey(int argc, char **argv)
{
	struct keys_genkey g = { 0 };
	if (parse_args(argc, argv, &g) < 0)
		return 2;
	char *path = NULL;
	struct dkim_privkey *key = keys_generate(&g, "genkey", &path);
	if (key == NULL)
		return 1;
	struct buf rec;
	buf_init(&rec, 0);
	dkim_privkey_zone_record(key, g.selector, g.domain, &rec);
	/* a KeyTable file name must start with "/", "./" or "../" */
	char *abs = realpath(path, NULL);
	fprintf(stderr, "wrote %s (%s, mode 0600) and %s/%s.txt\n"
			"KeyTable line: %s._domainkey.%s %s:%s:%s\n"
			"publish this record in the zone of %s:\n",
		path, keys_key_words(key), g.dir != NULL ? g.dir : ".", g.selector, g.selector,
		g.domain, g.domain, g.selector, abs != NULL ? abs : path, g.domain);
	fputs(rec.p, stdout);
	buf_free(&rec);
	free(abs);
	free(path);
	dkim_privkey_free(&key);
	return 0;
}
