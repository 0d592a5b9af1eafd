/* json.h - a small streaming JSON writer for --json reports.
 *
 * Writing JSON is a dozen lines of escaping; pulling in a JSON library for
 * output only would cost more than it saves.  Strings are escaped per
 * RFC 8259; bytes that are not valid UTF-8 are written as U+FFFD so the
 * output always parses (file names on disk need not be UTF-8).
 */
#ifndef MS_JSON_H
#define MS_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct ms_json {
	FILE *out;
	int depth;
	bool need_comma[64];
	bool after_key;
} ms_json;

void ms_json_init(ms_json *j, FILE *out);
void ms_json_begin_object(ms_json *j);
void ms_json_end_object(ms_json *j);
void ms_json_begin_array(ms_json *j);
void ms_json_end_array(ms_json *j);
void ms_json_key(ms_json *j, const char *key);
void ms_json_string(ms_json *j, const char *s); /* NULL writes null */
void ms_json_int(ms_json *j, int64_t v);
void ms_json_bool(ms_json *j, bool v);
/* Shorthands for "key": value inside an object. */
void ms_json_kv_string(ms_json *j, const char *key, const char *s);
void ms_json_kv_int(ms_json *j, const char *key, int64_t v);
void ms_json_kv_bool(ms_json *j, const char *key, bool v);
/* The string as a reader of this writer's JSON gets it back: each byte
 * that is not valid UTF-8 becomes U+FFFD.  malloc'd; NULL when out of
 * memory.  What compares a store's names with an archive's needs it. */
char *ms_json_read_form(const char *s);
/* Ends the document with a newline. */
void ms_json_finish(ms_json *j);

#endif
