/* config.h - where mstore finds its data directory and database.
 *
 * Sources, strongest first:
 *   1. command-line flags (--db URL, --data DIR, --password-file FILE)
 *   2. --ini FILE: an hMailServer.INI ([Directories] DataFolder,
 *      [Database] Type/Server/Port/Database/Username/Password/
 *      PasswordEncryption; PasswordEncryption=1 means Blowfish-encrypted)
 *   3. --config FILE, else $MSTORE_CONFIG, else ~/.config/mstore/mstore.conf,
 *      else /etc/mstore/mstore.conf (the first that exists; an explicitly
 *      named file that does not exist is an error)
 *   4. MSTORE_DB_PASSWORD in the environment, for the password only, when
 *      nothing above gave one.
 *
 * mstore.conf syntax (one setting per line, '#' or ';' starts a comment):
 *   data = /var/lib/hmailserver/Data
 *   db = postgresql://hmail@127.0.0.1:5432/hmailserver
 *   password = secret            (the file must then not be readable by others)
 *   password_file = /etc/mstore/db.pass
 * Unknown keys and lines without '=' are syntax errors reported as FILE:LINE.
 */
#ifndef MS_CONFIG_H
#define MS_CONFIG_H

#include <stdbool.h>

#include "util/err.h"

typedef struct ms_config {
	char *data_dir;      /* NULL if not configured */
	char *db_url;        /* NULL if not configured */
	char *db_password;   /* NULL if none */
	char *source;        /* the file the settings came from, for messages */
	/* Warnings (e.g. "FILE holds a password and is readable by others"),
	 * newline-separated, NULL if none; the CLI prints them to stderr. */
	char *warnings;
} ms_config;

/* What the command line said; NULL/false fields were not given. */
typedef struct ms_config_args {
	const char *config_file;    /* --config */
	const char *ini_file;       /* --ini */
	const char *db_url;         /* --db */
	const char *data_dir;       /* --data */
	const char *password_file;  /* --password-file */
} ms_config_args;

/* Resolve the configuration from all sources in the order above.
 * Missing settings stay NULL (the command decides whether it needs them). */
int ms_config_resolve(const ms_config_args *args, ms_config *out, ms_err *e);

/* Parse one mstore.conf file into `out` (fields already set are kept
 * unless the file sets them). */
int ms_config_load_file(const char *path, ms_config *out, ms_err *e);

/* Parse an hMailServer.INI into `out`: DataFolder, and the database URL
 * built from Type (MySQL, PostgreSQL; MSSQL is refused with a clear
 * message), Server, Port, Database, Username, and the password, decrypted
 * when PasswordEncryption=1. */
int ms_config_load_ini(const char *path, ms_config *out, ms_err *e);

/* Read a password file: the first line, without its newline. */
int ms_config_read_password_file(const char *path, char **out, ms_err *e);

void ms_config_free(ms_config *c);

/* hMailServer's Blowfish password encryption (fixed, public key), as the
 * server writes it into hMailServer.INI: hex text in, plain text out. */
int ms_hms_blowfish_decrypt(const char *hex, char **out, ms_err *e);
int ms_hms_blowfish_encrypt(const char *plain, char **out_hex, ms_err *e);

#endif
