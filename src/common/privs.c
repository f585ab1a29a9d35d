/* SPDX-License-Identifier: MIT */
/* Dropping privileges: user and groups, capabilities, no new privileges. */
#include "common/privs.h"

#include <grp.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"

/* Drops every capability this process holds (ambient ones included): a sensor started as
 * an unprivileged user with CAP_NET_RAW / CAP_NET_BIND_SERVICE needs them only to open. */
static int drop_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capset, &hdr, data) != 0) {
		log_err("cannot drop capabilities: %m");
		return NP_EDENIED;
	}
	if (syscall(SYS_capget, &hdr, data) != 0 || data[0].effective != 0 ||
	    data[0].permitted != 0 || data[1].effective != 0 || data[1].permitted != 0) {
		log_err("capabilities were not dropped");
		return NP_EDENIED;
	}
	return NP_OK;
}

int privs_drop(const char *user, uid_t uid, gid_t gid)
{
	if (geteuid() != 0 && geteuid() != uid) {
		log_err("cannot switch to user %s without root", user);
		return NP_EDENIED;
	}
	if (geteuid() == 0) {
		if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 ||
		    setresuid(uid, uid, uid) != 0) {
			log_err("cannot drop privileges to %s: %m", user);
			return NP_EDENIED;
		}
		uid_t r, e, s;
		gid_t rg, eg, sg;
		if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid ||
		    getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid ||
		    getgroups(0, NULL) != 0) {
			log_err("privileges were not dropped");
			return NP_EDENIED;
		}
		log_info("running as %s", user);
	}
	if (drop_caps() != NP_OK)
		return NP_EDENIED;
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return NP_OK;
}
