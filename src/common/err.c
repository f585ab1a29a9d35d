/* SPDX-License-Identifier: MIT */
/* Descriptions of the project's error codes. */
#include "common/err.h"

#include <string.h>

const char *np_strerror(int err)
{
	switch (err) {
	case NP_OK:
		return "ok";
	case NP_EMALFORMED:
		return "malformed input";
	case NP_ETOOBIG:
		return "limit exceeded";
	case NP_EDENIED:
		return "not allowed";
	case NP_ENOTFOUND:
		return "not found";
	case NP_ESTORE:
		return "store failure";
	case NP_EFAILED:
		return "stopped after an earlier failure";
	default:
		return err < 0 && err > -4096 ? strerror(-err) : "unknown error";
	}
}
