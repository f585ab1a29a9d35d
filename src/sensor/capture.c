/* SPDX-License-Identifier: MIT */
/* Darknet capture: libpcap on an interface whose addresses host nothing; every packet goes
 * through the observe packet parser and classifier, and what is evidence (or backscatter
 * and research traffic, which the index keeps apart) is queued. */
#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "observe/packet.h"
#include "sensor/sensor.h"

#define CAP_SNAPLEN 256 /* headers only: payloads are none of our business */
#define CAP_BUFFER  (4 << 20)

/* "(ip or ip6) and (dst net A or dst net B ...)" into out. */
static int build_filter(const struct sensor_cfg *cfg, char *out, size_t outlen)
{
	size_t used = (size_t)snprintf(out, outlen, "(ip or ip6)");
	for (unsigned i = 0; i < cfg->n_addresses && used < outlen; i++) {
		char a[INET6_ADDRSTRLEN];
		addr_format(&cfg->addresses[i].addr, a, sizeof(a));
		used += (size_t)snprintf(out + used, outlen - used, "%s dst net %s/%u",
		                         i == 0 ? " and (" : " or", a, cfg->addresses[i].prefix);
	}
	if (cfg->n_addresses > 0 && used < outlen)
		used += (size_t)snprintf(out + used, outlen - used, ")");
	return used < outlen ? NP_OK : NP_ETOOBIG;
}

int sensor_capture_open(struct sensor *s)
{
	const struct sensor_cfg *cfg = s->cfg;
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	char filter[SENSOR_MAX_NETS * 64 + 32];
	struct bpf_program prog;
	bool compiled = false;
	s->pcap = NULL;
	if (cfg->interface[0] == '\0')
		return NP_OK;
	if (build_filter(cfg, filter, sizeof(filter)) != NP_OK)
		return NP_EINVAL;
	pcap_t *p = pcap_create(cfg->interface, errbuf);
	if (p == NULL) {
		log_err("darknet %s: %s", cfg->interface, errbuf);
		return NP_EIO;
	}
	if (pcap_set_snaplen(p, CAP_SNAPLEN) != 0 || pcap_set_immediate_mode(p, 1) != 0 ||
	    pcap_set_buffer_size(p, CAP_BUFFER) != 0 || pcap_set_timeout(p, 200) != 0) {
		log_err("darknet %s: cannot set capture options", cfg->interface);
		goto fail;
	}
	int r = pcap_activate(p);
	if (r < 0) {
		log_err("darknet %s: %s", cfg->interface, pcap_geterr(p));
		goto fail;
	}
	if (r > 0)
		log_warn("darknet %s: %s", cfg->interface, pcap_statustostr(r));
	s->linktype = pcap_datalink(p);
	if (!obs_linktype_supported(s->linktype)) {
		log_err("darknet %s: link type %s is not supported", cfg->interface,
		        pcap_datalink_val_to_name(s->linktype));
		goto fail;
	}
	if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		log_err("darknet filter \"%s\": %s", filter, pcap_geterr(p));
		goto fail;
	}
	compiled = true;
	if (pcap_setfilter(p, &prog) != 0 || pcap_setnonblock(p, 1, errbuf) != 0) {
		log_err("darknet %s: %s", cfg->interface, pcap_geterr(p));
		goto fail;
	}
	pcap_freecode(&prog);
	s->pcap = p;
	log_info("darknet capture on %s, filter \"%s\"", cfg->interface, filter);
	return NP_OK;
fail:
	if (compiled)
		pcap_freecode(&prog);
	pcap_close(p);
	return NP_EIO;
}

void sensor_capture_close(struct sensor *s)
{
	if (s->pcap != NULL)
		pcap_close(s->pcap);
	s->pcap = NULL;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *hdr, const u_char *bytes)
{
	struct sensor *s = (struct sensor *)user;
	struct obs_packet p;
	if (obs_packet_parse(s->linktype, bytes, hdr->caplen, (int64_t)hdr->ts.tv_sec, &p) != NP_OK)
		return;
	enum obs_kind k = obs_classify(&p, s->cfg->research, s->cfg->n_research);
	if (k == OBS_OTHER)
		return;
	struct obs_event e;
	memset(&e, 0, sizeof(e));
	e.src = p.src;
	e.time = p.time;
	e.kind = k;
	e.proto = p.proto;
	e.dst_port = p.dst_port;
	e.count = 1;
	sensor_queue_add(&s->queue, &e);
}

void *sensor_capture_run(void *arg)
{
	struct sensor *s = arg;
	pcap_t *p = s->pcap;
	int fd = pcap_get_selectable_fd(p);
	while (!s->stop_io) {
		struct pollfd pf[2] = {{.fd = fd, .events = POLLIN},
		                       {.fd = s->stop_fd, .events = POLLIN}};
		/* Without a selectable fd (not on Linux) the timeout paces pcap_dispatch. */
		int n = poll(pf, fd >= 0 ? 2 : 1, 200);
		if (n < 0 && errno != EINTR) {
			log_err("darknet: poll: %m");
			s->capture_failed = 1;
			break;
		}
		if (s->stop_io)
			break;
		/* Bounded per round, so a flood cannot keep the stop flag unread. */
		int r = pcap_dispatch(p, 4096, on_packet, (u_char *)s);
		if (r == PCAP_ERROR) {
			log_err("darknet: %s", pcap_geterr(p));
			s->capture_failed = 1;
			break;
		}
	}
	struct pcap_stat st;
	if (pcap_stats(p, &st) == 0)
		log_info("darknet: %u packets received, %u dropped by the kernel", st.ps_recv,
		         st.ps_drop);
	return NULL;
}
