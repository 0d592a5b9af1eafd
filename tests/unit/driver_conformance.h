/* driver_conformance.h - the tests every side driver (drivers/driver.h)
 * must pass, whatever it drives.
 *
 * A driver's test program describes how to make a fresh side (a
 * conformance_fixture) and calls driver_conformance_run; the suite runs
 * each of its cmocka tests on a side of its own (setup before, teardown
 * after) and reads nothing but what driver.h promises.  Where a driver
 * may differ, the suite branches on the side's capabilities (ms_side.caps)
 * as the channel engine does: stable UIDs, flags, internal dates, CRLF
 * lines, box creation and deletion, UIDs from append, mod-sequences.
 * What only one driver does (hMailServer's rows, Maildir file names) is
 * tested in that driver's own program.
 */
#ifndef MS_TEST_DRIVER_CONFORMANCE_H
#define MS_TEST_DRIVER_CONFORMANCE_H

#include <stdbool.h>

#include "drivers/driver.h"

typedef struct conformance_fixture {
	const char *label;      /* for failure messages: "maildir++", "hmailserver sqlite" */
	void *ctx;              /* handed to each function below */
	/* Make a fresh side with an empty INBOX and no other box: 0, or -1
	 * (the test then fails).  teardown removes it again. */
	int (*setup)(void *ctx);
	int (*teardown)(void *ctx);
	/* Open the current fresh side (its configuration is the fixture's). */
	ms_drv_result (*open)(void *ctx, bool read_only, ms_side **out, ms_err *e);
	/* Take the bytes of message `m` (as listed) of box `box` away behind
	 * the driver's back, as another program deleting its file would.
	 * NULL for a format where no message can vanish alone (an mbox: a
	 * rewrite by another program is a changed box); that test is skipped. */
	void (*vanish)(void *ctx, const char *box, const ms_msg *m);
	/* INBOX cannot hold sub-boxes (an mbox INBOX is a file): creating one
	 * must fail with MS_DRV_BOX_BAD and a reason. */
	bool inbox_is_leaf;
	/* Messages have no key (an mbox: driver.h "key"); the engine tells
	 * them apart by identity. */
	bool no_keys;
} conformance_fixture;

/* Run every conformance test on the fixture's driver as the cmocka group
 * `group`; the number of tests that failed. */
int driver_conformance_run(const char *group, const conformance_fixture *f);

#endif
