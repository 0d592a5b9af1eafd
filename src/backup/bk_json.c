/* bk_json.c - typed reads of an archive's JSON (docs/backup-format.md).
 *
 * An archive is input: any member may hold any JSON type.  json-glib's
 * _with_default getters return NULL for a string member that holds a
 * number, and get_array_member/get_object log a CRITICAL and return NULL
 * for a node of another type; read blindly, a hand-made or damaged
 * archive crashed restore.  So every JSON object of an archive is
 * checked against the members it may have (bk_check) while the archive
 * is read, before anything is written: a member of the wrong type is a
 * damaged archive.  The getters below never return a value of another
 * type (the default instead), so code after the check cannot crash
 * either.
 */
#include <stdio.h>
#include <string.h>

#include "backup/bk_internal.h"

static const char *kind_name(bk_kind k)
{
	switch (k) {
	case BK_STR: return "a string";
	case BK_INT: return "an integer";
	case BK_BOOL: return "true or false";
	case BK_STRS: return "an array of strings";
	case BK_OBJS: return "an array of objects";
	}
	return "?";
}

static bool value_is(JsonNode *n, GType t)
{
	return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == t;
}

static bool array_of(JsonNode *n, bool objects)
{
	if (!JSON_NODE_HOLDS_ARRAY(n))
		return false;
	JsonArray *a = json_node_get_array(n);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *el = json_array_get_element(a, i);
		if (objects ? !JSON_NODE_HOLDS_OBJECT(el) : !value_is(el, G_TYPE_STRING))
			return false;
	}
	return true;
}

static bool node_is(JsonNode *n, bk_kind k)
{
	if (JSON_NODE_HOLDS_NULL(n))
		return true; /* null is "absent" (plus_char is written so) */
	switch (k) {
	case BK_STR: return value_is(n, G_TYPE_STRING);
	case BK_INT: return value_is(n, G_TYPE_INT64);
	case BK_BOOL: return value_is(n, G_TYPE_BOOLEAN);
	case BK_STRS: return array_of(n, false);
	case BK_OBJS: return array_of(n, true);
	}
	return false;
}

bool bk_check(JsonObject *o, const bk_field *f, size_t n, const char *where, char *why, size_t whylen)
{
	for (size_t i = 0; o && i < n; i++) {
		JsonNode *v = json_object_get_member(o, f[i].name);
		if (v && !node_is(v, f[i].kind)) {
			snprintf(why, whylen, "%s: member \"%s\" is not %s", where, f[i].name, kind_name(f[i].kind));
			return false;
		}
	}
	return true;
}

const char *bk_str(JsonObject *o, const char *member, const char *dflt)
{
	JsonNode *v = o ? json_object_get_member(o, member) : NULL;
	return v && value_is(v, G_TYPE_STRING) ? json_node_get_string(v) : dflt;
}

int64_t bk_int(JsonObject *o, const char *member, int64_t dflt)
{
	JsonNode *v = o ? json_object_get_member(o, member) : NULL;
	return v && value_is(v, G_TYPE_INT64) ? json_node_get_int(v) : dflt;
}

bool bk_bool(JsonObject *o, const char *member, bool dflt)
{
	JsonNode *v = o ? json_object_get_member(o, member) : NULL;
	return v && value_is(v, G_TYPE_BOOLEAN) ? json_node_get_boolean(v) : dflt;
}

JsonArray *bk_array(JsonObject *o, const char *member)
{
	JsonNode *v = o ? json_object_get_member(o, member) : NULL;
	return v && JSON_NODE_HOLDS_ARRAY(v) ? json_node_get_array(v) : NULL;
}

JsonObject *bk_object_at(JsonArray *a, guint i)
{
	JsonNode *v = a && i < json_array_get_length(a) ? json_array_get_element(a, i) : NULL;
	return v && JSON_NODE_HOLDS_OBJECT(v) ? json_node_get_object(v) : NULL;
}

const char *bk_str_at(JsonArray *a, guint i)
{
	JsonNode *v = a && i < json_array_get_length(a) ? json_array_get_element(a, i) : NULL;
	return v && value_is(v, G_TYPE_STRING) ? json_node_get_string(v) : NULL;
}

/* ---- what each JSON object of an archive may hold -------------------------------- */

const bk_field bk_header_fields[] = {
	{ "format", BK_STR }, { "version", BK_INT }, { "created", BK_STR }, { "generator", BK_STR },
	{ "schema_version", BK_INT }, { "whole_store", BK_BOOL }, { "scope", BK_STR },
	{ "incremental", BK_BOOL }, { "base", BK_STR }, { "base_created", BK_STR },
};
const size_t bk_header_nfields = G_N_ELEMENTS(bk_header_fields);

const bk_field bk_line_fields[] = {
	{ "account", BK_STR }, { "folder", BK_STRS }, { "uid", BK_INT }, { "flags", BK_STRS },
	{ "internal_date", BK_STR }, { "size", BK_INT }, { "sha256", BK_STR }, { "from", BK_STR },
	{ "change", BK_STR }, { "was", BK_STRS },
};
const size_t bk_line_nfields = G_N_ELEMENTS(bk_line_fields);

const bk_field bk_end_fields[] = {
	{ "messages", BK_INT }, { "contents", BK_INT }, { "content_bytes", BK_INT },
	{ "removed", BK_INT }, { "flag_changes", BK_INT },
};
const size_t bk_end_nfields = G_N_ELEMENTS(bk_end_fields);

static const bk_field root_fields[] = {
	{ "domains", BK_OBJS }, { "accounts", BK_OBJS }, { "aliases", BK_OBJS }, { "distribution_lists", BK_OBJS },
	{ "public_folders", BK_OBJS }, { "acl", BK_OBJS }, { "groups", BK_OBJS },
};
static const bk_field domain_fields[] = {
	{ "name", BK_STR }, { "active", BK_BOOL }, { "postmaster", BK_STR }, { "max_size_mb", BK_INT },
	{ "max_account_size_mb", BK_INT }, { "plus_char", BK_STR },
};
static const bk_field account_fields[] = {
	{ "address", BK_STR }, { "active", BK_BOOL }, { "max_size_mb", BK_INT }, { "password", BK_STR },
	{ "password_encryption", BK_INT }, { "folders", BK_OBJS },
};
static const bk_field folder_fields[] = {
	{ "path", BK_STRS }, { "subscribed", BK_BOOL }, { "created", BK_STR }, { "uidvalidity", BK_INT },
	{ "current_uid", BK_INT },
};
static const bk_field alias_fields[] = { { "name", BK_STR }, { "value", BK_STR }, { "active", BK_BOOL } };
static const bk_field list_fields[] = { { "address", BK_STR }, { "enabled", BK_BOOL }, { "members", BK_STRS } };
static const bk_field acl_fields[] = {
	{ "folder", BK_STRS }, { "type", BK_STR }, { "who", BK_STR }, { "rights", BK_STR },
};
static const bk_field group_fields[] = { { "name", BK_STR }, { "members", BK_STRS } };

/* Each element of the array member `kind` against its fields. */
static bool check_each(JsonObject *root, const char *kind, const bk_field *f, size_t n, char *why, size_t whylen)
{
	JsonArray *a = bk_array(root, kind);
	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		char where[96];
		snprintf(where, sizeof where, BK_OBJECTS_MEMBER " %s[%u]", kind, i);
		JsonObject *o = bk_object_at(a, i);
		if (!bk_check(o, f, n, where, why, whylen))
			return false;
		JsonArray *fs = strcmp(kind, "accounts") == 0 ? bk_array(o, "folders") : NULL;
		for (guint k = 0; fs && k < json_array_get_length(fs); k++) {
			snprintf(where, sizeof where, BK_OBJECTS_MEMBER " accounts[%u].folders[%u]", i, k);
			if (!bk_check(bk_object_at(fs, k), folder_fields, G_N_ELEMENTS(folder_fields), where, why, whylen))
				return false;
		}
	}
	return true;
}

bool bk_check_objects(JsonObject *root, char *why, size_t whylen)
{
	static const struct {
		const char *kind;
		const bk_field *f;
		size_t n;
	} kinds[] = {
		{ "domains", domain_fields, G_N_ELEMENTS(domain_fields) },
		{ "accounts", account_fields, G_N_ELEMENTS(account_fields) },
		{ "aliases", alias_fields, G_N_ELEMENTS(alias_fields) },
		{ "distribution_lists", list_fields, G_N_ELEMENTS(list_fields) },
		{ "public_folders", folder_fields, G_N_ELEMENTS(folder_fields) },
		{ "acl", acl_fields, G_N_ELEMENTS(acl_fields) },
		{ "groups", group_fields, G_N_ELEMENTS(group_fields) },
	};
	if (!bk_check(root, root_fields, G_N_ELEMENTS(root_fields), BK_OBJECTS_MEMBER, why, whylen))
		return false;
	for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++)
		if (!check_each(root, kinds[k].kind, kinds[k].f, kinds[k].n, why, whylen))
			return false;
	return true;
}
