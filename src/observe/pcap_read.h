/* SPDX-License-Identifier: MIT */
/* Offline reading of pcap and pcapng files through the darknet packet parser, for
 * `nameplatectl import pcap` and tests. */
#ifndef NP_OBSERVE_PCAP_READ_H
#define NP_OBSERVE_PCAP_READ_H

#include <stdint.h>

#include "observe/observe.h"

/* Called once per packet that parsed (NP_OK from obs_packet_parse). Returns 0 to go on;
 * anything else stops the read and becomes obs_pcap_foreach's result. */
typedef int obs_packet_cb(const struct obs_packet *p, void *ctx);

struct obs_pcap_stats {
	uint64_t packets;   /* records read from the file */
	uint64_t parsed;    /* handed to the callback */
	uint64_t malformed; /* NP_EMALFORMED from the parser */
	uint64_t not_ip;    /* NP_ENOTFOUND from the parser (ARP, ...) */
	int linktype;       /* pcap_datalink of the file */
};

/* Reads every record of the pcap or pcapng file at path (libpcap pcap_open_offline),
 * parses it with obs_packet_parse using the file's link type and the record's time
 * (seconds), and calls cb for each parsed packet. st (may be NULL) is zeroed first and
 * holds the counts so far even on failure. Malformed and non-IP records are counted,
 * never fatal.
 * Returns NP_OK at end of file; NP_EIO when the file cannot be opened or a read fails
 * (a truncated last record included, after the earlier records were delivered);
 * NP_EINVAL for a link type the parser does not support; or the callback's non-zero
 * result. */
int obs_pcap_foreach(const char *path, obs_packet_cb *cb, void *ctx, struct obs_pcap_stats *st);

#endif
