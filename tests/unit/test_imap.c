/* test_imap.c - imap/imap.h: the response reader over a socket (literals,
 * split reads, a dropped connection, a timeout), the tokenizer on canned
 * responses (odd atoms, sections, quoted strings, literals, NIL) and
 * modified UTF-7 both ways. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "imap/imap.h"

/* A connection reading what `server` writes on the other end. */
static ms_imap_conn *pair(int *server, int timeout_ms)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	*server = sv[1];
	ms_imap_conn *c = ms_imap_conn_fd(sv[0], "test", timeout_ms);
	assert_non_null(c);
	return c;
}

static void put(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void test_read_lines_and_literals(void **state)
{
	int srv;
	ms_imap_conn *c = pair(&srv, 2000);
	/* a literal whose bytes hold CRLF, ")" and a fake "{3}" line end */
	put(srv, "* OK ready\r\n* 1 FETCH (UID 7 BODY[] {12}\r\nab\r\n{3}\r\n)xy FLAGS (\\Seen))\r\na1 OK done\r\n");
	ms_imap_resp r = { 0 };
	ms_err e = { 0 };
	assert_int_equal(ms_imap_read(c, &r, &e), 0);
	assert_string_equal(r.buf, "* OK ready");
	assert_int_equal(ms_imap_read(c, &r, &e), 0);
	assert_int_equal(r.len, strlen("* 1 FETCH (UID 7 BODY[] {12}\r\nab\r\n{3}\r\n)xy FLAGS (\\Seen))"));
	ms_imap_cur cur = ms_imap_cur_of(&r);
	ms_imap_tok t;
	assert_int_equal(ms_imap_next(&cur, &t), MS_IMAP_T_ATOM); /* * */
	assert_int_equal(ms_imap_next(&cur, &t), MS_IMAP_T_ATOM); /* 1 */
	assert_true(ms_imap_next(&cur, &t) == MS_IMAP_T_ATOM && ms_imap_tok_is(&t, "fetch"));
	assert_int_equal(ms_imap_next(&cur, &t), MS_IMAP_T_LP);
	assert_true(ms_imap_next(&cur, &t) == MS_IMAP_T_ATOM && ms_imap_tok_is(&t, "UID"));
	uint64_t v = 0;
	assert_true(ms_imap_next(&cur, &t) == MS_IMAP_T_ATOM && ms_imap_tok_num(&t, &v) && v == 7);
	assert_true(ms_imap_next(&cur, &t) == MS_IMAP_T_ATOM && ms_imap_tok_is(&t, "BODY[]"));
	assert_int_equal(ms_imap_next(&cur, &t), MS_IMAP_T_LITERAL);
	assert_int_equal(t.len, 12);
	assert_memory_equal(t.s, "ab\r\n{3}\r\n)xy", 12);
	assert_true(ms_imap_next(&cur, &t) == MS_IMAP_T_ATOM && ms_imap_tok_is(&t, "FLAGS"));
	assert_int_equal(ms_imap_skip(&cur), MS_IMAP_T_LP);
	assert_int_equal(ms_imap_next(&cur, &t), MS_IMAP_T_RP);
	assert_int_equal(ms_imap_next(&cur, &t), MS_IMAP_T_END);
	assert_int_equal(ms_imap_read(c, &r, &e), 0);
	assert_string_equal(r.buf, "a1 OK done");
	/* the server goes away mid-line: an error naming it */
	put(srv, "* 2 FETCH (UID");
	close(srv);
	assert_int_equal(ms_imap_read(c, &r, &e), -1);
	assert_non_null(strstr(e.msg, "IMAP server test"));
	assert_non_null(strstr(e.msg, "closed"));
	ms_imap_resp_free(&r);
	ms_imap_conn_close(c);
}

/* A literal cut by the connection's end is an error, not a short message. */
static void test_read_cut_literal(void **state)
{
	int srv;
	ms_imap_conn *c = pair(&srv, 2000);
	put(srv, "* 1 FETCH (BODY[] {100}\r\nonly a few bytes");
	close(srv);
	ms_imap_resp r = { 0 };
	ms_err e = { 0 };
	assert_int_equal(ms_imap_read(c, &r, &e), -1);
	ms_imap_resp_free(&r);
	ms_imap_conn_close(c);
}

static void test_read_timeout(void **state)
{
	int srv;
	ms_imap_conn *c = pair(&srv, 200);
	put(srv, "* OK half a lin");
	ms_imap_resp r = { 0 };
	ms_err e = { 0 };
	assert_int_equal(ms_imap_read(c, &r, &e), -1);
	assert_non_null(strstr(e.msg, "timeout"));
	close(srv);
	ms_imap_resp_free(&r);
	ms_imap_conn_close(c);
}

/* Many responses in one read, and one response over many writes. */
static void test_read_split(void **state)
{
	int srv;
	ms_imap_conn *c = pair(&srv, 2000);
	put(srv, "* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1700000000] UIDs valid\r\n* LIST (\\Noselect) \".\" {5}\r\n");
	put(srv, "Gr");
	put(srv, "\xc3\xb6n\r\n");
	ms_imap_resp r = { 0 };
	ms_err e = { 0 };
	const char *want[] = { "* 3 EXISTS", "* 0 RECENT", "* OK [UIDVALIDITY 1700000000] UIDs valid" };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ms_imap_read(c, &r, &e), 0);
		assert_string_equal(r.buf, want[i]);
	}
	assert_int_equal(ms_imap_read(c, &r, &e), 0);
	ms_imap_cur cur = ms_imap_cur_of(&r);
	ms_imap_tok t;
	ms_imap_next(&cur, &t);
	ms_imap_next(&cur, &t);
	assert_int_equal(ms_imap_skip(&cur), MS_IMAP_T_LP);
	assert_int_equal(ms_imap_next(&cur, &t), MS_IMAP_T_QUOTED);
	assert_int_equal(ms_imap_next(&cur, &t), MS_IMAP_T_LITERAL);
	assert_memory_equal(t.s, "Gr\xc3\xb6n", 5);
	assert_int_equal(ms_imap_conn_buffered(c), 0);
	close(srv);
	ms_imap_resp_free(&r);
	ms_imap_conn_close(c);
}

static ms_imap_cur cur_of(const char *s)
{
	return (ms_imap_cur){ s, s + strlen(s) };
}

static void test_tokens_odd(void **state)
{
	ms_imap_tok t;
	/* a response code with spaces, a section with a list inside, flags with '\' and '*' */
	ms_imap_cur c = cur_of("* OK [PERMANENTFLAGS (\\Seen \\*)] x BODY[HEADER.FIELDS (MESSAGE-ID)] \"a \\\"q\\\\\" NIL nil "
	                       "$Label1 \\* ]odd");
	ms_imap_next(&c, &t);
	ms_imap_next(&c, &t);
	assert_int_equal(ms_imap_next(&c, &t), MS_IMAP_T_ATOM);
	assert_int_equal(t.len, strlen("[PERMANENTFLAGS (\\Seen \\*)]"));
	ms_imap_next(&c, &t);
	assert_true(ms_imap_next(&c, &t) == MS_IMAP_T_ATOM && ms_imap_tok_is(&t, "BODY[HEADER.FIELDS (MESSAGE-ID)]"));
	assert_int_equal(ms_imap_next(&c, &t), MS_IMAP_T_QUOTED);
	char *s = ms_imap_tok_dup(&t);
	assert_string_equal(s, "a \"q\\");
	free(s);
	assert_int_equal(ms_imap_next(&c, &t), MS_IMAP_T_NIL);
	assert_int_equal(ms_imap_next(&c, &t), MS_IMAP_T_NIL);
	assert_true(ms_imap_next(&c, &t) == MS_IMAP_T_ATOM && ms_imap_tok_is(&t, "$label1"));
	assert_true(ms_imap_next(&c, &t) == MS_IMAP_T_ATOM && ms_imap_tok_is(&t, "\\*"));
	assert_true(ms_imap_next(&c, &t) == MS_IMAP_T_ATOM && ms_imap_tok_is(&t, "]odd"));
	assert_int_equal(ms_imap_next(&c, &t), MS_IMAP_T_END);
	/* not IMAP: an open string, a literal longer than what follows, an open section, a bare CTL */
	c = cur_of("\"open");
	assert_int_equal(ms_imap_next(&c, &t), MS_IMAP_T_BAD);
	c = cur_of("{10}\r\nshort");
	assert_int_equal(ms_imap_next(&c, &t), MS_IMAP_T_BAD);
	c = cur_of("BODY[HEADER");
	assert_int_equal(ms_imap_next(&c, &t), MS_IMAP_T_BAD);
	c = cur_of("\x01");
	assert_int_equal(ms_imap_next(&c, &t), MS_IMAP_T_BAD);
	c = cur_of("(a (b c");
	assert_int_equal(ms_imap_skip(&c), MS_IMAP_T_BAD);
	uint64_t v;
	c = cur_of("12a 4294967295");
	ms_imap_next(&c, &t);
	assert_false(ms_imap_tok_num(&t, &v));
	ms_imap_next(&c, &t);
	assert_true(ms_imap_tok_num(&t, &v) && v == 4294967295u);
}

static void test_mutf7(void **state)
{
	static const char *const pairs[][2] = {
		{ "INBOX", "INBOX" },
		{ "Gr\xc3\xb6n", "Gr&APY-n" },
		{ "A&B", "A&-B" },
		{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "&ZeVnLIqe-" },          /* 日本語 */
		{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
		  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },                                /* RFC 3501's example */
		{ "\xf0\x9f\x93\xa7 mail", "&2D3c5w- mail" },                        /* a surrogate pair */
	};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		char *enc = ms_imap_mutf7_encode(pairs[i][0]);
		assert_non_null(enc);
		assert_string_equal(enc, pairs[i][1]);
		char *dec = ms_imap_mutf7_decode(enc, strlen(enc));
		assert_non_null(dec);
		assert_string_equal(dec, pairs[i][0]);
		free(enc);
		free(dec);
	}
	/* not modified UTF-7: unclosed, encoded ASCII, bad base64, 8-bit, a lone surrogate */
	const char *bad[] = { "&APY", "&AGE-", "&A/Y-", "Gr\xc3\xb6n", "&2D0-" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_null(ms_imap_mutf7_decode(bad[i], strlen(bad[i])));
	assert_null(ms_imap_mutf7_encode("bad \xff utf8"));
}

static void test_quote(void **state)
{
	char *q = ms_imap_quote("a \"b\" \\c");
	assert_string_equal(q, "\"a \\\"b\\\" \\\\c\"");
	free(q);
	assert_null(ms_imap_quote("line\r\nbreak"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_lines_and_literals),
		cmocka_unit_test(test_read_cut_literal),
		cmocka_unit_test(test_read_timeout),
		cmocka_unit_test(test_read_split),
		cmocka_unit_test(test_tokens_odd),
		cmocka_unit_test(test_mutf7),
		cmocka_unit_test(test_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
