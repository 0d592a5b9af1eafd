/* mkfiles - the floor of any writer that stores one file per message
 * (bench/admin.sh, deliver --mbox): make N files of SIZE bytes each under
 * DIR/<XX>/ (256 folders, as hMailServer's layout spreads them), each
 * created (O_CREAT|O_EXCL), written and closed; no fsync, no rename, no
 * parse, no database.  Prints the milliseconds it took.
 *
 * usage: mkfiles DIR N SIZE */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: mkfiles DIR N SIZE\n");
		return 2;
	}
	long n = atol(argv[2]), size = atol(argv[3]);
	if (n <= 0 || size < 0 || mkdir(argv[1], 0755) < 0) {
		perror(argv[1]);
		return 2;
	}
	int root = open(argv[1], O_RDONLY | O_DIRECTORY);
	char *buf = malloc((size_t)size + 1);
	if (root < 0 || !buf) {
		perror(argv[1]);
		return 2;
	}
	memset(buf, 'x', (size_t)size);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int d = 0; d < 256; d++) {
		char name[8];
		snprintf(name, sizeof name, "%02X", d);
		if (mkdirat(root, name, 0755) < 0) {
			perror(name);
			return 1;
		}
	}
	for (long i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof name, "%02lX/{%08lX-0000-4000-8000-000000000000}.eml", (unsigned long)(i * 7919) % 256,
		         (unsigned long)i);
		int fd = openat(root, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, buf, (size_t)size) != (ssize_t)size || close(fd) < 0) {
			perror(name);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%ld\n", (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
	return 0;
}
