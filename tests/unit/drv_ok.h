/* drv_ok.h - DRV_OK(call): a driver call that must succeed in a unit test;
 * the test fails with the driver's message.  The call may name `e_`, the
 * ms_err * the macro provides. */
#ifndef MS_TEST_DRV_OK_H
#define MS_TEST_DRV_OK_H

#include "drivers/driver.h"

#define DRV_OK(call)                                                            \
	do {                                                                    \
		ms_err drv_e_ = { 0 };                                          \
		ms_err *e_ = &drv_e_;                                           \
		ms_drv_result r_ = (call);                                      \
		if (r_ != MS_DRV_OK)                                            \
			fail_msg("%s returned %d: %s", #call, (int)r_, drv_e_.msg); \
		(void)e_;                                                       \
	} while (0)

#endif
