/* SPDX-License-Identifier: MIT */
/* rtnetlink for the client: address-change events and bounded one-shot dumps. */
#include "client/client.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"

/* Enough for a burst of address messages; a larger burst is read over several recv()s. */
#define NL_BUF 16384
/* recv() calls per drain: a flood of events cannot keep the daemon here forever. */
#define NL_DRAIN_MAX 64
/* Replies per dump: a table of this many messages is already absurd for a host. */
#define NL_DUMP_MAX_MSGS   8192
#define NL_DUMP_TIMEOUT_MS 2000

int netlink_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl sa = {
	    .nl_family = AF_NETLINK,
	    .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
	};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Whether an address message names one of ifnames. An interface that is already gone
 * (its index no longer maps to a name) counts as a match: re-reading is cheap. */
static bool addr_msg_concerns(const struct nlmsghdr *nh, const char *const *ifnames, unsigned n)
{
	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
		return false; /* malformed */
	if (ifnames == NULL)
		return true;
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	char name[IF_NAMESIZE] = "";
	if (if_indextoname(ifa->ifa_index, name) == NULL) {
		/* IPv4 messages carry the label, which starts with the interface name. */
		int len = (int)IFA_PAYLOAD(nh);
		const struct rtattr *rta = IFA_RTA(ifa);
		bool found = false;
		for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
			if (rta->rta_type != IFA_LABEL)
				continue;
			size_t l = RTA_PAYLOAD(rta);
			if (l == 0 || l > IF_NAMESIZE)
				break;
			memcpy(name, RTA_DATA(rta), l);
			name[l - 1] = '\0';
			char *colon = strchr(name, ':');
			if (colon != NULL)
				*colon = '\0';
			found = true;
			break;
		}
		if (!found)
			return true;
	}
	for (unsigned i = 0; i < n; i++)
		if (ifnames[i] != NULL && strcmp(ifnames[i], name) == 0)
			return true;
	return false;
}

bool netlink_drain(int fd, const char *const *ifnames, unsigned n)
{
	/* Aligned for struct nlmsghdr. */
	uint32_t buf[NL_BUF / sizeof(uint32_t)];
	bool hit = false;

	for (int round = 0; round < NL_DRAIN_MAX; round++) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS)
				hit = true; /* the kernel dropped events: assume ours was one */
			break;
		}
		if (r == 0)
			break;
		size_t len = (size_t)r;
		for (const struct nlmsghdr *nh = (const struct nlmsghdr *)buf; NLMSG_OK(nh, len);
		     nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type != RTM_NEWADDR && nh->nlmsg_type != RTM_DELADDR)
				continue;
			if (addr_msg_concerns(nh, ifnames, n))
				hit = true;
		}
	}
	return hit;
}

int netlink_dump(int type, int family, netlink_dump_cb *cb, void *arg)
{
	int ret = NP_EIO;
	uint32_t buf[NL_BUF / sizeof(uint32_t)];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;

	struct {
		struct nlmsghdr nh;
		union {
			struct ifaddrmsg ifa;
			struct rtmsg rt;
		} u;
	} req;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_type = (uint16_t)type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = 1;
	if (type == RTM_GETADDR) {
		req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
		req.u.ifa.ifa_family = (uint8_t)family;
	} else if (type == RTM_GETROUTE) {
		req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
		req.u.rt.rtm_family = (uint8_t)family;
	} else {
		ret = NP_EINVAL;
		goto done;
	}
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		ret = -errno;
		goto done;
	}

	unsigned msgs = 0;
	int64_t deadline = time_mono_ms() + NL_DUMP_TIMEOUT_MS;
	for (;;) {
		int64_t left = deadline - time_mono_ms();
		if (left <= 0) {
			ret = NP_EIO;
			goto done;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int pr = poll(&p, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			ret = NP_EIO;
			goto done;
		}
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto done;
		}
		size_t len = (size_t)r;
		for (const struct nlmsghdr *nh = (const struct nlmsghdr *)buf; NLMSG_OK(nh, len);
		     nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_seq != 1)
				continue; /* not our dump */
			if (nh->nlmsg_type == NLMSG_DONE) {
				ret = NP_OK;
				goto done;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				ret = NP_EIO;
				if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
					const struct nlmsgerr *e = NLMSG_DATA(nh);
					if (e->error < 0)
						ret = e->error;
				}
				goto done;
			}
			if (++msgs > NL_DUMP_MAX_MSGS) {
				ret = NP_ETOOBIG;
				goto done;
			}
			int cr = cb(nh, arg);
			if (cr != 0) {
				ret = cr;
				goto done;
			}
		}
	}
done:
	close(fd);
	return ret;
}
