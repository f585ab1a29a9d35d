/* SPDX-License-Identifier: MIT */
/* Dropping privileges once the sockets are open: shared by nameplated and the sensor. */
#ifndef NP_COMMON_PRIVS_H
#define NP_COMMON_PRIVS_H

#include <sys/types.h>

#include "common/err.h"

/* As root: clears the supplementary groups and switches real, effective and saved ids to
 * uid/gid, then checks that every one of them changed. In any case: drops every capability
 * (ambient ones too; a process started unprivileged with CAP_NET_RAW or
 * CAP_NET_BIND_SERVICE needs them only to open) and sets PR_SET_NO_NEW_PRIVS, so there is
 * no way back. user names the account in the log. NP_EDENIED (logged) on any failure. */
int privs_drop(const char *user, uid_t uid, gid_t gid) np_mustcheck;

#endif
