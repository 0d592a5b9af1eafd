/* commands.h - every command of mstore, once: its name, its one-line
 * summary (`mstore help`), the function that runs it, its help text,
 * whether it takes none of the common options, and which binary runs it
 * (dispatch.c):
 *   FRONT  `mstore` itself: the command and everything it calls need no
 *          more than libc, SQLite, nettle and libidn2
 *   FULL   `mstore-full` only (the front hands it over)
 * Each main (main_front.c, main_full.c) builds its table from this list,
 * so a command's line is written in one place. */
#ifndef MS_CLI_COMMANDS_H
#define MS_CLI_COMMANDS_H

/* X(WHERE, NAME, SUMMARY, RUN, HELP, OWN_OPTIONS), in `mstore help`'s order */
#define CLI_COMMANDS(X) \
	X(FULL, "sync", "import every message file the database does not reference", cmd_sync, help_sync, false) \
	X(FRONT, "reconstruct", "check and repair the database and the data directory", cmd_reconstruct, help_reconstruct, false) \
	X(FULL, "channel", "synchronize mail folders between two stores (mailsync's configuration)", cmd_channel, help_channel, true) \
	X(FULL, "check", "check a mailbox's integrity: unparsable, duplicate, split messages", cmd_check, help_check, true) \
	X(FULL, "diff", "compare two stores message by message (channel stores or paths)", cmd_diff, help_diff, true) \
	X(FULL, "backup", "write accounts, folders and messages to a portable archive (tar)", cmd_backup, help_backup, false) \
	X(FULL, "restore", "put an archive's messages into a store of any database kind", cmd_restore, help_restore, false) \
	X(FULL, "snapshot", "an online, consistent copy of the database; the last N kept", cmd_snapshot, help_snapshot, false) \
	X(FULL, "migrate", "copy a whole store into another database kind, ids kept; compare table by table", cmd_migrate, help_migrate, false) \
	X(FRONT, "deliver", "put a message or a whole mailbox into an account's folder", cmd_deliver, help_deliver, false) \
	X(FRONT, "quota", "usage against the limits; recount sizes; warn accounts over a threshold", cmd_quota, help_quota, false) \
	X(FRONT, "init", "create a new, empty store (hMailServer 5.7 schema)", cmd_init, help_init, false) \
	X(FRONT, "info", "show what a store holds", cmd_info, help_info, false) \
	X(FRONT, "domain", "add and list domains and domain aliases", cmd_domain, help_domain, false) \
	X(FRONT, "account", "add and list accounts", cmd_account, help_account, false) \
	X(FRONT, "alias", "add and list address aliases", cmd_alias, help_alias, false) \
	X(FRONT, "list", "add and list distribution lists and their members", cmd_list, help_list, false) \
	X(FRONT, "folder", "list, create, delete, rename, subscribe and lock mailboxes; move an account", cmd_folder, help_folder, false) \
	X(FRONT, "path", "print where an account's or a message's files live in the data directory", cmd_path, help_path, false) \
	X(FRONT, "expire", "remove messages by age, count, size, flags or header (rules file); files to the trash", cmd_expire, help_expire, false) \
	X(FRONT, "purge", "delete trashed message files older than DAYS for good", cmd_purge, help_purge, false) \
	X(FRONT, "acl", "list, set and delete the rights of shared (#Public) folders (hm_acl, IMAP ACL letters)", cmd_acl, help_acl, false) \
	X(FRONT, "readership", "which accounts have which rights on which shared folders", cmd_readership, help_readership, false) \
	X(FULL, "export", "write a mailbox out as Maildir or mbox, with flags and internal dates", cmd_export, help_export, false) \
	X(FULL, "help", "show help for mstore or a command", cmd_help, help_help, false)

/* The help texts live with their commands (cmd_*.c). */
#define CLI_DECLARE_HELP(where, name, summary, run, help, own) extern const char help[];
CLI_COMMANDS(CLI_DECLARE_HELP)
#undef CLI_DECLARE_HELP

#endif
