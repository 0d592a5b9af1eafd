#!/usr/bin/env bash
# dump-catalog.sh BACKEND URL - print a database's schema in the normal form
# of tests/schema/README.md, read from the live catalog with the database's
# own client (psql, mariadb, sqlite3), independently of mstore's drivers.
#
#   BACKEND  sqlite | pgsql | mysql
#   URL      sqlite:PATH | postgresql://USER@HOST:PORT/DB | mysql://USER@HOST:PORT/DB
#
# The password, if any, comes from PGPASSWORD / MYSQL_PWD, else from
# MSTORE_TEST_DB_PASSWORD (what tests/lib/common.sh provides).
# Output is sorted bytewise (LC_ALL=C) so two dumps compare with diff.
set -euo pipefail

usage() { echo "usage: $0 sqlite|pgsql|mysql URL" >&2; exit 2; }
[ $# = 2 ] || usage
backend=$1 url=$2

# parse_server_url URL: sets user, host, port, dbname from
# scheme://user@host:port/db (user and port optional).
parse_server_url() {
	local rest=${1#*://} authority
	dbname=${rest#*/}
	authority=${rest%%/*}
	user=
	if [[ $authority == *@* ]]; then user=${authority%%@*}; authority=${authority#*@}; fi
	host=${authority%%:*}
	port=
	if [[ $authority == *:* ]]; then port=${authority##*:}; fi
	if [ -z "$dbname" ] || [ "$dbname" = "$rest" ]; then
		echo "$0: no database name in '$1'" >&2
		exit 2
	fi
}

dump_pgsql() {
	parse_server_url "$url"
	export PGPASSWORD=${PGPASSWORD:-${MSTORE_TEST_DB_PASSWORD:-}}
	local args=(-X -q -A -t -v ON_ERROR_STOP=1 -h "${host:-127.0.0.1}" -d "$dbname")
	[ -n "$port" ] && args+=(-p "$port")
	[ -n "$user" ] && args+=(-U "$user")
	psql "${args[@]}" <<'SQL'
-- Everything in the first schema of the search path (where hMailServer's
-- script and mstore create their tables).
CREATE TEMP VIEW dump_rel AS
	SELECT c.oid, c.relname, c.relkind FROM pg_class c
	WHERE c.relnamespace = current_schema()::regnamespace;

SELECT 'table|' || relname || '|-' FROM dump_rel WHERE relkind IN ('r', 'p', 'v', 'm', 'f');

SELECT r.relname || '.' || a.attname
	|| '|' || row_number() OVER (PARTITION BY r.relname ORDER BY a.attnum)
	|| '|' || format_type(a.atttypid, a.atttypmod)
	|| '|' || CASE WHEN a.attnotnull THEN 'not null' ELSE 'null' END
	|| '|' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-')
FROM dump_rel r
JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE r.relkind IN ('r', 'p', 'v', 'm', 'f');

SELECT 'sequence|' || r.relname || '|' || format_type(s.seqtypid, NULL)
	|| '|' || coalesce((SELECT t.relname || '.' || a.attname
	                    FROM pg_depend dep
	                    JOIN pg_class t ON t.oid = dep.refobjid
	                    JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
	                    WHERE dep.classid = 'pg_class'::regclass AND dep.objid = r.oid
	                      AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')), '-')
FROM dump_rel r JOIN pg_sequence s ON s.seqrelid = r.oid;

SELECT 'index|' || t.relname || '|' || i.relname
	|| '|' || CASE WHEN x.indisprimary THEN 'primary' WHEN x.indisunique THEN 'unique' ELSE 'nonunique' END
	|| '|' || (SELECT string_agg(coalesce(a.attname, 'expr'), ',' ORDER BY k.n)
	           FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
	           LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum)
	|| CASE WHEN x.indpred IS NULL THEN '' ELSE ' where ' || pg_get_expr(x.indpred, x.indrelid) END
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN dump_rel t ON t.oid = x.indrelid;

SELECT 'constraint|' || t.relname || '|' || c.conname
	|| '|' || CASE c.contype WHEN 'p' THEN 'primary' WHEN 'u' THEN 'unique' WHEN 'f' THEN 'foreign'
	                         WHEN 'c' THEN 'check' ELSE c.contype::text END
	|| '|' || coalesce((SELECT string_agg(a.attname, ',' ORDER BY k.n)
	                    FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
	                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum), '-')
FROM pg_constraint c JOIN dump_rel t ON t.oid = c.conrelid;
SQL
}

dump_mysql() {
	parse_server_url "$url"
	export MYSQL_PWD=${MYSQL_PWD:-${MSTORE_TEST_DB_PASSWORD:-}}
	local args=(--protocol=TCP -N -B -h "${host:-127.0.0.1}")
	[ -n "$port" ] && args+=(-P "$port")
	[ -n "$user" ] && args+=(-u "$user")
	mariadb "${args[@]}" "$dbname" <<'SQL'
SET SESSION group_concat_max_len = 65536;

SELECT CONCAT('table|', table_name, '|', COALESCE(table_collation, '-'))
FROM information_schema.tables WHERE table_schema = DATABASE();

-- COLUMN_DEFAULT: SQL NULL = no default; the text 'NULL' = DEFAULT NULL.
SELECT CONCAT(table_name, '.', column_name, '|', ordinal_position,
	'|', column_type, IF(extra = '', '', CONCAT(' ', extra)),
	IF(collation_name IS NULL, '', CONCAT(' collate ', collation_name)),
	'|', IF(is_nullable = 'YES', 'null', 'not null'),
	'|', COALESCE(column_default, '-'))
FROM information_schema.columns WHERE table_schema = DATABASE();

SELECT CONCAT('index|', table_name, '|', index_name,
	'|', IF(index_name = 'PRIMARY', 'primary', IF(MAX(non_unique) = 0, 'unique', 'nonunique')),
	'|', GROUP_CONCAT(CONCAT(column_name, IF(sub_part IS NULL, '', CONCAT('(', sub_part, ')')))
	                  ORDER BY seq_in_index SEPARATOR ','))
FROM information_schema.statistics WHERE table_schema = DATABASE()
GROUP BY table_name, index_name;

-- PRIMARY KEY and UNIQUE constraints are the indexes above; list the rest.
SELECT CONCAT('constraint|', table_name, '|', constraint_name, '|', LOWER(constraint_type), '|-')
FROM information_schema.table_constraints
WHERE table_schema = DATABASE() AND constraint_type NOT IN ('PRIMARY KEY', 'UNIQUE');
SQL
}

dump_sqlite() {
	local path=${url#sqlite:}
	path=${path#//}
	[ -f "$path" ] || { echo "$0: no SQLite database at $path" >&2; exit 2; }
	sqlite3 -batch -bail "$path" <<'SQL'
CREATE TEMP VIEW dump_tables AS
	SELECT name, sql FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\_%' ESCAPE '\';

SELECT 'table|' || name || '|' || CASE WHEN sql LIKE '%AUTOINCREMENT%' THEN 'autoincrement' ELSE '-' END
FROM dump_tables;

SELECT t.name || '.' || c.name || '|' || (c.cid + 1) || '|' || c.type
	|| '|' || CASE WHEN c.[notnull] THEN 'not null' ELSE 'null' END
	|| '|' || coalesce(c.dflt_value, '-')
FROM dump_tables t, pragma_table_info(t.name) c;

SELECT 'index|' || t.name || '|' || l.name
	|| '|' || CASE WHEN l.origin = 'pk' THEN 'primary' WHEN l.[unique] THEN 'unique' ELSE 'nonunique' END
	|| '|' || (SELECT group_concat(coalesce(i.name, 'expr'), ',')
	           FROM (SELECT name FROM pragma_index_info(l.name) ORDER BY seqno) i)
	|| CASE WHEN l.partial THEN ' partial' ELSE '' END
FROM dump_tables t, pragma_index_list(t.name) l;

-- A rowid-alias INTEGER PRIMARY KEY has no index: its constraint comes
-- from table_info.  UNIQUE constraints are named by their automatic index.
SELECT 'constraint|' || t.name || '|PRIMARY KEY|primary|'
	|| (SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info(t.name) WHERE pk > 0 ORDER BY pk))
FROM dump_tables t WHERE EXISTS (SELECT 1 FROM pragma_table_info(t.name) WHERE pk > 0);

SELECT 'constraint|' || t.name || '|' || l.name || '|unique|'
	|| (SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info(l.name) ORDER BY seqno))
FROM dump_tables t, pragma_index_list(t.name) l WHERE l.origin = 'u';
SQL
}

case $backend in
pgsql) dump_pgsql ;;
mysql) dump_mysql ;;
sqlite) dump_sqlite ;;
*) usage ;;
esac | LC_ALL=C sort
