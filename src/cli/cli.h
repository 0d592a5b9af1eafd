/* cli.h - what every mstore subcommand shares: the command table, the
 * common options (--db, --data, --config, --ini, --password-file,
 * --server-tz, --json),
 * opening the store, and the exit codes scripts rely on.
 */
#ifndef MS_CLI_H
#define MS_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "config/config.h"
#include "store/store.h"
#include "util/err.h"
#include "util/vec.h"

/* Exit codes (documented in `mstore help`). */
enum {
	EXIT_OK = 0,
	EXIT_PARTIAL = 1,  /* ran, but something was not done or findings remain */
	EXIT_USAGE = 2,    /* bad arguments or bad input (address, duplicate, unknown object) */
	EXIT_CONFIG = 3,   /* configuration missing or invalid */
	EXIT_STORE = 4,    /* database unreachable, refused, or not a known store */
	EXIT_IO = 5,       /* file system error */
};

typedef struct cli_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	const char *help;  /* full help text, printed by `mstore help NAME` */
	bool own_options;  /* takes none of the common options (channel: mailsync's command line) */
} cli_cmd;

/* This binary's commands (main_full.c: all; main_front.c: those the
 * front runs itself), ended by a NULL name. */
extern const cli_cmd *const cli_table;
const cli_cmd *cli_find(const char *name);

/* main(): git-style leading options moved behind the command, then the
 * command run (dispatch.c). */
int cli_main(int argc, char **argv);
void cli_move_leading_options(int argc, char **argv);
/* The front: keep the command line for cli_exec_full. */
void cli_save_argv(char **argv);
/* Run the whole command line with `mstore-full` (beside this binary, else
 * LIBEXECDIR/mstore): the front's way to a command or an option it does
 * not have.  Only before anything is written or printed; does not return
 * (exit 3 when the full binary cannot be run). */
_Noreturn void cli_exec_full(void);

/* Options every command accepts. */
typedef struct cli_ctx {
	ms_config_args args;
	bool json;
	const char *cmd;  /* for messages: "domain add" */
	bool db_optional; /* cli_config: a command that needs no database (purge: the data directory only) */
} cli_ctx;

enum {
	OPT_DB = 0x100, OPT_DATA, OPT_CONFIG, OPT_INI, OPT_PASSWORD_FILE, OPT_JSON, OPT_SERVER_TZ,
	OPT_FIRST_COMMAND_OPTION, /* commands number their own options from here */
};

#define CLI_COMMON_LONGOPTS \
	{ "db", required_argument, 0, OPT_DB }, \
	{ "data", required_argument, 0, OPT_DATA }, \
	{ "config", required_argument, 0, OPT_CONFIG }, \
	{ "ini", required_argument, 0, OPT_INI }, \
	{ "password-file", required_argument, 0, OPT_PASSWORD_FILE }, \
	{ "server-tz", required_argument, 0, OPT_SERVER_TZ }, \
	{ "json", no_argument, 0, OPT_JSON }, \
	{ "help", no_argument, 0, 'h' }

/* Text for the common options, appended to every command's help. */
extern const char cli_common_help[];

/* Handle a common option; returns true if `opt` was one. For 'h' it
 * prints the command's help and exits 0; for '?' it exits EXIT_USAGE. */
bool cli_common_option(cli_ctx *ctx, int opt, const char *arg);

/* Parse the options of a command with getopt_long over the given table;
 * `handle` (may be NULL) receives the command's own options and returns
 * false for unknown ones.  Returns the index of the first operand. */
int cli_parse(cli_ctx *ctx, int argc, char **argv, const char *shortopts,
              const struct option *longopts,
              bool (*handle)(void *data, int opt, const char *arg), void *data);

/* Parse a command that takes only the common options, plus --domain D
 * when `domain` is not NULL. Returns the index of the first operand. */
int cli_parse_simple(cli_ctx *ctx, int argc, char **argv, const char **domain);

/* Usage error: prints "mstore CMD: MESSAGE" and a hint, returns EXIT_USAGE. */
int cli_usage(const cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print the error as "mstore: MESSAGE" and return the exit code for it.
 * MESSAGE is escaped (util/escape.h): errors echo names from the command
 * line or the store (a mailbox, an address, a path), and a control byte
 * in one must neither split the line nor drive the terminal. */
int cli_fail(const ms_err *e);
int cli_exit_code(ms_errcode code);
/* EXIT_OK when every --domain and --account names one in the store, else
 * the first that does not, on stderr, and EXIT_USAGE. */
int cli_check_scope(ms_store *s, const ms_strlist *domains, const ms_strlist *accounts);

/* Resolve the configuration (printing its warnings) and open the store;
 * commands that only read pass DB_OPEN_READ_ONLY. */
int cli_open_store(cli_ctx *ctx, db_open_mode mode, ms_store **out);
/* Resolve the configuration only (and make the mail server's time zone
 * the process's local zone, util/tz.h); the caller frees it. */
int cli_config(cli_ctx *ctx, ms_config *cfg);

/* Parse a non-negative integer option value; false if not one. */
bool cli_parse_count(const char *s, long long *out);
/* A verb's check for a size in MB that did not parse (`bad` is the value
 * given, NULL when it was fine). */
bool cli_check_size(const char *bad, char *buf, size_t len);

/* Commands with verbs ("mstore domain add ...") declare each verb in a
 * table, as Redis declares its commands: its options, how many operands
 * it takes, and how the store is opened for it.  The dispatcher parses,
 * checks the operand count, opens the store (read-only where the verb
 * only reads, so the database itself refuses a write), runs the verb and
 * closes the store: no verb opens or closes anything itself. */
typedef enum cli_open {
	CLI_OPEN_READ,                 /* listings: a read-only connection */
	CLI_OPEN_WRITE,
	CLI_OPEN_WRITE_UNLESS_DRY_RUN, /* read-only when the options say -n */
} cli_open;

/* What a verb gets: the store opened as it declared, its operands (the
 * words after the options) and its parsed options. */
typedef struct cli_call {
	cli_ctx *ctx;
	ms_store *s;
	int argc;
	char **argv;
	void *opts;
} cli_call;

typedef struct cli_verb {
	const char *verb;
	cli_open open;
	int min_args, max_args;        /* operands; max_args -1: no limit */
	const char *operands;          /* the usage error when the count is wrong */
	int (*run)(cli_call *c);
	/* Options beyond the common ones (NULL: none); `option` fills the
	 * verb's options struct of `opts_size` bytes, zeroed first. */
	const char *shortopts;
	const struct option *longopts;
	bool (*option)(void *opts, int opt, const char *arg);
	size_t opts_size;
	/* Checked after parsing: false with a usage message in buf (a bad size). */
	bool (*check)(const void *opts, char *buf, size_t len);
	/* CLI_OPEN_WRITE_UNLESS_DRY_RUN: whether the options asked for -n. */
	bool (*dry_run)(const void *opts);
} cli_verb;
int cli_dispatch(const char *cmd, const cli_verb *verbs, int argc, char **argv);

/* Commands whose report can be large (sync, reconstruct) take --json FILE
 * as well as the common --json flag: a "--json" followed by a word that is
 * not an option becomes "--json-file WORD" (their long option for it);
 * --json alone still means the report on stdout. */
void cli_json_file_arg(int argc, char **argv);

/* The long options of a listing verb: the common ones and --domain D,
 * which cli_domain_option stores in a `const char *` options struct. */
extern const struct option cli_domain_longopts[];
bool cli_domain_option(void *opts, int opt, const char *arg);
/* The option handler of a verb with one flag, numbered
 * OPT_FIRST_COMMAND_OPTION: it sets the `bool` the options struct is. */
bool cli_flag_option(void *opts, int opt, const char *arg);

int cmd_init(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_domain(int argc, char **argv);
int cmd_account(int argc, char **argv);
int cmd_alias(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_reconstruct(int argc, char **argv);
int cmd_channel(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_folder(int argc, char **argv);
int cmd_path(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_deliver(int argc, char **argv);
int cmd_quota(int argc, char **argv);
int cmd_expire(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_acl(int argc, char **argv);
int cmd_readership(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_help(int argc, char **argv);

/* Repeated options (--domain, --account) are kept in a util/vec.h
 * ms_strlist: no limit, nothing dropped. */

#endif
