/* SPDX-License-Identifier: MIT */
/* The audit's inside checks: the UPnP IGD and every port mapping it lists, NAT-PMP and PCP
 * on the gateway, local VPN interfaces. Every loop and every wait is bounded. */
#include "client/audit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"

#define AUDIT_DISCOVER_MS 2000
#define NATPMP_PORT       5351
/* RFC 6886 retransmits after 250 ms, doubling; two tries (250 + 500 ms) are enough on a LAN. */
#define NATPMP_TRIES    2
#define NATPMP_FIRST_MS 250

/* ---- UPnP IGD ---- */

static void copy_printable(char *out, size_t len, const char *in)
{
	log_escape(out, len, in, strnlen(in, 256));
}

void audit_upnp(const char *rootdesc_url, struct audit_inside *in)
{
	struct UPNPUrls urls;
	struct IGDdatas data;
	char lanaddr[64] = "";
	bool have_urls = false;
	int r = 0;

	memset(&urls, 0, sizeof(urls));
	memset(&data, 0, sizeof(data));
	if (rootdesc_url != NULL && rootdesc_url[0] != '\0') {
		r = UPNP_GetIGDFromUrl(rootdesc_url, &urls, &data, lanaddr, sizeof(lanaddr));
		have_urls = r != 0;
		r = r != 0 ? 1 : 0;
	} else {
		static const char *const types[] = {"upnp:rootdevice", NULL};
		int err = 0;
		struct UPNPDev *devs =
		    upnpDiscoverDevices(types, AUDIT_DISCOVER_MS, NULL, NULL, 0, 0, 2, &err, 0);
		if (devs == NULL)
			return;
		r = UPNP_GetValidIGD(devs, &urls, &data, lanaddr, sizeof(lanaddr));
		freeUPNPDevlist(devs);
		have_urls = r != 0;
	}
	/* 1: connected IGD; 2: an IGD that says it is not connected; 3: another UPnP
	 * device (not an IGD: it opens no ports). */
	if (r != 1 && r != 2)
		goto done;
	in->igd_found = true;
	in->igd_connected = r == 1;
	copy_printable(in->igd_url, sizeof(in->igd_url), urls.rootdescURL ? urls.rootdescURL : "");
	copy_printable(in->igd_lan_addr, sizeof(in->igd_lan_addr), lanaddr);
	char extip[40] = "";
	struct np_addr ea;
	static const uint8_t zero[4];
	if (UPNP_GetExternalIPAddress(urls.controlURL, data.first.servicetype, extip) ==
	        UPNPCOMMAND_SUCCESS &&
	    (extip[sizeof(extip) - 1] = '\0', addr_parse(extip, &ea) == NP_OK) &&
	    ea.family == AF_INET && memcmp(ea.bytes, zero, 4) != 0) {
		in->ext = ea;
		in->have_ext = true;
	}

	/* Every mapping, by index, until the IGD says there is no such index (713
	 * SpecifiedArrayIndexInvalid) or anything else goes wrong: bounded by the table. */
	for (unsigned i = 0; i < AUDIT_MAX_MAPPINGS + 1; i++) {
		char index[12], ext[6] = "", client[16] = "", iport[6] = "", proto[4] = "";
		char desc[80] = "", enabled[6] = "", rhost[64] = "", lease[16] = "";
		snprintf(index, sizeof(index), "%u", i);
		int e = UPNP_GetGenericPortMappingEntry(urls.controlURL, data.first.servicetype,
		                                        index, ext, client, iport, proto, desc,
		                                        enabled, rhost, lease);
		if (e != UPNPCOMMAND_SUCCESS) {
			if (e != 713)
				log_debug("audit: GetGenericPortMappingEntry(%u): %d %s", i, e,
				          strupnperror(e));
			break;
		}
		if (i == AUDIT_MAX_MAPPINGS) {
			in->maps_truncated = true;
			break;
		}
		uint32_t ep, ip, ls = 0;
		struct audit_mapping *m = &in->maps[in->n_maps];
		memset(m, 0, sizeof(*m));
		ext[sizeof(ext) - 1] = iport[sizeof(iport) - 1] = proto[sizeof(proto) - 1] = '\0';
		client[sizeof(client) - 1] = desc[sizeof(desc) - 1] = '\0';
		rhost[sizeof(rhost) - 1] = lease[sizeof(lease) - 1] = enabled[sizeof(enabled) - 1] =
		    '\0';
		if (str_to_u32(ext, 1, 65535, &ep) != NP_OK ||
		    str_to_u32(iport, 1, 65535, &ip) != NP_OK)
			continue; /* not a mapping we can name: skipped, never guessed */
		if (strcasecmp(proto, "TCP") == 0)
			m->proto = AP_TCP;
		else if (strcasecmp(proto, "UDP") == 0)
			m->proto = AP_UDP;
		else
			continue;
		m->ext_port = (uint16_t)ep;
		m->int_port = (uint16_t)ip;
		copy_printable(m->int_client, sizeof(m->int_client), client);
		copy_printable(m->desc, sizeof(m->desc), desc);
		copy_printable(m->remote_host, sizeof(m->remote_host), rhost);
		m->enabled = strcmp(enabled, "0") != 0;
		if (str_to_u32(lease, 0, UINT32_MAX, &ls) == NP_OK)
			m->lease = ls;
		in->n_maps++;
	}
done:
	if (have_urls)
		FreeUPNPUrls(&urls);
}

/* ---- the default gateway ---- */

static int scan_gateway(const struct nlmsghdr *nh, void *arg)
{
	struct audit_inside *in = arg;
	if (nh->nlmsg_type != RTM_NEWROUTE || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
		return 0;
	const struct rtmsg *rt = NLMSG_DATA(nh);
	if (rt->rtm_family != AF_INET || rt->rtm_dst_len != 0 || rt->rtm_type != RTN_UNICAST)
		return 0;
	uint32_t table = rt->rtm_table;
	uint8_t gw[4] = {0};
	bool have_gw = false;
	int len = (int)RTM_PAYLOAD(nh);
	for (const struct rtattr *rta = RTM_RTA(rt); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == RTA_TABLE && RTA_PAYLOAD(rta) == 4)
			memcpy(&table, RTA_DATA(rta), 4);
		else if (rta->rta_type == RTA_GATEWAY && RTA_PAYLOAD(rta) == 4) {
			memcpy(gw, RTA_DATA(rta), 4);
			have_gw = true;
		}
	}
	if (table != RT_TABLE_MAIN || !have_gw || in->have_gateway)
		return 0;
	in->gateway.family = AF_INET;
	memcpy(in->gateway.bytes, gw, 4);
	in->have_gateway = true;
	return 0;
}

/* ---- NAT-PMP and PCP ---- */

/* Sends req to the gateway's UDP 5351 and waits for an answer whose first bytes are
 * version/opcode as want[0..1] (want[1]: the opcode with the response bit). Bounded. */
static bool ask_5351(const struct np_addr *gw, const uint8_t *req, size_t len, uint8_t version,
                     uint8_t opcode)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(NATPMP_PORT)};
	memcpy(&sa.sin_addr, gw->bytes, 4);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = false;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto out;
	int wait_ms = NATPMP_FIRST_MS;
	for (int t = 0; t < NATPMP_TRIES && !ok; t++, wait_ms *= 2) {
		if (send(fd, req, len, 0) < 0)
			break;
		int64_t end = time_mono_ms() + wait_ms;
		for (int k = 0; k < 8; k++) { /* a few stray datagrams at most */
			int left = (int)(end - time_mono_ms());
			if (left <= 0)
				break;
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			if (poll(&pfd, 1, left) <= 0)
				break;
			uint8_t ans[1100];
			ssize_t n = recv(fd, ans, sizeof(ans), 0);
			if (n < 0) {
				if (errno == ECONNREFUSED)
					goto out; /* ICMP port unreachable: nothing listens */
				continue;
			}
			if (n >= 4 && ans[0] == version && ans[1] == (uint8_t)(opcode | 0x80)) {
				ok = true;
				break;
			}
		}
	}
out:
	close(fd);
	return ok;
}

void audit_natpmp(struct audit_inside *in)
{
	if (netlink_dump(RTM_GETROUTE, AF_INET, scan_gateway, in) != NP_OK || !in->have_gateway)
		return;
	/* NAT-PMP (RFC 6886): version 0, opcode 0 (external address). */
	static const uint8_t natpmp_req[2] = {0, 0};
	in->natpmp = ask_5351(&in->gateway, natpmp_req, sizeof(natpmp_req), 0, 0);
	/* PCP (RFC 6887): version 2, opcode ANNOUNCE (0), lifetime 0, our address (any: the
	 * server answers ADDRESS_MISMATCH then, which still says that PCP is on). */
	uint8_t pcp_req[24] = {2, 0};
	pcp_req[18] = pcp_req[19] = 0xff; /* ::ffff:0.0.0.0 */
	in->pcp = ask_5351(&in->gateway, pcp_req, sizeof(pcp_req), 2, 0);
}

/* ---- VPN interfaces ---- */

void audit_vpn_ifs(struct audit_inside *in)
{
	struct if_nameindex *ifs = if_nameindex();
	size_t off = 0;
	in->vpn_ifs[0] = '\0';
	if (ifs == NULL)
		return;
	for (unsigned i = 0; ifs[i].if_index != 0 && i < 4096; i++) {
		const char *n = ifs[i].if_name;
		char path[IF_NAMESIZE + 40];
		struct stat st;
		/* wg* is WireGuard's naming; tun/tap devices (OpenVPN, a wg-go userspace
		 * tunnel) have tun_flags in sysfs. */
		snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", n);
		bool vpn = strncmp(n, "wg", 2) == 0 || stat(path, &st) == 0;
		if (!vpn)
			continue;
		int w = snprintf(in->vpn_ifs + off, sizeof(in->vpn_ifs) - off, "%s%s",
		                 off ? " " : "", n);
		if (w < 0 || (size_t)w >= sizeof(in->vpn_ifs) - off)
			break;
		off += (size_t)w;
	}
	if_freenameindex(ifs);
}
