/* SPDX-License-Identifier: MIT */
/* One error space for the whole project: zero or a negative code (errno or our own). */
#ifndef NP_COMMON_ERR_H
#define NP_COMMON_ERR_H

#include <errno.h>

#define np_mustcheck __attribute__((warn_unused_result))

enum np_err {
	NP_OK = 0,
	NP_ENOMEM = -ENOMEM,
	NP_EINVAL = -EINVAL,
	NP_EAGAIN = -EAGAIN,
	NP_EEXIST = -EEXIST,
	NP_EIO = -EIO,
	NP_ECANCELED = -ECANCELED, /* cut short by a stop */
	NP_EMALFORMED = -1000,     /* input does not parse */
	NP_ETOOBIG,                /* input or result exceeds a limit */
	NP_EDENIED,                /* not allowed */
	NP_ENOTFOUND,              /* no such object */
	NP_ESTORE,                 /* the store failed (SQLite error) */
	NP_EFAILED,                /* a component stopped after an earlier failure */
};

/* Returns a static string describing err (never NULL). */
const char *np_strerror(int err);

#endif
