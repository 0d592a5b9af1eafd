/* shim.c - the durability shim: an LD_PRELOAD library for tests.
 *
 * What reaches the disk, and in which order, cannot be seen from outside
 * a process: a test that only looks at files after a run passes whether
 * or not the program called fsync before its rename.  This library sits
 * between mstore and libc and
 *
 *   records every durability-relevant call, in order, one line each, to
 *   the file named by MSTORE_DURABILITY_LOG:
 *       KIND <TAB> RESULT <TAB> PATH [<TAB> PATH2 or DATA]
 *   KIND is the libc function (fsync, fdatasync, syncfs, rename, renameat,
 *   renameat2, unlink, unlinkat, open (only with O_CREAT), ftruncate,
 *   mkdir, write, pwrite, send); RESULT is "ok", an errno name, or "exit";
 *   PATH is absolute (file descriptors are resolved through
 *   /proc/self/fd; a socket shows as "socket:[N]"); for renames the
 *   second path is the target, for writes to sockets DATA is the first
 *   printable bytes of the message (so an SQL statement on its way to a
 *   database server can be placed in the order);
 *
 *   injects one fault, MSTORE_DURABILITY_FAULT="KIND N ACTION [MATCH]":
 *   the Nth call of KIND (a trailing * matches a prefix: rename*; a |
 *   separates alternatives: fsync|fdatasync) whose
 *   path (or data) contains MATCH gets ACTION: an errno name (EIO,
 *   ENOSPC, EROFS: the call is not made and fails with it), exit-before
 *   (_exit(9) instead of the call: a kill or power cut just before it)
 *   or exit-after (the call is made, then _exit(9)).
 *
 * Only calls that go through the dynamic linker are seen: stdio's own
 * writes (fflush) are libc-internal, so a FILE's data shows as its fsync,
 * not as a write; SQLite, libpq and libmariadb call through it.
 *
 * By hand:
 *   MSTORE_DURABILITY_LOG=/tmp/log MSTORE_DURABILITY_FAULT='renameat2 1 exit-after' \
 *   LD_PRELOAD=build/tests/durability/libmstore_durability.so mstore sync ...
 *
 * The real functions are found with dlsym(RTLD_NEXT).  Under
 * AddressSanitizer the ASan runtime must be loaded first:
 * LD_PRELOAD="libasan.so shim.so" (tests/e2e/test_durability.sh does it).
 * The log is written with the real write(2) on an O_APPEND descriptor,
 * one write per line, so threads and processes do not interleave lines.
 */
/* The 32-bit-offset names are defined here as themselves: with
 * _FILE_OFFSET_BITS=64 (meson's default) the headers would redirect
 * open to open64 and the two definitions below would collide. */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define REAL(name) ((__typeof__(&name))real(#name))

static void *real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (!f)
		_exit(127); /* a libc without it: nothing sensible to do */
	return f;
}

/* ---- the fault rule ------------------------------------------------------ */

static struct {
	int parsed;
	char kind[128];
	long nth;
	char action[32];
	char match[256];
	long seen;
} rule;

/* An errno by its name (EIO, ENOSPC, ...); 0 when it is none. */
static int errno_named(const char *name)
{
	for (int e = 1; e < 200; e++) {
		const char *n = strerrorname_np(e);
		if (n && strcmp(n, name) == 0)
			return e;
	}
	return 0;
}

static void parse_rule(void)
{
	if (__atomic_exchange_n(&rule.parsed, 1, __ATOMIC_SEQ_CST))
		return;
	const char *s = getenv("MSTORE_DURABILITY_FAULT");
	if (!s || !*s)
		return;
	/* A rule that does not parse would make a test pass without its
	 * fault: refuse it loudly. */
	if (sscanf(s, "%127s %ld %31s %255s", rule.kind, &rule.nth, rule.action, rule.match) < 3 || rule.nth < 1 ||
	    (strcmp(rule.action, "exit-before") != 0 && strcmp(rule.action, "exit-after") != 0 &&
	     !errno_named(rule.action))) {
		static const char msg[] = "durability shim: MSTORE_DURABILITY_FAULT is not 'KIND N ACTION [MATCH]'\n";
		ssize_t (*rwrite)(int, const void *, size_t) = real("write");
		(void)!rwrite(2, msg, sizeof msg - 1);
		_exit(127);
	}
}

/* At load, so a bad rule stops even a run that makes no such call. */
__attribute__((constructor)) static void check_rule(void)
{
	parse_rule();
}

/* KIND is a list separated by | (fsync|fdatasync); a trailing * in an
 * entry matches a prefix (rename*). */
static int kind_matches(const char *kind)
{
	char list[sizeof rule.kind], *save = NULL;
	snprintf(list, sizeof list, "%s", rule.kind);
	for (char *k = strtok_r(list, "|", &save); k; k = strtok_r(NULL, "|", &save)) {
		size_t n = strlen(k);
		if (n && k[n - 1] == '*' ? strncmp(kind, k, n - 1) == 0 : strcmp(kind, k) == 0)
			return 1;
	}
	return 0;
}

/* What happens to this call: 0 nothing, -1 exit before, -2 exit after,
 * or an errno to fail with. */
static int fault_for(const char *kind, const char *path, const char *extra)
{
	parse_rule();
	if (rule.nth <= 0 || !kind_matches(kind))
		return 0;
	if (rule.match[0] && !strstr(path, rule.match) && !(extra && strstr(extra, rule.match)))
		return 0;
	if (__atomic_add_fetch(&rule.seen, 1, __ATOMIC_SEQ_CST) != rule.nth)
		return 0;
	if (strcmp(rule.action, "exit-before") == 0)
		return -1;
	if (strcmp(rule.action, "exit-after") == 0)
		return -2;
	return errno_named(rule.action);
}

/* ---- the log ------------------------------------------------------------- */

static int log_fd = -2;

static int log_open(void)
{
	int fd = __atomic_load_n(&log_fd, __ATOMIC_SEQ_CST);
	if (fd != -2)
		return fd;
	const char *path = getenv("MSTORE_DURABILITY_LOG");
	/* The real open: ours would log the log. */
	int (*ropen)(const char *, int, ...) = real("open");
	fd = path && *path ? ropen(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
	int expected = -2;
	if (!__atomic_compare_exchange_n(&log_fd, &expected, fd, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		if (fd >= 0)
			close(fd);
		fd = expected;
	}
	return fd;
}

static const char *result_name(int err)
{
	const char *n = err ? strerrorname_np(err) : "ok";
	return n ? n : "error";
}

static void log_line(const char *kind, const char *result, const char *path, const char *extra)
{
	int fd = log_open();
	if (fd < 0)
		return;
	char line[4096 + 600];
	int n = snprintf(line, sizeof line, "%s\t%s\t%s%s%s\n", kind, result, path, extra ? "\t" : "", extra ? extra : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line) {
		n = sizeof line - 1;
		line[n - 1] = '\n';
	}
	ssize_t (*rwrite)(int, const void *, size_t) = real("write");
	int saved = errno;
	(void)!rwrite(fd, line, (size_t)n);
	errno = saved;
}

/* ---- paths --------------------------------------------------------------- */

static void fd_path(int fd, char *out, size_t len)
{
	char link[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, out, len - 1);
	if (n < 0)
		snprintf(out, len, "fd:%d", fd);
	else
		out[n] = '\0';
}

/* `rel` relative to directory `dirfd` (or the working directory). */
static void at_path(int dirfd, const char *rel, char *out, size_t len)
{
	if (!rel)
		rel = "";
	if (rel[0] == '/') {
		snprintf(out, len, "%s", rel);
		return;
	}
	char base[4096];
	if (dirfd == AT_FDCWD) {
		if (!getcwd(base, sizeof base))
			snprintf(base, sizeof base, ".");
	} else {
		fd_path(dirfd, base, sizeof base);
	}
	/* a path too long for the log is logged cut: the tests' paths are short */
	if (snprintf(out, len, "%s/%s", base, rel) >= (int)len)
		out[len - 1] = '\0';
}

static int is_socket(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* The printable start of a message to a database server. */
static void excerpt(const void *buf, size_t n, char *out, size_t len)
{
	const unsigned char *p = buf;
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < len; i++)
		out[o++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
	out[o] = '\0';
}

/* ---- the calls ----------------------------------------------------------- */

/* Run one intercepted call: fault, call, log.  `call` returns the real
 * call's result, which is -1 with errno set on failure. */
#define INTERCEPT(KIND, PATH, EXTRA, CALL)                                   \
	do {                                                                   \
		int f_ = fault_for(KIND, PATH, EXTRA);                             \
		if (f_ == -1) {                                                    \
			log_line(KIND, "exit", PATH, EXTRA);                           \
			_exit(9);                                                      \
		}                                                                  \
		if (f_ > 0) {                                                      \
			log_line(KIND, result_name(f_), PATH, EXTRA);                  \
			errno = f_;                                                    \
			return -1;                                                     \
		}                                                                  \
		__typeof__(CALL) r_ = CALL;                                        \
		int e_ = errno;                                                    \
		log_line(KIND, r_ < 0 ? result_name(e_) : "ok", PATH, EXTRA);      \
		if (f_ == -2)                                                      \
			_exit(9);                                                      \
		errno = e_;                                                        \
		return r_;                                                         \
	} while (0)

int fsync(int fd)
{
	char p[4096];
	fd_path(fd, p, sizeof p);
	INTERCEPT("fsync", p, NULL, REAL(fsync)(fd));
}

int fdatasync(int fd)
{
	char p[4096];
	fd_path(fd, p, sizeof p);
	INTERCEPT("fdatasync", p, NULL, REAL(fdatasync)(fd));
}

/* PATH is the file or directory the descriptor names: syncfs syncs its
 * whole file system. */
int syncfs(int fd)
{
	char p[4096];
	fd_path(fd, p, sizeof p);
	INTERCEPT("syncfs", p, NULL, REAL(syncfs)(fd));
}

int ftruncate(int fd, off_t len)
{
	char p[4096];
	fd_path(fd, p, sizeof p);
	INTERCEPT("ftruncate", p, NULL, REAL(ftruncate)(fd, len));
}

int ftruncate64(int fd, off_t len)
{
	char p[4096];
	fd_path(fd, p, sizeof p);
	INTERCEPT("ftruncate", p, NULL, REAL(ftruncate64)(fd, len));
}

int rename(const char *from, const char *to)
{
	char a[4096], b[4096];
	at_path(AT_FDCWD, from, a, sizeof a);
	at_path(AT_FDCWD, to, b, sizeof b);
	INTERCEPT("rename", a, b, REAL(rename)(from, to));
}

int renameat(int fd1, const char *from, int fd2, const char *to)
{
	char a[4096], b[4096];
	at_path(fd1, from, a, sizeof a);
	at_path(fd2, to, b, sizeof b);
	INTERCEPT("renameat", a, b, REAL(renameat)(fd1, from, fd2, to));
}

int renameat2(int fd1, const char *from, int fd2, const char *to, unsigned flags)
{
	char a[4096], b[4096];
	at_path(fd1, from, a, sizeof a);
	at_path(fd2, to, b, sizeof b);
	INTERCEPT("renameat2", a, b, REAL(renameat2)(fd1, from, fd2, to, flags));
}

int unlink(const char *path)
{
	char a[4096];
	at_path(AT_FDCWD, path, a, sizeof a);
	INTERCEPT("unlink", a, NULL, REAL(unlink)(path));
}

int unlinkat(int fd, const char *path, int flags)
{
	char a[4096];
	at_path(fd, path, a, sizeof a);
	INTERCEPT("unlinkat", a, NULL, REAL(unlinkat)(fd, path, flags));
}

int mkdir(const char *path, mode_t mode)
{
	char a[4096];
	at_path(AT_FDCWD, path, a, sizeof a);
	INTERCEPT("mkdir", a, NULL, REAL(mkdir)(path, mode));
}

int mkdirat(int fd, const char *path, mode_t mode)
{
	char a[4096];
	at_path(fd, path, a, sizeof a);
	INTERCEPT("mkdir", a, NULL, REAL(mkdirat)(fd, path, mode));
}

/* open: only creations are logged (every read would drown the log). */
static int open_common(const char *name, int dirfd, const char *path, int flags, mode_t mode)
{
	int (*ropenat)(int, const char *, int, ...) = real(name);
	if (!(flags & O_CREAT))
		return ropenat(dirfd, path, flags, mode);
	char a[4096];
	at_path(dirfd, path, a, sizeof a);
	INTERCEPT("open", a, NULL, ropenat(dirfd, path, flags, mode));
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

/* open(2) through openat's real function: one code path for all four. */
#define OPEN_WRAPPER(fn, realname)                                             \
	int fn(const char *path, int flags, ...)                                     \
	{                                                                            \
		va_list ap;                                                              \
		va_start(ap, flags);                                                     \
		mode_t m = mode_arg(flags, ap);                                          \
		va_end(ap);                                                              \
		return open_common(realname, AT_FDCWD, path, flags, m);                  \
	}
#define OPENAT_WRAPPER(fn, realname)                                           \
	int fn(int dirfd, const char *path, int flags, ...)                          \
	{                                                                            \
		va_list ap;                                                              \
		va_start(ap, flags);                                                     \
		mode_t m = mode_arg(flags, ap);                                          \
		va_end(ap);                                                              \
		return open_common(realname, dirfd, path, flags, m);                     \
	}
OPEN_WRAPPER(open, "openat")
OPEN_WRAPPER(open64, "openat64")
OPENAT_WRAPPER(openat, "openat")
OPENAT_WRAPPER(openat64, "openat64")

/* Writes: to files with their path, to sockets with the start of the
 * message (libpq and libmariadb send SQL text this way). */
static void write_target(int fd, const void *buf, size_t n, char *path, size_t plen, char *data, size_t dlen)
{
	fd_path(fd, path, plen);
	data[0] = '\0';
	if (strncmp(path, "socket:", 7) == 0 || is_socket(fd))
		excerpt(buf, n < 200 ? n : 200, data, dlen);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	if (fd == __atomic_load_n(&log_fd, __ATOMIC_SEQ_CST) || fd == 1 || fd == 2)
		return REAL(write)(fd, buf, n); /* the log itself, stdout, stderr */
	char p[4096], d[256];
	write_target(fd, buf, n, p, sizeof p, d, sizeof d);
	INTERCEPT("write", p, d[0] ? d : NULL, REAL(write)(fd, buf, n));
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	char p[4096];
	fd_path(fd, p, sizeof p);
	INTERCEPT("pwrite", p, NULL, REAL(pwrite)(fd, buf, n, off));
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	char p[4096];
	fd_path(fd, p, sizeof p);
	INTERCEPT("pwrite", p, NULL, REAL(pwrite64)(fd, buf, n, off));
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	char p[4096], d[256];
	write_target(fd, buf, n, p, sizeof p, d, sizeof d);
	INTERCEPT("send", p, d, REAL(send)(fd, buf, n, flags));
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen)
{
	char p[4096], d[256];
	write_target(fd, buf, n, p, sizeof p, d, sizeof d);
	INTERCEPT("send", p, d, REAL(sendto)(fd, buf, n, flags, to, tolen));
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	char p[4096], d[256] = "";
	fd_path(fd, p, sizeof p);
	if (m->msg_iovlen > 0)
		excerpt(m->msg_iov[0].iov_base, m->msg_iov[0].iov_len < 200 ? m->msg_iov[0].iov_len : 200, d, sizeof d);
	INTERCEPT("send", p, d, REAL(sendmsg)(fd, m, flags));
}
