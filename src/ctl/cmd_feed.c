/* SPDX-License-Identifier: MIT */
/* nameplatectl feed: see docs/abuse.md "Threat feeds". */
#include "ctl/ctl.h"

int ctl_cmd_feed(struct ctl *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	return ctl_usage("feed reload");
}
