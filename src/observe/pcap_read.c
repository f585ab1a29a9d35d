/* SPDX-License-Identifier: MIT */
/* pcap/pcapng file reader over libpcap feeding the packet parser. */
#include <pcap/pcap.h>
#include <string.h>

#include "common/log.h"
#include "observe/packet.h"
#include "observe/pcap_read.h"

int obs_pcap_foreach(const char *path, obs_packet_cb *cb, void *ctx, struct obs_pcap_stats *st)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct obs_pcap_stats local;
	struct pcap_pkthdr *hdr;
	const u_char *data;
	int ret = NP_OK;
	int rc;

	if (st == NULL)
		st = &local;
	memset(st, 0, sizeof(*st));
	errbuf[0] = '\0';
	pcap_t *pc = pcap_open_offline(path, errbuf);
	if (pc == NULL) {
		log_warn("pcap %s: %s", path, errbuf);
		return NP_EIO;
	}
	st->linktype = pcap_datalink(pc);
	if (!obs_linktype_supported(st->linktype)) {
		log_warn("pcap %s: unsupported link type %d", path, st->linktype);
		ret = NP_EINVAL;
		goto out;
	}
	/* Bounded by the file: pcap_next_ex returns PCAP_ERROR_BREAK (-2) at its end. */
	while ((rc = pcap_next_ex(pc, &hdr, &data)) == 1) {
		struct obs_packet p;
		st->packets++;
		int r =
		    obs_packet_parse(st->linktype, data, hdr->caplen, (int64_t)hdr->ts.tv_sec, &p);
		if (r == NP_ENOTFOUND) {
			st->not_ip++;
			continue;
		}
		if (r != NP_OK) {
			st->malformed++;
			continue;
		}
		st->parsed++;
		r = cb(&p, ctx);
		if (r != 0) {
			ret = r;
			goto out;
		}
	}
	if (rc == PCAP_ERROR) {
		log_warn("pcap %s: %s", path, pcap_geterr(pc));
		ret = NP_EIO;
	}
out:
	pcap_close(pc);
	return ret;
}
