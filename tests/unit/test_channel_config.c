/* test_channel_config.c - the channel configuration (channel/config.h):
 * mailsync's grammar and mstore's keywords, every kind of error with its
 * FILE:LINE; the pattern matcher and pairing names (channel/pattern.h);
 * mailsync's local stores (channel/local.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channel/config.h"
#include "channel/local.h"
#include "channel/pattern.h"

static int parse(const char *text, ms_chan_config *c, ms_err *e)
{
	memset(e, 0, sizeof *e);
	return ms_chan_config_parse(text, strlen(text), "t.conf", c, e);
}

/* The text must fail with exactly this message. */
static void expect_error(const char *text, const char *msg)
{
	ms_chan_config c;
	ms_err e;
	if (parse(text, &c, &e) == 0) {
		ms_chan_config_free(&c);
		fail_msg("accepted: %s", text);
	}
	assert_int_equal(e.code, MS_E_CONFIG);
	assert_string_equal(e.msg, msg);
	assert_int_equal(c.nstores + c.nchannels, 0); /* nothing half-read is handed out */
}

/* ---- what mailsync's grammar accepts ----------------------------------------- */

static void test_mailsync_example(void **state)
{
	(void)state;
	/* the shape of mailsync's doc/examples/mailsync and the SUSE guide */
	const char *text =
		"# mailsync configuration\n"
		"store inbox {\n"
		"\tserver {mail.example.com/user=ann/ssl}\n"
		"\tref {mail.example.com}\n"
		"\tpat INBOX.*\n"
		"\tprefix INBOX.\n"
		"\tpasswd s3cret\n"
		"}\n"
		"store local { pat Mail/% prefix Mail/ }   # one line is fine: newlines mean nothing\n"
		"channel both inbox local {\n"
		"\tmsinfo .mailsync-msinfo\n"
		"\tsizelimit 100000\n"
		"}\n";
	ms_chan_config c;
	ms_err e;
	assert_int_equal(parse(text, &c, &e), 0);
	assert_int_equal(c.nstores, 2);
	assert_int_equal(c.nchannels, 1);
	const ms_chan_store *in = ms_chan_config_store(&c, "inbox");
	assert_non_null(in);
	assert_int_equal(in->line, 2);
	assert_string_equal(in->server, "{mail.example.com/user=ann/ssl}");
	assert_string_equal(in->ref, "{mail.example.com}");
	assert_string_equal(in->pat, "INBOX.*");
	assert_string_equal(in->prefix, "INBOX.");
	assert_string_equal(in->passwd, "s3cret");
	assert_string_equal(in->kind, "imap"); /* a server makes it remote */
	const ms_chan_store *lo = ms_chan_config_store(&c, "local");
	assert_null(lo->kind); /* local: format detected per mailbox */
	assert_null(lo->server);
	assert_int_equal(lo->line, 9);
	const ms_chan_channel *ch = ms_chan_config_channel(&c, "both");
	assert_non_null(ch);
	assert_ptr_equal(ch->store[0], in);
	assert_ptr_equal(ch->store[1], lo);
	assert_string_equal(ch->msinfo, ".mailsync-msinfo");
	assert_true(ch->has_sizelimit);
	assert_int_equal(ch->sizelimit, 100000);
	assert_int_equal(ch->maxdelete, -1);
	assert_int_equal(ch->quarantinedays, -1);
	assert_null(ms_chan_config_store(&c, "both")); /* a channel is not a store */
	assert_null(ms_chan_config_channel(&c, "inbox"));
	ms_chan_config_free(&c);
}

static void test_tokens(void **state)
{
	(void)state;
	const char *text =
		"store s{pat x}\n"                        /* no space before '{': "s{pat" is one token... */
		;
	ms_chan_config c;
	ms_err e;
	/* ...as in mailsync, where tokens end only at white space */
	assert_int_equal(parse(text, &c, &e), -1);
	assert_string_equal(e.msg, "t.conf:1: store s{pat: expected \"{\", found \"x}\"");

	text = "store a {\n"
	       "  pat Mail/My\\ Folder\\ *   # backslash: a literal character\n"
	       "  prefix \"\"                 # mstore: an empty quoted token\n"
	       "  ref \"two words\"\n"
	       "  passwd pa#ss               # '#' inside a token is not a comment\n"
	       "  server \\\"q\\\"\n"
	       "}\n"
	       "#store b { pat x }\n"
	       "store\n\n\nb\n{\n}\n";
	assert_int_equal(parse(text, &c, &e), 0);
	const ms_chan_store *a = ms_chan_config_store(&c, "a");
	assert_string_equal(a->pat, "Mail/My Folder *");
	assert_string_equal(a->prefix, "");
	assert_string_equal(a->ref, "two words");
	assert_string_equal(a->passwd, "pa#ss");
	assert_string_equal(a->server, "\"q\"");
	const ms_chan_store *b = ms_chan_config_store(&c, "b");
	assert_non_null(b);
	assert_int_equal(b->line, 12); /* the name's line */
	assert_int_equal(c.nstores, 2);
	ms_chan_config_free(&c);

	/* a keyword given twice: the last counts; an empty file is no error */
	assert_int_equal(parse("store a { pat x pat y }", &c, &e), 0);
	assert_string_equal(c.stores[0].pat, "y");
	ms_chan_config_free(&c);
	assert_int_equal(parse("  # nothing\n", &c, &e), 0);
	assert_int_equal(c.nstores + c.nchannels, 0);
	ms_chan_config_free(&c);
	/* a channel may name stores defined after it; CRLF lines are white space */
	assert_int_equal(parse("channel c a b {\r\n msinfo m\r\n}\r\nstore a { }\r\nstore b { }\r\n", &c, &e), 0);
	assert_string_equal(c.channels[0].store[1]->name, "b");
	ms_chan_config_free(&c);
}

static void test_mstore_keywords(void **state)
{
	(void)state;
	const char *text =
		"store md { kind maildir path /srv/mail/ann layout maildir++ inbox /srv/mail/ann }\n"
		"store mb { kind mbox path /home/ann/Mail layout verbatim }\n"
		"store hm { kind hmailserver db sqlite:/var/lib/m.db data /srv/Data account ann@example.com\n"
		"           passfile /etc/mstore/db.pass pat * }\n"
		"store im { kind imap host imap.example.com port 993 tls implicit user ann passfile /x }\n"
		"channel c md hm { maxdelete 20% quarantinedays 7 }\n"
		"channel d mb im { maxdelete 0 sizelimit 0 }\n";
	ms_chan_config c;
	ms_err e;
	assert_int_equal(parse(text, &c, &e), 0);
	const ms_chan_store *md = ms_chan_config_store(&c, "md");
	assert_string_equal(md->kind, "maildir");
	assert_string_equal(md->path, "/srv/mail/ann");
	assert_string_equal(md->layout, "maildir++");
	assert_string_equal(md->inbox, "/srv/mail/ann");
	const ms_chan_store *hm = ms_chan_config_store(&c, "hm");
	assert_string_equal(hm->db, "sqlite:/var/lib/m.db");
	assert_string_equal(hm->data, "/srv/Data");
	assert_string_equal(hm->account, "ann@example.com");
	assert_string_equal(hm->passfile, "/etc/mstore/db.pass");
	const ms_chan_store *im = ms_chan_config_store(&c, "im");
	assert_string_equal(im->host, "imap.example.com");
	assert_string_equal(im->port, "993");
	assert_string_equal(im->tls, "implicit");
	assert_string_equal(im->user, "ann");
	assert_int_equal(ms_chan_config_channel(&c, "c")->maxdelete, 20);
	assert_int_equal(ms_chan_config_channel(&c, "c")->quarantinedays, 7);
	const ms_chan_channel *d = ms_chan_config_channel(&c, "d");
	assert_int_equal(d->maxdelete, 0);
	assert_true(d->has_sizelimit);
	assert_null(d->msinfo); /* optional in mstore: it keeps its own state */
	ms_chan_config_free(&c);
}

/* ---- every kind of error --------------------------------------------------------- */

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_error("store a { pat x }\nstroe b { }\n", "t.conf:2: expected \"store\" or \"channel\", found \"stroe\"");
	expect_error("store", "t.conf:1: store: expected a store name, found the end of the file");
	expect_error("store {", "t.conf:1: store: expected a store name, found \"{\"");
	expect_error("store a {}", "t.conf:1: store a: expected \"{\", found \"{}\""); /* one token, as in mailsync */
	expect_error("store a\n\n pat x }", "t.conf:3: store a: expected \"{\", found \"pat\"");
	expect_error("store a {\n pat x\n\n",
	             "t.conf:4: store a: expected \"}\" (the block opened at line 1 is not closed), found the end of the file");
	expect_error("store a {\n pat x\n  folder y\n}",
	             "t.conf:3: store a: expected a keyword (pat, prefix, server, ref, passwd, kind, path, layout, inbox, db, "
	             "data, account, host, port, tls, user, passfile, passcmd, tokencmd, auth, tls-verify, cafile, timeout, allow-plaintext, specialuse, trash, create) or \"}\", found \"folder\"");
	expect_error("store a { Pat x }", /* keywords are case-sensitive, as in mailsync */
	             "t.conf:1: store a: expected a keyword (pat, prefix, server, ref, passwd, kind, path, layout, inbox, db, "
	             "data, account, host, port, tls, user, passfile, passcmd, tokencmd, auth, tls-verify, cafile, timeout, allow-plaintext, specialuse, trash, create) or \"}\", found \"Pat\"");
	expect_error("store a {\n prefix\n}\n",
	             "t.conf:3: store a: expected a value after \"prefix\" (write \"\" for an empty one), found \"}\"");
	expect_error("store a { pat",
	             "t.conf:1: store a: expected a value after \"pat\" (write \"\" for an empty one), found the end of the file");
	expect_error("store a {\n pat \"Mail/x\n}\n",
	             "t.conf:4: unterminated quoted string: the '\"' opened at line 2 is not closed");
	expect_error("store a { pat \"x\"y }", "t.conf:1: expected white space after a closing '\"'");
	expect_error("store a { pat x\\", "t.conf:1: expected a character after '\\', found the end of the file");
	expect_error("store a { \"pat\" x }",
	             "t.conf:1: store a: expected a keyword (pat, prefix, server, ref, passwd, kind, path, layout, inbox, db, "
	             "data, account, host, port, tls, user, passfile, passcmd, tokencmd, auth, tls-verify, cafile, timeout, allow-plaintext, specialuse, trash, create) or \"}\", found \"pat\"");
	expect_error("channel", "t.conf:1: channel: expected a channel name, found the end of the file");
	expect_error("channel c a", "t.conf:1: channel c: expected the name of its second store, found the end of the file");
	expect_error("channel c a b msinfo x }", "t.conf:1: channel c: expected \"{\", found \"msinfo\"");
	expect_error("store a { }\nstore b { }\nchannel c a b {\n msinfo x\n pat y\n}",
	             "t.conf:5: channel c: expected a keyword (msinfo, passwd, sizelimit, maxdelete, quarantinedays) or \"}\", found \"pat\"");
	expect_error("store a { }\nstore b { }\nchannel c a b {\n msinfo x\n",
	             "t.conf:5: channel c: expected \"}\" (the block opened at line 3 is not closed), found the end of the file");
}

static void test_meaning_errors(void **state)
{
	(void)state;
	expect_error("store a { }\n\nstore a { }",
	             "t.conf:3: the name \"a\" is already used by the store at line 1 (stores and channels share one namespace)");
	expect_error("store a { }\nstore b { }\nchannel a a b { }",
	             "t.conf:3: the name \"a\" is already used by the store at line 1 (stores and channels share one namespace)");
	expect_error("store a { }\nstore b { }\nchannel c a b { }\nstore c { }",
	             "t.conf:4: the name \"c\" is already used by the channel at line 3 (stores and channels share one "
	             "namespace)");
	expect_error("store a { kind maildir path /m create maybe }",
	             "t.conf:1: store a: create \"maybe\": expected yes or no");
	expect_error("store a { }\nchannel c a nope { }", "t.conf:2: channel c: expected the name of a store, found \"nope\"");
	expect_error("store a { }\nchannel c a d { }\nchannel d a a { }",
	             "t.conf:2: channel c: expected the name of a store, found \"d\" (that is a channel)");
	expect_error("store a { }\nchannel c a a { }", "t.conf:2: channel c: expected two different stores, found a twice");
	expect_error("store a { kind maildri path x }",
	             "t.conf:1: store a: kind \"maildri\": expected maildir, mbox, hmailserver or imap");
	expect_error("store a { kind imap host h tls ssl }",
	             "t.conf:1: store a: tls \"ssl\": expected implicit, starttls or none");
	expect_error("store a { kind imap host h port 99999 }", "t.conf:1: store a: port \"99999\": expected a number from 1 to 65535");
	expect_error("store a { kind imap host h port 1x }", "t.conf:1: store a: port \"1x\": expected a number from 1 to 65535");
	expect_error("store a { kind maildir path p layout flat }",
	             "t.conf:1: store a: layout \"flat\": expected maildir++ (.Sub.Folder directories) or verbatim "
	             "(Sub/Folder directories)");
	expect_error("store a { kind maildir }", "t.conf:1: store a: kind maildir needs path DIR");
	expect_error("store a { kind mbox path \"\" }", "t.conf:1: store a: kind mbox needs path DIR");
	expect_error("store a { kind hmailserver db sqlite:x data d }",
	             "t.conf:1: store a: kind hmailserver needs db URL, data DIR and account ADDRESS");
	expect_error("store a { kind imap }", "t.conf:1: store a: kind imap needs host NAME (or a mailsync server {HOST})");
	expect_error("store a { kind mbox path p server {h} }", "t.conf:1: store a: \"server\" is for IMAP stores, not kind mbox");
	expect_error("store a { }\nstore b { }\nchannel c a b { sizelimit 10k }",
	             "t.conf:3: channel c: sizelimit \"10k\": expected a size in bytes (0: no limit)");
	expect_error("store a { }\nstore b { }\nchannel c a b { sizelimit -1 }",
	             "t.conf:3: channel c: sizelimit \"-1\": expected a size in bytes (0: no limit)");
	expect_error("store a { }\nstore b { }\nchannel c a b { maxdelete 101 }",
	             "t.conf:3: channel c: maxdelete \"101\": expected a percentage from 0 to 100");
	expect_error("store a { }\nstore b { }\nchannel c a b { quarantinedays 2w }",
	             "t.conf:3: channel c: quarantinedays \"2w\": expected a number of days from 0 (for ever) to 36500");
	expect_error("store a { }\nstore b { }\nchannel c a b { maxdelete % }",
	             "t.conf:3: channel c: maxdelete \"%\": expected a percentage from 0 to 100");
	ms_chan_config c;
	ms_err e;
	const char nul[] = "store a { pat x\0y }";
	memset(&e, 0, sizeof e);
	assert_int_equal(ms_chan_config_parse(nul, sizeof nul - 1, "t.conf", &c, &e), -1);
	assert_string_equal(e.msg, "t.conf:1: a NUL byte in a token (this is not a text file)");
}

static void test_read_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_channel_config.XXXXXX", path[PATH_MAX];
	assert_non_null(mkdtemp(dir));
	ms_chan_config c;
	ms_err e = { 0 };
	snprintf(path, sizeof path, "%s/none", dir);
	assert_int_equal(ms_chan_config_read(path, &c, &e), -1);
	assert_int_equal(e.code, MS_E_IO);
	assert_non_null(strstr(e.msg, "No such file"));
	assert_int_equal(ms_chan_config_read(dir, &c, &e), -1); /* a directory */
	assert_non_null(strstr(e.msg, "not a regular file"));
	snprintf(path, sizeof path, "%s/conf", dir);
	FILE *f = fopen(path, "w");
	fputs("store a { pat x }\nstore b { bogus 1 }\n", f);
	fclose(f);
	assert_int_equal(ms_chan_config_read(path, &c, &e), -1);
	char want[PATH_MAX + 100];
	snprintf(want, sizeof want, "%s:2: store b:", path); /* the file's own name in the message */
	assert_memory_equal(e.msg, want, strlen(want));

	/* the default: channels.conf when it exists, else ~/.mailsync */
	char *old = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("HOME", dir, 1);
	char def[PATH_MAX];
	assert_int_equal(ms_chan_config_default_path(def, sizeof def, &e), 0);
	snprintf(want, sizeof want, "%s/.mailsync", dir);
	assert_string_equal(def, want);
	snprintf(path, sizeof path, "%s/.config", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/.config/mstore", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/.config/mstore/channels.conf", dir);
	fclose(fopen(path, "w"));
	assert_int_equal(ms_chan_config_default_path(def, sizeof def, &e), 0);
	assert_string_equal(def, path);
	unsetenv("HOME");
	assert_int_equal(ms_chan_config_default_path(def, sizeof def, &e), -1);
	if (old)
		setenv("HOME", old, 1);
	free(old);
	char cmd[PATH_MAX + 20];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_side_conf(void **state)
{
	(void)state;
	char pf[] = "/tmp/test_channel_pass.XXXXXX";
	int fd = mkstemp(pf);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "secret\r\nsecond line\n", 20), 20);
	close(fd);
	char text[512];
	snprintf(text, sizeof text,
	         "store hm { kind hmailserver db sqlite:x data d account a@b passfile %s }\n"
	         "store im { server {imap.example.com:1143/tls/user=ann/novalidate-cert} passwd pw user bob }\n"
	         "store m2 { server {h/ssl} }\n",
	         pf);
	ms_chan_config c;
	ms_err e;
	assert_int_equal(parse(text, &c, &e), 0);
	ms_side_conf sc;
	assert_int_equal(ms_chan_side_conf(ms_chan_config_store(&c, "hm"), true, &sc, &e), 0);
	assert_string_equal(sc.name, "hm");
	assert_true(sc.read_only);
	assert_string_equal(ms_side_conf_get(&sc, "kind"), "hmailserver");
	assert_string_equal(ms_side_conf_get(&sc, "db"), "sqlite:x");
	assert_string_equal(ms_side_conf_get(&sc, "account"), "a@b");
	assert_string_equal(ms_side_conf_get(&sc, "password"), "secret"); /* first line, no line end */
	assert_null(ms_side_conf_get(&sc, "passfile"));                   /* resolved, not handed on */
	ms_chan_side_conf_free(&sc);

	assert_int_equal(ms_chan_side_conf(ms_chan_config_store(&c, "im"), false, &sc, &e), 0);
	assert_string_equal(ms_side_conf_get(&sc, "kind"), "imap");
	assert_string_equal(ms_side_conf_get(&sc, "host"), "imap.example.com");
	assert_string_equal(ms_side_conf_get(&sc, "port"), "1143");
	assert_string_equal(ms_side_conf_get(&sc, "tls"), "starttls");
	assert_string_equal(ms_side_conf_get(&sc, "user"), "bob"); /* the keyword wins over /user= */
	assert_string_equal(ms_side_conf_get(&sc, "novalidate-cert"), "yes");
	assert_string_equal(ms_side_conf_get(&sc, "password"), "pw");
	assert_null(ms_side_conf_get(&sc, "passwd"));
	ms_chan_side_conf_free(&sc);
	assert_int_equal(ms_chan_side_conf(ms_chan_config_store(&c, "m2"), false, &sc, &e), 0);
	assert_string_equal(ms_side_conf_get(&sc, "host"), "h");
	assert_string_equal(ms_side_conf_get(&sc, "tls"), "implicit");
	assert_null(ms_side_conf_get(&sc, "port"));
	ms_chan_side_conf_free(&sc);

	unlink(pf);
	assert_int_equal(ms_chan_side_conf(ms_chan_config_store(&c, "hm"), true, &sc, &e), -1);
	assert_non_null(strstr(e.msg, "store hm: cannot read the passfile"));
	ms_chan_config_free(&c);
}

/* ---- patterns and pairing names ----------------------------------------------- */

static void test_pattern(void **state)
{
	(void)state;
	assert_true(ms_pat_match("*", "INBOX", '.'));
	assert_true(ms_pat_match("*", "a.b.c", '.'));
	assert_true(ms_pat_match("INBOX.*", "INBOX.Lists.dev", '.'));   /* '*' crosses levels */
	assert_false(ms_pat_match("INBOX.*", "INBOX", '.'));
	assert_true(ms_pat_match("INBOX.%", "INBOX.Lists", '.'));
	assert_false(ms_pat_match("INBOX.%", "INBOX.Lists.dev", '.')); /* '%' stays in its level */
	assert_true(ms_pat_match("%", "Sent", '/'));
	assert_false(ms_pat_match("%", "Lists/dev", '/'));
	assert_true(ms_pat_match("%", "Lists.dev", '/')); /* '.' is no delimiter on a '/' store */
	assert_true(ms_pat_match("Mail/%/x", "Mail/a/x", '/'));
	assert_false(ms_pat_match("Mail/%/x", "Mail/a/b/x", '/'));
	assert_true(ms_pat_match("Mail/*/x", "Mail/a/b/x", '/'));
	assert_true(ms_pat_match("a*b%c", "aXX/YbZc", '/'));
	assert_false(ms_pat_match("a*b%c", "aXXb/c", '/'));
	assert_true(ms_pat_match("inbox", "INBOX", '/')); /* INBOX in any case */
	assert_true(ms_pat_match("INBOX", "Inbox", '/'));
	assert_true(ms_pat_match("inbox.%", "INBOX.x", '.'));
	assert_false(ms_pat_match("inbox.X", "INBOX.x", '.')); /* only the INBOX level */
	assert_false(ms_pat_match("mail", "Mail", '/'));
	assert_false(ms_pat_match("", "x", '/'));
	assert_true(ms_pat_match("", "", '/'));
	/* no backtracking blow-up */
	char name[4001];
	memset(name, 'a', 4000);
	name[4000] = '\0';
	assert_false(ms_pat_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", name, '/'));
	/* subtrees a walk may skip */
	assert_true(ms_pat_could_match_below("Mail/*", "Mail", '/'));
	assert_true(ms_pat_could_match_below("Mail/%/x", "Mail/a", '/'));
	assert_false(ms_pat_could_match_below("Mail/%", "Mail/a", '/'));
	assert_false(ms_pat_could_match_below("Mail/*", "Other", '/'));
	assert_true(ms_pat_could_match_below("*", "anything/deep", '/'));
	assert_true(ms_pat_could_match_below("Mail/*", "", '/'));
}

static void test_boxname(void **state)
{
	(void)state;
	char b[64];
	assert_int_equal(ms_boxname("INBOX.Lists.dev", "INBOX.", '.', b, sizeof b), MS_BOXNAME_OK);
	assert_string_equal(b, "Lists/dev"); /* prefix off, delimiter to '/' */
	assert_int_equal(ms_boxname("Mail/x", "Mail/", '/', b, sizeof b), MS_BOXNAME_OK);
	assert_string_equal(b, "x");
	assert_int_equal(ms_boxname("INBOX", "INBOX.", '.', b, sizeof b), MS_BOXNAME_OK);
	assert_string_equal(b, "INBOX"); /* only the whole prefix is removed */
	assert_int_equal(ms_boxname("Sent", NULL, '.', b, sizeof b), MS_BOXNAME_OK);
	assert_string_equal(b, "Sent");
	assert_int_equal(ms_boxname("a/b", "", '.', b, sizeof b), MS_BOXNAME_SLASH);
	assert_int_equal(ms_boxname("0123456789", "", '.', b, 10), MS_BOXNAME_TOO_LONG);
	assert_true(ms_boxname_to_store("Lists/dev", "INBOX.", '.', b, sizeof b));
	assert_string_equal(b, "INBOX.Lists.dev");
	assert_false(ms_boxname_to_store("Lists/dev", "INBOX.", '.', b, 8));
	/* only the exact prefix goes: another case is part of the name */
	assert_int_equal(ms_boxname("inbox.Lists", "INBOX.", '.', b, sizeof b), MS_BOXNAME_OK);
	assert_string_equal(b, "inbox/Lists");
}

/* ---- local stores ------------------------------------------------------------------- */

static void mk(const char *root, const char *rel, const char *content)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	if (!content) {
		assert_int_equal(mkdir(p, 0700), 0);
		return;
	}
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void mkmaildir(const char *root, const char *rel)
{
	char p[PATH_MAX];
	mk(root, rel, NULL);
	static const char *const sub[] = { "cur", "new", "tmp" };
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", rel, sub[i]);
		mk(root, p, NULL);
	}
}

static void test_local(void **state)
{
	(void)state;
	char root[] = "/tmp/test_channel_local.XXXXXX", p[PATH_MAX];
	assert_non_null(mkdtemp(root));
	mk(root, "Mail", NULL);
	mk(root, "Mail/inbox-archive", "From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n");
	mk(root, "Mail/empty", "");
	mk(root, "Mail/notes.txt", "not mail\n");
	mk(root, "Mail/old.mbx", "*mbx*\r\n");
	mk(root, "Mail/old.mmdf", "\1\1\1\1\nx");
	mkmaildir(root, "Mail/md");
	mkmaildir(root, "Mail/md/sub");     /* a Maildir inside a Maildir (verbatim layout) */
	mk(root, "Mail/lists", NULL);         /* a level, no mailbox */
	mk(root, "Mail/lists/dev", "");
	mk(root, "Mail/.hidden", "");
	mk(root, "Other", NULL);
	mk(root, "Other/x", "");
	mk(root, "inbox-file", "From x\n\n");

	ms_local_format f;
	ms_err e = { 0 };
	snprintf(p, sizeof p, "%s/Mail/md", root);
	assert_int_equal(ms_local_detect(p, &f, &e), 0);
	assert_int_equal(f, MS_LOCAL_MAILDIR);
	snprintf(p, sizeof p, "%s/Mail/lists", root);
	assert_int_equal(ms_local_detect(p, &f, &e), 0);
	assert_int_equal(f, MS_LOCAL_DIR);
	snprintf(p, sizeof p, "%s/Mail/empty", root);
	assert_int_equal(ms_local_detect(p, &f, &e), 0);
	assert_int_equal(f, MS_LOCAL_MBOX);
	snprintf(p, sizeof p, "%s/Mail/old.mbx", root);
	assert_int_equal(ms_local_detect(p, &f, &e), 0);
	assert_int_equal(f, MS_LOCAL_MBX);
	snprintf(p, sizeof p, "%s/Mail/old.mmdf", root);
	assert_int_equal(ms_local_detect(p, &f, &e), 0);
	assert_int_equal(f, MS_LOCAL_MMDF);
	snprintf(p, sizeof p, "%s/Mail/notes.txt", root);
	assert_int_equal(ms_local_detect(p, &f, &e), 0);
	assert_int_equal(f, MS_LOCAL_OTHER);
	snprintf(p, sizeof p, "%s/nothing", root);
	assert_int_equal(ms_local_detect(p, &f, &e), 0);
	assert_int_equal(f, MS_LOCAL_NONE);

	char text[PATH_MAX + 200];
	snprintf(text, sizeof text,
	         "store all { path %s pat Mail/* prefix Mail/ inbox %s/inbox-file }\n"
	         "store top { path %s pat Mail/%% }\n"
	         "store one { path %s pat Mail/md }\n"
	         "store nopat { path %s }\n",
	         root, root, root, root, root);
	ms_chan_config c;
	assert_int_equal(parse(text, &c, &e), 0);
	ms_local_list l;
	assert_int_equal(ms_local_list_boxes(ms_chan_config_store(&c, "all"), &l, &e), 0);
	const char *want[] = { "Mail/empty", "Mail/inbox-archive", "Mail/lists/dev", "Mail/md", "Mail/md/sub" };
	assert_int_equal(l.nboxes, 5);
	for (size_t i = 0; i < l.nboxes; i++)
		assert_string_equal(l.boxes[i].name, want[i]);
	assert_int_equal(l.boxes[3].format, MS_LOCAL_MAILDIR);
	assert_int_equal(l.boxes[0].format, MS_LOCAL_MBOX);
	assert_int_equal(l.nskipped, 3); /* notes.txt, old.mbx, old.mmdf: named, not listed */
	ms_local_list_free(&l);

	/* INBOX: listed when the pattern takes it and it exists */
	snprintf(text, sizeof text, "store s { path %s pat %% inbox %s/inbox-file }\n", root, root);
	ms_chan_config c2;
	assert_int_equal(parse(text, &c2, &e), 0);
	assert_int_equal(ms_local_list_boxes(&c2.stores[0], &l, &e), 0);
	assert_int_equal(l.nboxes, 2);
	assert_string_equal(l.boxes[0].name, "INBOX");
	assert_string_equal(l.boxes[1].name, "inbox-file");
	ms_local_list_free(&l);
	ms_chan_config_free(&c2);

	assert_int_equal(ms_local_list_boxes(ms_chan_config_store(&c, "top"), &l, &e), 0);
	assert_int_equal(l.nboxes, 3); /* one level: empty, inbox-archive, md */
	assert_string_equal(l.boxes[2].name, "Mail/md");
	ms_local_list_free(&l);
	assert_int_equal(ms_local_list_boxes(ms_chan_config_store(&c, "one"), &l, &e), 0);
	assert_int_equal(l.nboxes, 1);
	assert_string_equal(l.boxes[0].name, "Mail/md");
	ms_local_list_free(&l);
	assert_int_equal(ms_local_list_boxes(ms_chan_config_store(&c, "nopat"), &l, &e), 0);
	assert_int_equal(l.nboxes, 0); /* no pat: nothing, as in mailsync */
	ms_local_list_free(&l);
	ms_chan_config_free(&c);

	/* an absolute pattern: names are absolute paths, the prefix makes them short */
	snprintf(text, sizeof text, "store s { pat %s/Mail/%% prefix %s/Mail/ }", root, root);
	assert_int_equal(parse(text, &c, &e), 0);
	assert_int_equal(ms_local_list_boxes(&c.stores[0], &l, &e), 0);
	assert_int_equal(l.nboxes, 3);
	snprintf(p, sizeof p, "%s/Mail/md", root);
	assert_string_equal(l.boxes[2].name, p);
	assert_string_equal(l.boxes[2].path, p);
	char pair[64];
	assert_int_equal(ms_boxname(l.boxes[2].name, c.stores[0].prefix, '/', pair, sizeof pair), MS_BOXNAME_OK);
	assert_string_equal(pair, "md");
	ms_local_list_free(&l);
	ms_chan_config_free(&c);

	snprintf(text, sizeof text, "store s { path %s/gone pat * }", root);
	assert_int_equal(parse(text, &c, &e), 0);
	assert_int_equal(ms_local_list_boxes(&c.stores[0], &l, &e), -1);
	assert_non_null(strstr(e.msg, "cannot list the local store's directory"));
	ms_chan_config_free(&c);

	char cmd[PATH_MAX + 20];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mailsync_example),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_mstore_keywords),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_meaning_errors),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_side_conf),
		cmocka_unit_test(test_pattern),
		cmocka_unit_test(test_boxname),
		cmocka_unit_test(test_local),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
