/* conn.c - the IMAP connection (imap.h): TCP, TLS with OpenSSL, buffered
 * writes, the reader of whole responses, a timeout on every wait. */
#include "imap/imap.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define OUT_MAX (64 * 1024)
#define IN_CHUNK (64 * 1024)

struct ms_imap_conn {
	int fd;
	char name[300];        /* HOST:PORT, for messages */
	int timeout_ms;
	SSL_CTX *ctx;
	SSL *ssl;
	char *out;             /* queued bytes */
	size_t out_len;
	char *in;              /* bytes read, not yet returned: in[in_pos..in_len) */
	size_t in_pos, in_len, in_cap;
};

static int wait_fd(ms_imap_conn *c, short ev, ms_err *e)
{
	struct pollfd p = { .fd = c->fd, .events = ev };
	for (;;) {
		int n = poll(&p, 1, c->timeout_ms > 0 ? c->timeout_ms : -1);
		if (n > 0)
			return 0;
		if (n == 0)
			return ms_err_set(e, MS_E_IO, "IMAP server %s: no answer within %d s (timeout)", c->name,
			                  c->timeout_ms / 1000);
		if (errno != EINTR)
			return ms_err_set(e, MS_E_IO, "IMAP server %s: %s", c->name, strerror(errno));
	}
}

/* OpenSSL's reason for the last failure, as one phrase. */
static const char *ssl_reason(char *buf, size_t len)
{
	unsigned long err = ERR_get_error();
	if (!err)
		return "the connection was closed";
	ERR_error_string_n(err, buf, len);
	ERR_clear_error();
	return buf;
}

ms_imap_conn *ms_imap_conn_fd(int fd, const char *name, int timeout_ms)
{
	ms_imap_conn *c = calloc(1, sizeof *c);
	if (!c || !(c->out = malloc(OUT_MAX))) {
		free(c);
		return NULL;
	}
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	/* non-blocking, so every wait is a poll with the timeout */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	snprintf(c->name, sizeof c->name, "%s", name);
	return c;
}

static int tcp_connect(const ms_imap_conn_opts *o, int *fd, ms_err *e)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC }, *res = NULL;
	int rc = getaddrinfo(o->host, o->port, &hints, &res);
	if (rc != 0)
		return ms_err_set(e, MS_E_IO, "IMAP server %s:%s: cannot resolve the host name: %s", o->host, o->port,
		                  gai_strerror(rc));
	int err = 0;
	*fd = -1;
	for (struct addrinfo *a = res; a && *fd < 0; a = a->ai_next) {
		int s = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
		if (s < 0) {
			err = errno;
			continue;
		}
		if (connect(s, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			err = errno;
			close(s);
			continue;
		}
		struct pollfd p = { .fd = s, .events = POLLOUT };
		int n = poll(&p, 1, o->timeout_ms > 0 ? o->timeout_ms : -1);
		socklen_t sl = sizeof err;
		if (n <= 0) {
			err = n == 0 ? ETIMEDOUT : errno;
		} else if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err == 0) {
			*fd = s;
			break;
		}
		close(s);
	}
	freeaddrinfo(res);
	if (*fd < 0)
		return ms_err_set(e, MS_E_IO, "IMAP server %s:%s: cannot connect: %s", o->host, o->port, strerror(err));
	return 0;
}

int ms_imap_connect(const ms_imap_conn_opts *o, ms_imap_conn **out, ms_err *e)
{
	int fd;
	*out = NULL;
	if (tcp_connect(o, &fd, e) < 0)
		return -1;
	char name[300];
	snprintf(name, sizeof name, "%s:%s", o->host, o->port);
	ms_imap_conn *c = ms_imap_conn_fd(fd, name, o->timeout_ms);
	if (!c) {
		close(fd);
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	}
	if (o->tls == MS_IMAP_TLS_IMPLICIT && ms_imap_conn_starttls(c, o, e) < 0) {
		ms_imap_conn_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

static int handshake(ms_imap_conn *c, ms_err *e)
{
	for (;;) {
		int rc = SSL_connect(c->ssl);
		if (rc == 1)
			return 0;
		int why = SSL_get_error(c->ssl, rc);
		if (why == SSL_ERROR_WANT_READ || why == SSL_ERROR_WANT_WRITE) {
			if (wait_fd(c, why == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, e) < 0)
				return -1;
			continue;
		}
		long v = SSL_get_verify_result(c->ssl);
		if (v != X509_V_OK)
			return ms_err_set(e, MS_E_IO, "IMAP server %s: TLS: the server's certificate is not trusted: %s "
			                  "(tls-verify no, or /novalidate-cert, turns the check off)",
			                  c->name, X509_verify_cert_error_string(v));
		char buf[256];
		return ms_err_set(e, MS_E_IO, "IMAP server %s: TLS handshake failed: %s", c->name, ssl_reason(buf, sizeof buf));
	}
}

int ms_imap_conn_starttls(ms_imap_conn *c, const ms_imap_conn_opts *o, ms_err *e)
{
	assert(!c->ssl);
	if (c->in_len > c->in_pos) /* bytes sent before the handshake: an injection attempt (CVE-2011-0411) */
		return ms_err_set(e, MS_E_IO, "IMAP server %s: sent data after its STARTTLS answer: refused", c->name);
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx)
		return ms_err_set(e, MS_E_NOMEM, "IMAP server %s: TLS: out of memory", c->name);
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	if (o->verify) {
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
		if (o->cafile ? SSL_CTX_load_verify_locations(c->ctx, o->cafile, NULL) != 1
		              : SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
			char buf[256];
			return ms_err_set(e, MS_E_CONFIG, "IMAP server %s: TLS: cannot load the CA certificates%s%s: %s",
			                  c->name, o->cafile ? " from " : "", o->cafile ? o->cafile : "",
			                  ssl_reason(buf, sizeof buf));
		}
	} else {
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	}
	if (!(c->ssl = SSL_new(c->ctx)) || SSL_set_fd(c->ssl, c->fd) != 1)
		return ms_err_set(e, MS_E_NOMEM, "IMAP server %s: TLS: out of memory", c->name);
	SSL_set_tlsext_host_name(c->ssl, o->host); /* SNI; a literal address is sent too, servers ignore it */
	if (o->verify) {
		/* the name must match: a DNS name against the certificate's names, an address against its IPs */
		SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(c->ssl, o->host) != 1)
			return ms_err_set(e, MS_E_IO, "IMAP server %s: TLS: cannot check the host name", c->name);
	}
	return handshake(c, e);
}

bool ms_imap_conn_is_tls(const ms_imap_conn *c)
{
	return c->ssl != NULL;
}

void ms_imap_conn_close(ms_imap_conn *c)
{
	if (!c)
		return;
	if (c->ssl) {
		SSL_shutdown(c->ssl); /* best effort, no wait: the server may be gone */
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	free(c->in);
	free(c);
}

/* ---- writing --------------------------------------------------------------------- */

static int write_all(ms_imap_conn *c, const char *p, size_t n, ms_err *e)
{
	while (n > 0) {
		ssize_t w;
		if (c->ssl) {
			size_t done = 0;
			int rc = SSL_write_ex(c->ssl, p, n, &done);
			if (rc == 1) {
				p += done, n -= done;
				continue;
			}
			int why = SSL_get_error(c->ssl, rc);
			if (why == SSL_ERROR_WANT_READ || why == SSL_ERROR_WANT_WRITE) {
				if (wait_fd(c, why == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, e) < 0)
					return -1;
				continue;
			}
			char buf[256];
			return ms_err_set(e, MS_E_IO, "IMAP server %s: the connection broke while sending: %s", c->name,
			                  ssl_reason(buf, sizeof buf));
		}
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w, n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(c, POLLOUT, e) < 0)
				return -1;
		} else if (w < 0 && errno != EINTR) {
			return ms_err_set(e, MS_E_IO, "IMAP server %s: the connection broke while sending: %s", c->name,
			                  strerror(errno));
		}
	}
	return 0;
}

int ms_imap_flush(ms_imap_conn *c, ms_err *e)
{
	int rc = write_all(c, c->out, c->out_len, e);
	c->out_len = 0;
	return rc;
}

int ms_imap_send(ms_imap_conn *c, const void *p, size_t n, ms_err *e)
{
	if (c->out_len + n > OUT_MAX) {
		if (ms_imap_flush(c, e) < 0)
			return -1;
		if (n > OUT_MAX)
			return write_all(c, p, n, e);
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

int ms_imap_sendf(ms_imap_conn *c, ms_err *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ms_err_set(e, MS_E_NOMEM, "out of memory");
	int rc = ms_imap_send(c, s, (size_t)n, e);
	free(s);
	return rc;
}

/* ---- reading --------------------------------------------------------------------- */

/* Read more bytes into c->in; 0 on success. */
static int fill(ms_imap_conn *c, ms_err *e)
{
	if (c->in_pos > 0 && c->in_pos == c->in_len)
		c->in_pos = c->in_len = 0;
	if (c->in_cap - c->in_len < IN_CHUNK) {
		if (c->in_pos > 0) {
			memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
			c->in_len -= c->in_pos;
			c->in_pos = 0;
		}
		if (c->in_cap - c->in_len < IN_CHUNK) {
			char *n = realloc(c->in, c->in_cap + IN_CHUNK);
			if (!n)
				return ms_err_set(e, MS_E_NOMEM, "out of memory");
			c->in = n;
			c->in_cap += IN_CHUNK;
		}
	}
	for (;;) {
		size_t room = c->in_cap - c->in_len;
		if (c->ssl) {
			size_t got = 0;
			int rc = SSL_read_ex(c->ssl, c->in + c->in_len, room, &got);
			if (rc == 1) {
				c->in_len += got;
				return 0;
			}
			int why = SSL_get_error(c->ssl, rc);
			if (why == SSL_ERROR_WANT_READ || why == SSL_ERROR_WANT_WRITE) {
				if (wait_fd(c, why == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, e) < 0)
					return -1;
				continue;
			}
			char buf[256];
			return ms_err_set(e, MS_E_IO, "IMAP server %s: the connection was closed: %s", c->name,
			                  why == SSL_ERROR_ZERO_RETURN ? "by the server" : ssl_reason(buf, sizeof buf));
		}
		ssize_t r = recv(c->fd, c->in + c->in_len, room, 0);
		if (r > 0) {
			c->in_len += (size_t)r;
			return 0;
		}
		if (r == 0)
			return ms_err_set(e, MS_E_IO, "IMAP server %s: the connection was closed by the server", c->name);
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_fd(c, POLLIN, e) < 0)
				return -1;
		} else if (errno != EINTR) {
			return ms_err_set(e, MS_E_IO, "IMAP server %s: the connection broke: %s", c->name, strerror(errno));
		}
	}
}

static int resp_add(ms_imap_resp *r, const char *p, size_t n, ms_err *e)
{
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + n + 1)
			cap *= 2;
		char *b = realloc(r->buf, cap);
		if (!b)
			return ms_err_set(e, MS_E_NOMEM, "out of memory for a %zu-byte IMAP response", r->len + n);
		r->buf = b;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return 0;
}

/* The length a line announces with "{N}" or "{N+}" at its end, or -1. */
static long long announced(const char *line, size_t len)
{
	if (len < 3 || line[len - 1] != '}')
		return -1;
	size_t i = len - 1;
	if (line[i - 1] == '+')
		i--;
	size_t digits_end = i;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
		i--;
	if (i == 0 || i == digits_end || line[i - 1] != '{' || digits_end - i > 12)
		return -1;
	return strtoll(line + i, NULL, 10);
}

int ms_imap_read(ms_imap_conn *c, ms_imap_resp *r, ms_err *e)
{
	r->len = 0;
	for (;;) {
		/* one line */
		char *nl = NULL;
		size_t start = r->len;
		while (c->in_pos == c->in_len || !(nl = memchr(c->in + c->in_pos, '\n', c->in_len - c->in_pos))) {
			size_t n = c->in_len - c->in_pos;
			if (n && resp_add(r, c->in + c->in_pos, n, e) < 0)
				return -1;
			c->in_pos = c->in_len;
			if (fill(c, e) < 0)
				return -1;
		}
		size_t n = (size_t)(nl - (c->in + c->in_pos));
		if (resp_add(r, c->in + c->in_pos, n, e) < 0)
			return -1;
		c->in_pos += n + 1;
		if (r->len > start && r->buf[r->len - 1] == '\r')
			r->buf[--r->len] = '\0';
		long long lit = announced(r->buf + start, r->len - start);
		if (lit < 0)
			return 0;
		/* the literal, kept as the protocol sent it: CRLF then its bytes */
		if (resp_add(r, "\r\n", 2, e) < 0)
			return -1;
		size_t want = (size_t)lit;
		while (want > 0) {
			if (c->in_pos == c->in_len && fill(c, e) < 0)
				return -1;
			size_t take = c->in_len - c->in_pos < want ? c->in_len - c->in_pos : want;
			if (resp_add(r, c->in + c->in_pos, take, e) < 0)
				return -1;
			c->in_pos += take;
			want -= take;
		}
	}
}

void ms_imap_resp_free(ms_imap_resp *r)
{
	free(r->buf);
	memset(r, 0, sizeof *r);
}

size_t ms_imap_conn_buffered(const ms_imap_conn *c)
{
	return c->in_len - c->in_pos;
}
