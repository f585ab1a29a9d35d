/* SPDX-License-Identifier: MIT */
/* Address sources: an interface (netlink), an HTTP checkip echo, the router's UPnP IGD. */
#include "client/client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/str.h"

#define UPNP_DISCOVER_MS 2000

/* ---- IPv6 publishability ---- */

bool source_ipv6_publishable(const struct np_addr *a, uint32_t ifa_flags)
{
	static const uint8_t zero[16];
	static const uint8_t loopback[16] = {[15] = 1};

	if (a == NULL || a->family != AF_INET6)
		return false;
	/* A temporary (privacy) address changes daily; deprecated ones are on their way
	 * out; tentative and DAD-failed ones are not (or never will be) usable. */
	if (ifa_flags & (IFA_F_TEMPORARY | IFA_F_DEPRECATED | IFA_F_TENTATIVE | IFA_F_DADFAILED))
		return false;
	const uint8_t *b = a->bytes;
	if (memcmp(b, zero, 16) == 0 || memcmp(b, loopback, 16) == 0)
		return false;
	if (b[0] == 0xff) /* multicast */
		return false;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 link-local */
		return false;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) /* fec0::/10 deprecated site-local */
		return false;
	if ((b[0] & 0xfe) == 0xfc) /* fc00::/7 unique local */
		return false;
	static const uint8_t v4mapped[12] = {[10] = 0xff, [11] = 0xff};
	if (memcmp(b, v4mapped, 12) == 0) /* ::ffff:0:0/96 never names an interface */
		return false;
	return true;
}

/* ---- interface addresses through an RTM_GETADDR dump ---- */

struct iface_scan {
	unsigned ifindex;
	int family;
	int best_rank; /* 0: nothing yet */
	struct np_addr best;
};

static bool v4_in(const uint8_t *b, uint8_t a0, uint8_t a1, unsigned prefix)
{
	uint32_t x = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	uint32_t net = (uint32_t)a0 << 24 | (uint32_t)a1 << 16;
	uint32_t mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
	return (x & mask) == (net & mask);
}

/* Whether an IPv4 address is private (RFC 1918) or shared (RFC 6598): such an address
 * is still used, but a public one on the same interface is preferred. */
static bool v4_private(const uint8_t *b)
{
	return v4_in(b, 10, 0, 8) || v4_in(b, 172, 16, 12) || v4_in(b, 192, 168, 16) ||
	       v4_in(b, 100, 64, 10);
}

/* Ranks one candidate: 0 = never; higher wins; equal ranks keep the first seen. */
static int rank_v4(const struct np_addr *a, unsigned char scope)
{
	const uint8_t *b = a->bytes;
	if (v4_in(b, 127, 0, 8) || v4_in(b, 169, 254, 16) || v4_in(b, 0, 0, 8))
		return 0;
	if (b[0] >= 224) /* multicast and reserved */
		return 0;
	if (scope == RT_SCOPE_UNIVERSE && !v4_private(b))
		return 3;
	if (scope == RT_SCOPE_UNIVERSE)
		return 2;
	return 1;
}

static int rank_v6(const struct np_addr *a, uint32_t flags, unsigned char scope)
{
	if (!source_ipv6_publishable(a, flags) || scope != RT_SCOPE_UNIVERSE)
		return 0;
	/* A configured (permanent) address or one without a kernel-managed lifetime is the
	 * stable one; SLAAC addresses follow. Temporary ones are already excluded. */
	if (flags & IFA_F_PERMANENT)
		return 3;
	if (flags & IFA_F_OPTIMISTIC)
		return 1;
	return 2;
}

static int scan_addr(const struct nlmsghdr *nh, void *arg)
{
	struct iface_scan *s = arg;
	if (nh->nlmsg_type != RTM_NEWADDR)
		return 0;
	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
		return 0; /* malformed: ignore */
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	if (ifa->ifa_index != s->ifindex || ifa->ifa_family != s->family)
		return 0;

	size_t alen = s->family == AF_INET ? 4 : 16;
	uint32_t flags = ifa->ifa_flags;
	const void *local = NULL, *address = NULL;
	int len = (int)IFA_PAYLOAD(nh);
	for (const struct rtattr *rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		switch (rta->rta_type) {
		case IFA_LOCAL:
			if (RTA_PAYLOAD(rta) == alen)
				local = RTA_DATA(rta);
			break;
		case IFA_ADDRESS:
			if (RTA_PAYLOAD(rta) == alen)
				address = RTA_DATA(rta);
			break;
		case IFA_FLAGS: /* the full 32 flags; ifa_flags holds only the low 8 */
			if (RTA_PAYLOAD(rta) == sizeof(uint32_t))
				memcpy(&flags, RTA_DATA(rta), sizeof(flags));
			break;
		default:
			break;
		}
	}
	/* On a point-to-point link IFA_ADDRESS is the peer and IFA_LOCAL ours. */
	const void *mine = local != NULL ? local : address;
	if (mine == NULL)
		return 0;
	struct np_addr a = {.family = s->family};
	memcpy(a.bytes, mine, alen);
	int rank =
	    s->family == AF_INET ? rank_v4(&a, ifa->ifa_scope) : rank_v6(&a, flags, ifa->ifa_scope);
	if (rank > s->best_rank) {
		s->best_rank = rank;
		s->best = a;
	}
	return 0;
}

static int read_interface(const char *ifname, int family, struct np_addr *out)
{
	struct iface_scan s = {.family = family};
	s.ifindex = if_nametoindex(ifname);
	if (s.ifindex == 0)
		return NP_ENOTFOUND;
	int ret = netlink_dump(RTM_GETADDR, family, scan_addr, &s);
	if (ret != NP_OK)
		return ret;
	if (s.best_rank == 0)
		return NP_ENOTFOUND;
	*out = s.best;
	return NP_OK;
}

/* ---- HTTP ---- */

int source_server_url(const char *server, const char *path, char *out, size_t len)
{
	const char *sep = strstr(server, "://");
	if (sep == NULL)
		return NP_EINVAL;
	size_t scheme = (size_t)(sep - server);
	if (!((scheme == 4 && strncasecmp(server, "http", 4) == 0) ||
	      (scheme == 5 && strncasecmp(server, "https", 5) == 0)))
		return NP_EINVAL;
	const char *host = sep + 3;
	size_t hostlen = strcspn(host, "/?#");
	if (hostlen == 0)
		return NP_EINVAL;
	/* Userinfo in the URL would be sent along: refuse it rather than leak it. */
	if (memchr(host, '@', hostlen) != NULL)
		return NP_EINVAL;
	int n = snprintf(out, len, "%.*s%s", (int)(host + hostlen - server), server, path);
	if (n < 0 || (size_t)n >= len)
		return NP_ETOOBIG;
	return NP_OK;
}

struct body_buf {
	char *p;
	size_t len, cap; /* cap excludes the NUL */
	bool toobig;
};

static size_t body_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body_buf *b = arg;
	size_t n = size * nmemb;
	if (n > b->cap - b->len) {
		b->toobig = true;
		return 0; /* aborts the transfer */
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/* A POST's body and credential (the API's "Authorization: Token"). */
struct post {
	const char *token;
	const char *json;
	size_t len;
};

static int http_call(const struct client_cfg *cfg, const char *url, int family, const char *user,
                     const char *secret, const struct post *post, long *status, char *body,
                     size_t bodylen, int64_t *retry_after)
{
	int ret = NP_EIO;
	char userpwd[CLIENT_SECRET_MAX + 160], auth[CLIENT_SECRET_MAX + 32];
	struct curl_slist *hdrs = NULL;
	struct body_buf b = {.p = body, .cap = bodylen > 0 ? bodylen - 1 : 0};

	if (bodylen == 0)
		return NP_EINVAL;
	body[0] = '\0';
	*status = 0;
	if (retry_after != NULL)
		*retry_after = 0;
	CURL *c = curl_easy_init();
	if (c == NULL)
		return NP_ENOMEM;
	long timeout = cfg != NULL && cfg->timeout > 0 ? (long)cfg->timeout : 15;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_USERAGENT, CLIENT_USER_AGENT);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* an environment proxy must not see secrets */
	if (family == AF_INET)
		curl_easy_setopt(c, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V4);
	else if (family == AF_INET6)
		curl_easy_setopt(c, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V6);
	if (user != NULL) {
		int n = snprintf(userpwd, sizeof(userpwd), "%s:%s", user, secret ? secret : "");
		if (n < 0 || (size_t)n >= sizeof(userpwd)) {
			ret = NP_ETOOBIG;
			goto done;
		}
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
	}
	if (post != NULL) {
		int n = snprintf(auth, sizeof(auth), "Authorization: Token %s", post->token);
		struct curl_slist *h1 = NULL, *h2 = NULL;
		if (n < 0 || (size_t)n >= sizeof(auth)) {
			ret = NP_ETOOBIG;
			goto done;
		}
		h1 = curl_slist_append(NULL, auth);
		h2 = h1 != NULL ? curl_slist_append(h1, "Content-Type: application/json") : NULL;
		if (h2 == NULL) {
			curl_slist_free_all(h1);
			ret = NP_ENOMEM;
			goto done;
		}
		hdrs = h2;
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post->json);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)post->len);
	}

	CURLcode cr = curl_easy_perform(c);
	if (b.toobig) {
		ret = NP_ETOOBIG;
		goto done;
	}
	if (cr != CURLE_OK) {
		log_debug("GET %s: %s", url, curl_easy_strerror(cr));
		ret = NP_EIO;
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (retry_after != NULL) {
		curl_off_t ra = 0;
		if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
			*retry_after = (int64_t)ra;
	}
	ret = NP_OK;
done:
	explicit_bzero(userpwd, sizeof(userpwd));
	explicit_bzero(auth, sizeof(auth));
	curl_easy_cleanup(c);
	/* libcurl's copy of the header, wiped before it is freed. */
	for (struct curl_slist *h = hdrs; h != NULL; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(hdrs);
	return ret;
}

int source_http_get(const struct client_cfg *cfg, const char *url, int family, const char *user,
                    const char *secret, long *status, char *body, size_t bodylen,
                    int64_t *retry_after)
{
	return http_call(cfg, url, family, user, secret, NULL, status, body, bodylen, retry_after);
}

int source_http_post_json(const struct client_cfg *cfg, const char *url, const char *token,
                          const char *json, size_t len, long *status, char *body, size_t bodylen)
{
	struct post p = {token, json, len};
	return http_call(cfg, url, 0, NULL, NULL, &p, status, body, bodylen, NULL);
}

/* ---- checkip ---- */

static bool addr_char(char ch)
{
	return isxdigit((unsigned char)ch) || ch == ':' || ch == '.';
}

int source_checkip_parse(const char *body, size_t len, int family, struct np_addr *out)
{
	size_t i = 0;
	while (i < len) {
		if (!addr_char(body[i])) {
			i++;
			continue;
		}
		size_t start = i;
		while (i < len && addr_char(body[i]))
			i++;
		/* Only whole words count: "x1.2.3.4" or "1.2.3.4z" is no address. */
		if (start > 0 &&
		    (isalnum((unsigned char)body[start - 1]) || body[start - 1] == '_'))
			continue;
		if (i < len && (isalnum((unsigned char)body[i]) || body[i] == '_'))
			continue;
		char tok[INET6_ADDRSTRLEN];
		size_t n = i - start;
		if (n >= sizeof(tok))
			continue;
		memcpy(tok, body + start, n);
		tok[n] = '\0';
		/* A sentence may end right after the address: "... is 192.0.2.1." */
		for (int tries = 0; tries < 2 && n > 0; tries++) {
			struct np_addr a;
			bool ok = false;
			if ((family == 0 || family == AF_INET) &&
			    inet_pton(AF_INET, tok, a.bytes) == 1) {
				a.family = AF_INET;
				ok = true;
			} else if ((family == 0 || family == AF_INET6) &&
			           inet_pton(AF_INET6, tok, a.bytes) == 1) {
				a.family = AF_INET6;
				ok = true;
			}
			if (ok) {
				memset(out, 0, sizeof(*out));
				out->family = a.family;
				memcpy(out->bytes, a.bytes, a.family == AF_INET ? 4 : 16);
				return NP_OK;
			}
			if (tok[n - 1] != '.')
				break;
			tok[--n] = '\0';
		}
	}
	return NP_ENOTFOUND;
}

static int read_checkip(const struct client_cfg *cfg, const struct host_cfg *h, int family,
                        const struct source_cfg *src, struct np_addr *out)
{
	char url[CLIENT_URL_MAX + 16];
	char body[SOURCE_BODY_MAX + 1];
	long status = 0;
	int ret;

	if (src->arg[0] != '\0')
		ret = np_strlcpy(url, src->arg, sizeof(url)) < sizeof(url) ? NP_OK : NP_ETOOBIG;
	else
		ret = source_server_url(h->server, "/checkip", url, sizeof(url));
	if (ret != NP_OK)
		return ret;
	ret = source_http_get(cfg, url, family, NULL, NULL, &status, body, sizeof(body), NULL);
	if (ret != NP_OK)
		return ret;
	if (status != 200) {
		log_warn("%s: checkip %s answered HTTP %ld", h->fqdn, url, status);
		return NP_EIO;
	}
	ret = source_checkip_parse(body, strlen(body), family, out);
	if (ret != NP_OK)
		log_warn("%s: checkip %s answered no %s address", h->fqdn, url,
		         family == AF_INET ? "IPv4" : "IPv6");
	return ret;
}

/* ---- UPnP IGD ---- */

int source_upnp_external(const char *rootdesc_url, struct np_addr *out, bool *igd_found)
{
	struct UPNPUrls urls;
	struct IGDdatas data;
	char lanaddr[64] = "";
	char ext[40] = "";
	int ret = NP_ENOTFOUND;
	bool have_urls = false;

	*igd_found = false;
	memset(&urls, 0, sizeof(urls));
	memset(&data, 0, sizeof(data));
	if (rootdesc_url != NULL && rootdesc_url[0] != '\0') {
		if (UPNP_GetIGDFromUrl(rootdesc_url, &urls, &data, lanaddr, sizeof(lanaddr)) != 1)
			goto done;
		have_urls = true;
	} else {
		/* upnpDiscover() searches four device types one after the other, each for
		 * the whole delay; every IGD is a root device, so one search is enough. */
		static const char *const types[] = {"upnp:rootdevice", NULL};
		int err = 0;
		struct UPNPDev *devs =
		    upnpDiscoverDevices(types, UPNP_DISCOVER_MS, NULL, NULL, 0, 0, 2, &err, 0);
		if (devs == NULL)
			goto done;
		int r = UPNP_GetValidIGD(devs, &urls, &data, lanaddr, sizeof(lanaddr));
		freeUPNPDevlist(devs);
		if (r != 0)
			have_urls = true;
		/* 1: connected IGD; 2: an IGD that says it is not connected (it may still know
		 * its address); 3: some other UPnP device. */
		if (r != 1 && r != 2)
			goto done;
	}
	*igd_found = true;
	int r = UPNP_GetExternalIPAddress(urls.controlURL, data.first.servicetype, ext);
	if (r != UPNPCOMMAND_SUCCESS) {
		log_debug("upnp: GetExternalIPAddress failed (%d)", r);
		goto done;
	}
	ext[sizeof(ext) - 1] = '\0';
	struct np_addr a;
	if (addr_parse(ext, &a) != NP_OK || a.family != AF_INET)
		goto done;
	static const uint8_t zero[4];
	if (memcmp(a.bytes, zero, 4) == 0)
		goto done; /* "no usable external address" */
	*out = a;
	ret = NP_OK;
done:
	if (have_urls)
		FreeUPNPUrls(&urls);
	return ret;
}

/* ---- the dispatcher ---- */

int source_read(const struct client_cfg *cfg, const struct host_cfg *h, int family,
                const struct source_cfg *src, struct np_addr *out)
{
	if (family != AF_INET && family != AF_INET6)
		return NP_EINVAL;
	switch (src->kind) {
	case SOURCE_NONE:
		return NP_ENOTFOUND;
	case SOURCE_INTERFACE:
		return read_interface(src->arg, family, out);
	case SOURCE_CHECKIP:
		return read_checkip(cfg, h, family, src, out);
	case SOURCE_UPNP: {
		if (family != AF_INET)
			return NP_EINVAL; /* an IGD's external address is IPv4 */
		bool found;
		int ret = source_upnp_external(src->arg, out, &found);
		if (ret != NP_OK)
			log_warn("%s: %s", h->fqdn,
			         found ? "the UPnP IGD reports no usable external address"
			               : "no UPnP IGD found");
		return ret;
	}
	case SOURCE_STATIC:
		if (src->addr.family != family)
			return NP_EINVAL;
		*out = src->addr;
		return NP_OK;
	}
	return NP_EINVAL;
}
