/* hms_encrypt - test helper: print hMailServer's Blowfish encryption of
 * argv[1], as it would appear in hMailServer.INI (Password=...). */
#include <stdio.h>
#include <stdlib.h>

#include "config/config.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: hms_encrypt PASSWORD\n");
		return 2;
	}
	ms_err e = { 0 };
	char *hex;
	if (ms_hms_blowfish_encrypt(argv[1], &hex, &e) < 0) {
		fprintf(stderr, "hms_encrypt: %s\n", e.msg);
		return 1;
	}
	puts(hex);
	free(hex);
	return 0;
}
