/* faultproxy - a TCP proxy for the network fault tests: it forwards
 * connections to a real server (the test Dovecot) and, after a set number
 * of bytes in one direction, drops the connection or stops forwarding
 * (a server that no longer answers).  A test helper, not part of mstore.
 *
 *   faultproxy PORTFILE HOST:PORT [drop-up|drop-down|stall-up|stall-down N]
 *   faultproxy PORTFILE HOST:PORT rewrite-up|rewrite-down FROM TO
 *
 * Listens on 127.0.0.1 on a free port and writes that port to PORTFILE
 * (written whole, then renamed: a reader never sees half of it).  "up" is
 * client to server, "down" server to client; N counts each connection's
 * bytes from its start, so every connection meets the same fault.  Without
 * a fault it is a plain relay.  rewrite replaces each FROM with TO (the
 * same length, so literal counts stay true) in what goes in that
 * direction: hiding a capability from the client (" MOVE " -> " XOVE "),
 * or turning a command into one the server answers BAD.  A FROM split
 * across two reads is missed: the tests rewrite short lines.  Runs until killed; one process per
 * connection (fork), so a stalled connection holds up no other.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

typedef enum { F_NONE, F_DROP, F_STALL, F_REWRITE } fault_kind;

typedef struct fault {
	fault_kind kind;
	int dir;        /* 0: up (client to server), 1: down */
	long long after; /* bytes forwarded in dir before the fault */
	const char *from, *to; /* F_REWRITE */
} fault;

/* Each f.from in buf[0..n) becomes f.to (as long). */
static void rewrite(char *buf, size_t n, fault f)
{
	size_t k = strlen(f.from);
	for (char *p = buf; (p = memmem(p, n - (size_t)(p - buf), f.from, k)); p += k)
		memcpy(p, f.to, k);
}

static void die(const char *what)
{
	fprintf(stderr, "faultproxy: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int dial(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	int s = socket(ai->ai_family, SOCK_STREAM, 0);
	if (s >= 0 && connect(s, ai->ai_addr, ai->ai_addrlen) < 0) {
		close(s);
		s = -1;
	}
	freeaddrinfo(ai);
	return s;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Stalled: forward nothing more, hold the connection open until the client
 * gives up (what it reads meanwhile is discarded). */
static void stall(int client)
{
	char buf[4096];
	while (read(client, buf, sizeof buf) > 0 || errno == EINTR)
		;
	exit(0);
}

/* Relay one connection until either side closes or the fault strikes. */
static void relay(int client, const char *host, const char *port, fault f)
{
	int server = dial(host, port);
	if (server < 0)
		exit(1); /* the client sees its connection closed */
	int fds[2] = { client, server };
	long long sent[2] = { 0, 0 };
	char buf[16384];
	for (;;) {
		struct pollfd p[2] = { { client, POLLIN, 0 }, { server, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			exit(1);
		}
		for (int d = 0; d < 2; d++) {
			if (!(p[d].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			size_t want = sizeof buf;
			/* stop exactly at the fault's byte */
			if ((f.kind == F_DROP || f.kind == F_STALL) && f.dir == d && f.after - sent[d] < (long long)want)
				want = (size_t)(f.after - sent[d]);
			ssize_t r = want ? read(fds[d], buf, want) : 0;
			if (r < 0 && errno == EINTR)
				continue;
			if (want && r <= 0)
				exit(0);
			if (r > 0 && f.kind == F_REWRITE && f.dir == d)
				rewrite(buf, (size_t)r, f);
			if (r > 0 && write_all(fds[1 - d], buf, (size_t)r) < 0)
				exit(0);
			sent[d] += r;
			if ((f.kind == F_DROP || f.kind == F_STALL) && f.dir == d && sent[d] >= f.after) {
				if (f.kind == F_DROP)
					exit(0); /* both sockets close with the process */
				stall(client);
			}
		}
	}
}

static fault parse_fault(int argc, char **argv)
{
	fault f = { F_NONE, 0, 0, NULL, NULL };
	if (argc < 5)
		return f;
	const char *k = argv[3];
	if (argc == 6 && (strcmp(k, "rewrite-up") == 0 || strcmp(k, "rewrite-down") == 0)) {
		if (!*argv[4] || strlen(argv[4]) != strlen(argv[5])) {
			fprintf(stderr, "faultproxy: rewrite FROM TO: two words of the same length\n");
			exit(2);
		}
		return (fault){ F_REWRITE, strcmp(k, "rewrite-down") == 0, 0, argv[4], argv[5] };
	}
	f.kind = strncmp(k, "drop-", 5) == 0 ? F_DROP : strncmp(k, "stall-", 6) == 0 ? F_STALL : F_NONE;
	const char *d = strchr(k, '-');
	f.dir = d && strcmp(d, "-down") == 0;
	f.after = atoll(argv[4]);
	if (f.kind == F_NONE || !d || (strcmp(d, "-up") && strcmp(d, "-down")) || f.after < 0) {
		fprintf(stderr, "faultproxy: unknown fault '%s %s'\n", argv[3], argv[4]);
		exit(2);
	}
	return f;
}

static int listen_any(const char *portfile)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0)
		die("listen");
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
	FILE *fp = fopen(tmp, "w");
	if (!fp || fprintf(fp, "%u\n", ntohs(a.sin_port)) < 0 || fclose(fp) != 0 || rename(tmp, portfile) < 0)
		die(portfile);
	return s;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 5 && argc != 6) {
		fprintf(stderr, "usage: faultproxy PORTFILE HOST:PORT [drop-up|drop-down|stall-up|stall-down N | "
		        "rewrite-up|rewrite-down FROM TO]\n");
		return 2;
	}
	char *host = strdup(argv[2]), *port = strrchr(host, ':');
	if (!port)
		return 2;
	*port++ = '\0';
	fault f = parse_fault(argc, argv);
	signal(SIGCHLD, SIG_IGN); /* no zombies */
	signal(SIGPIPE, SIG_IGN);
	int ls = listen_any(argv[1]);
	for (;;) {
		int c = accept(ls, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		pid_t pid = fork();
		if (pid == 0) {
			/* the test kills the listener; its connections go with it */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(ls);
			relay(c, host, port, f);
		}
		close(c);
	}
}
