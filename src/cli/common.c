/* common.c - option parsing, configuration and error reporting shared by
 * the subcommands. */
#include "cli/cli.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/objects.h"
#include "util/escape.h"
#include "util/tz.h"

const char cli_common_help[] =
	"Common options:\n"
	"  --db URL             database: sqlite:PATH, postgresql://USER@HOST:PORT/DB,\n"
	"                       mysql://USER@HOST:PORT/DB (never put a password in it)\n"
	"  --data DIR           the data directory\n"
	"  --config FILE        read FILE instead of $MSTORE_CONFIG, ~/.config/mstore/mstore.conf,\n"
	"                       /etc/mstore/mstore.conf\n"
	"  --ini FILE           read DataFolder and [Database] from an hMailServer.INI\n"
	"  --password-file FILE database password from the first line of FILE\n"
	"                       (else the config file, else $MSTORE_DB_PASSWORD)\n"
	"  --server-tz ZONE     the mail server's time zone (an IANA name: Europe/Berlin),\n"
	"                       for the local times hMailServer stores (internal dates,\n"
	"                       creation and logon times); else server_tz of the config\n"
	"                       file, else this machine's zone ($TZ, /etc/localtime)\n"
	"  --json               machine-readable output\n"
	"  -h, --help           this help\n";

static void print_command_help(const char *name)
{
	const cli_cmd *c = cli_find(name);
	if (c)
		printf("%s\n%s", c->help, c->own_options ? "" : cli_common_help);
}

bool cli_common_option(cli_ctx *ctx, int opt, const char *arg)
{
	switch (opt) {
	case OPT_DB: ctx->args.db_url = arg; return true;
	case OPT_DATA: ctx->args.data_dir = arg; return true;
	case OPT_CONFIG: ctx->args.config_file = arg; return true;
	case OPT_INI: ctx->args.ini_file = arg; return true;
	case OPT_PASSWORD_FILE: ctx->args.password_file = arg; return true;
	case OPT_SERVER_TZ: ctx->args.server_tz = arg; return true;
	case OPT_JSON: ctx->json = true; return true;
	case 'h': {
		char top[64];
		snprintf(top, sizeof top, "%s", ctx->cmd);
		top[strcspn(top, " ")] = '\0';
		print_command_help(top);
		exit(EXIT_OK);
	}
	case '?':
		fprintf(stderr, "Try 'mstore help %s'.\n", ctx->cmd);
		exit(EXIT_USAGE);
	}
	return false;
}

int cli_parse(cli_ctx *ctx, int argc, char **argv, const char *shortopts,
              const struct option *longopts,
              bool (*handle)(void *data, int opt, const char *arg), void *data)
{
	int opt;
	optind = 1;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (cli_common_option(ctx, opt, optarg))
			continue;
		if (!handle || !handle(data, opt, optarg)) {
			fprintf(stderr, "mstore %s: unexpected option\nTry 'mstore help %s'.\n", ctx->cmd, ctx->cmd);
			exit(EXIT_USAGE);
		}
	}
	return optind;
}

int cli_usage(const cli_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "mstore %s: ", ctx->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	char top[64];
	snprintf(top, sizeof top, "%s", ctx->cmd);
	top[strcspn(top, " ")] = '\0';
	fprintf(stderr, "\nTry 'mstore help %s'.\n", top);
	return EXIT_USAGE;
}

int cli_exit_code(ms_errcode code)
{
	switch (code) {
	case MS_OK: return EXIT_OK;
	case MS_E_USAGE:
	case MS_E_NOTFOUND:
	case MS_E_EXISTS:
	case MS_E_PARSE: return EXIT_USAGE;
	case MS_E_CONFIG: return EXIT_CONFIG;
	case MS_E_DB:
	case MS_E_SCHEMA: return EXIT_STORE;
	case MS_E_IO: return EXIT_IO;
	case MS_E_LIMIT:
	case MS_E_NOMEM:
	case MS_E_INTERNAL: break;
	}
	return EXIT_PARTIAL;
}

/* The message escaped as a whole (util/escape.h): it names objects
 * (mailboxes, paths, rule values) as the user or the store gave them, and
 * one holding a newline or a terminal escape must not forge a line or
 * rewrite the screen.  No message of mstore's own holds a control byte;
 * an escape already made stays as it is (a backslash is not escaped). */
int cli_fail(const ms_err *e)
{
	fputs("mstore: ", stderr);
	ms_escape_put(stderr, e->msg[0] ? e->msg : "unknown error");
	fputc('\n', stderr);
	return cli_exit_code(e->code);
}

/* An unknown --domain or --account is a typo, not an empty scope: refused
 * with exit 2 naming it, as sync and reconstruct refuse theirs.  Known
 * means in the database: the commands that take these flags walk its rows. */
int cli_check_scope(ms_store *s, const ms_strlist *domains, const ms_strlist *accounts)
{
	ms_err e = { 0 };
	for (size_t i = 0; i < domains->n; i++) {
		ms_domain d;
		int rc = ms_domain_find(s, domains->v[i], &d, &e);
		if (rc == 0)
			ms_err_set(&e, MS_E_USAGE, "--domain %s: no such domain", domains->v[i]);
		if (rc <= 0)
			return cli_fail(&e);
	}
	for (size_t i = 0; i < accounts->n; i++) {
		const char *kind = NULL;
		int rc = ms_address_in_use(s, accounts->v[i], &kind, &e);
		if (rc == 0)
			ms_err_set(&e, MS_E_USAGE, "--account %s: no such account", accounts->v[i]);
		else if (rc > 0 && strcmp(kind, "an account") != 0)
			rc = ms_err_set(&e, MS_E_USAGE, "--account %s: %s, not an account", accounts->v[i], kind);
		if (rc <= 0)
			return cli_fail(&e);
	}
	return EXIT_OK;
}

int cli_config(cli_ctx *ctx, ms_config *cfg)
{
	ms_err e = { 0 };
	memset(cfg, 0, sizeof *cfg);
	if (ms_config_resolve(&ctx->args, cfg, &e) < 0) {
		ms_config_free(cfg);
		return cli_fail(&e);
	}
	if (cfg->warnings)
		fprintf(stderr, "mstore: warning: %s\n", cfg->warnings);
	/* Every time mstore writes is the server's local time: the zone is
	 * set before anything runs (and before any thread exists). */
	if (cfg->server_tz && ms_tz_apply(cfg->server_tz, &e) < 0) {
		if (ctx->args.server_tz) {
			ms_err_prefix(&e, "--server-tz");
		} else { /* a config file's: checked when read; here only if the zone file vanished since */
			ms_err_prefix(&e, "server_tz of %s", cfg->source ? cfg->source : "the config file");
			e.code = MS_E_CONFIG;
		}
		ms_config_free(cfg);
		return cli_fail(&e);
	}
	if (!cfg->db_url && !ctx->db_optional) {
		ms_config_free(cfg);
		fprintf(stderr, "mstore %s: no database given: use --db URL, --ini FILE or a config file "
		        "(see 'mstore help')\n", ctx->cmd);
		return EXIT_CONFIG;
	}
	return EXIT_OK;
}

int cli_open_store(cli_ctx *ctx, db_open_mode mode, ms_store **out)
{
	ms_config cfg;
	ms_err e = { 0 };
	int rc = cli_config(ctx, &cfg);
	if (rc != EXIT_OK)
		return rc;
	rc = ms_store_open(cfg.db_url, cfg.db_password, cfg.data_dir, mode, out, &e) < 0 ? cli_fail(&e) : EXIT_OK;
	ms_config_free(&cfg);
	return rc;
}

bool cli_parse_count(const char *s, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return false;
	*out = v;
	return true;
}

static const cli_verb *find_verb(const cli_verb *verbs, const char *name)
{
	for (const cli_verb *v = verbs; v->verb; v++)
		if (strcmp(v->verb, name) == 0)
			return v;
	return NULL;
}

static db_open_mode open_mode(const cli_verb *v, const void *opts)
{
	switch (v->open) {
	case CLI_OPEN_READ:
		return DB_OPEN_READ_ONLY;
	case CLI_OPEN_WRITE_UNLESS_DRY_RUN:
		assert(v->dry_run);
		return v->dry_run(opts) ? DB_OPEN_READ_ONLY : DB_OPEN_READ_WRITE;
	case CLI_OPEN_WRITE:
		break;
	}
	return DB_OPEN_READ_WRITE;
}

static int run_verb(cli_ctx *ctx, const cli_verb *v, int argc, char **argv, void *opts)
{
	static const struct option plain[] = { CLI_COMMON_LONGOPTS, { 0, 0, 0, 0 } };
	int i = cli_parse(ctx, argc, argv, v->shortopts ? v->shortopts : "h", v->longopts ? v->longopts : plain,
	                  v->option, opts);
	char why[300];
	if (v->check && !v->check(opts, why, sizeof why))
		return cli_usage(ctx, "%s", why);
	int n = argc - i;
	if (n < v->min_args || (v->max_args >= 0 && n > v->max_args))
		return cli_usage(ctx, "%s", v->operands);
	cli_call c = { .ctx = ctx, .argc = n, .argv = argv + i, .opts = opts };
	int rc = cli_open_store(ctx, open_mode(v, opts), &c.s);
	if (rc != EXIT_OK)
		return rc;
	rc = v->run(&c);
	ms_store_close(c.s);
	return rc;
}

int cli_dispatch(const char *cmd, const cli_verb *verbs, int argc, char **argv)
{
	static char names[64];
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		print_command_help(cmd);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const cli_verb *v = find_verb(verbs, argv[1]);
	if (!v) {
		fprintf(stderr, "mstore %s: unknown action '%s'\nTry 'mstore help %s'.\n", cmd, argv[1], cmd);
		return EXIT_USAGE;
	}
	snprintf(names, sizeof names, "%s %s", cmd, v->verb);
	cli_ctx ctx = { .cmd = names };
	void *opts = calloc(1, v->opts_size ? v->opts_size : 1);
	if (!opts) {
		fprintf(stderr, "mstore %s: out of memory\n", names);
		return EXIT_PARTIAL;
	}
	int rc = run_verb(&ctx, v, argc - 1, argv + 1, opts);
	free(opts);
	return rc;
}

const struct option cli_domain_longopts[] = {
	CLI_COMMON_LONGOPTS,
	{ "domain", required_argument, 0, OPT_FIRST_COMMAND_OPTION },
	{ 0, 0, 0, 0 },
};

bool cli_domain_option(void *opts, int opt, const char *arg)
{
	if (opt != OPT_FIRST_COMMAND_OPTION || !opts)
		return false;
	*(const char **)opts = arg;
	return true;
}

int cli_parse_simple(cli_ctx *ctx, int argc, char **argv, const char **domain)
{
	static const struct option plain[] = { CLI_COMMON_LONGOPTS, { 0, 0, 0, 0 } };
	return cli_parse(ctx, argc, argv, "h", domain ? cli_domain_longopts : plain, cli_domain_option, (void *)domain);
}


void cli_json_file_arg(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return;
		/* "-" is stdout, as for diff and check's --json FILE|- */
		if (strcmp(argv[i], "--json") == 0 && (argv[i + 1][0] != '-' || strcmp(argv[i + 1], "-") == 0))
			argv[i] = (char *)"--json-file";
	}
}

bool cli_check_size(const char *bad, char *buf, size_t len)
{
	if (bad)
		snprintf(buf, len, "'%s' is not a size in MB (a whole number >= 0)", bad);
	return !bad;
}

bool cli_flag_option(void *opts, int opt, const char *arg)
{
	(void)arg; /* a flag: the option table's signature */
	if (opt != OPT_FIRST_COMMAND_OPTION)
		return false;
	*(bool *)opts = true;
	return true;
}
