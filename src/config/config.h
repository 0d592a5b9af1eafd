/* config.h - where mstore finds its data directory and database.
 *
 * Sources, strongest first:
 *   1. command-line flags (--db URL, --data DIR, --password-file FILE,
 *      --server-tz ZONE)
 *   2. --ini FILE: an hMailServer.INI ([Directories] DataFolder,
 *      [Database] Type/Server/Port/Database/Username/Password/
 *      PasswordEncryption; PasswordEncryption=1 means Blowfish-encrypted)
 *   3. --config FILE, else $MSTORE_CONFIG, else ~/.config/mstore/mstore.conf,
 *      else /etc/mstore/mstore.conf (the first that exists; an explicitly
 *      named file that does not exist is an error).  Only that one file is
 *      read.  ~ is $HOME; the hidden test hook $MSTORE_SYSCONFDIR replaces
 *      /etc (tests only; not documented for users).  The two default
 *      locations are not read when --db and --data are given, unless a
 *      server URL still lacks a password (no --password-file, no
 *      MSTORE_DB_PASSWORD).  A config file that cannot be read (a
 *      directory, no permission, a read error) is MS_E_CONFIG naming it.
 *   4. MSTORE_DB_PASSWORD in the environment, for the password only, when
 *      nothing above gave one (an empty value counts as unset).
 * Weaker sources are read first and stronger ones replace what they set, so
 * e.g. --db with a config file that gives only a password uses both.
 *
 * mstore.conf syntax (one setting per line; a line whose first non-blank
 * character is '#' or ';' is a comment -- elsewhere they are part of the
 * value, as passwords may contain them; blanks around keys and values are
 * dropped):
 *   data = /var/lib/hmailserver/Data
 *   db = postgresql://hmail@127.0.0.1:5432/hmailserver
 *   password = secret            (the file should then not be readable by
 *                                 others; if it is, a warning says so)
 *   password_file = /etc/mstore/db.pass   (its first line is the password)
 *   server_tz = Europe/Berlin    (the mail server's time zone, util/tz.h;
 *                                 --server-tz replaces it; an unknown zone
 *                                 is an error naming FILE:LINE)
 * In `data` and `password_file`, ~ is $HOME and a relative path is taken
 * from the config file's directory.  Unknown keys, lines without '=',
 * empty values, a key set twice, and both password and password_file are
 * errors reported as FILE:LINE.
 */
#ifndef MS_CONFIG_H
#define MS_CONFIG_H

#include <stdbool.h>

#include "util/err.h"

typedef struct ms_config {
	char *data_dir;      /* NULL if not configured */
	char *db_url;        /* NULL if not configured */
	char *db_password;   /* NULL if none */
	char *server_tz;     /* the mail server's time zone (util/tz.h); NULL = local */
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
	const char *server_tz;      /* --server-tz */
} ms_config_args;

/* Resolve the configuration from all sources in the order above.
 * Missing settings stay NULL (the command decides whether it needs them). */
int ms_config_resolve(const ms_config_args *args, ms_config *out, ms_err *e);

/* Parse one mstore.conf file into `out` (fields already set are kept
 * unless the file sets them). */
int ms_config_load_file(const char *path, ms_config *out, ms_err *e);

/* Parse an hMailServer.INI into `out`: DataFolder, and the database URL
 * built from Type (MySQL, PostgreSQL; MSSQL and MSSQLCE are refused with a
 * clear message), Server, Port, Database, Username, and the password,
 * decrypted when PasswordEncryption=1.  Read like Windows reads it (names
 * case-insensitive, ';' comments, first occurrence wins, one pair of
 * enclosing quotes dropped), plus CRLF and a UTF-8 BOM.  Port 0 or none
 * leaves the port out of the URL; DataFolder is kept as written, even a
 * Windows path (the user gives --data on Linux).  An INI without Type sets
 * only the data directory.  Errors are MS_E_CONFIG naming FILE:LINE. */
int ms_config_load_ini(const char *path, ms_config *out, ms_err *e);

/* Read a password file: the first line, without its newline (LF or CRLF;
 * other blanks are kept).  A missing file or an empty first line is an
 * MS_E_CONFIG error naming the file. */
int ms_config_read_password_file(const char *path, char **out, ms_err *e);

void ms_config_free(ms_config *c);

/* mstore's state directory (the recovery list, channel states): `dir` when
 * given (--state-dir), else $XDG_STATE_HOME/mstore (an absolute value only,
 * as the XDG rule says), else /var/lib/mstore for root or without a usable
 * $HOME, else ~/.local/state/mstore.  -1 when it does not fit in `out` or
 * `dir` is empty. */
int ms_config_state_dir(const char *dir, char *out, size_t len);

/* hMailServer's Blowfish password encryption (fixed, public key), as the
 * server writes it into hMailServer.INI: hex text in, plain text out.
 * Decryption accepts upper- or lowercase hex and refuses text that is not
 * hex or not a whole number of 8-byte blocks (16 hex digits); encryption
 * writes lowercase hex and refuses passwords over 255 bytes, which
 * hMailServer's own buffer cannot hold.  The empty string maps to itself. */
int ms_hms_blowfish_decrypt(const char *hex, char **out, ms_err *e);
int ms_hms_blowfish_encrypt(const char *plain, char **out_hex, ms_err *e);

#endif
