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

/* Reads every record of the pcap or pcapng file at path (through obs_pcap_open()), parses
 * it with obs_packet_parse using the file's link type and the record's time (seconds),
 * and calls cb for each parsed packet. st (may be NULL) is zeroed first and holds the
 * counts so far even on failure. Malformed and non-IP records are counted, never fatal.
 * Returns NP_OK at end of file; NP_EIO when the file cannot be opened or a read fails
 * (a truncated last record included, after the earlier records were delivered);
 * NP_EINVAL for a link type the parser does not support; or the callback's non-zero
 * result. */
int obs_pcap_foreach(const char *path, obs_packet_cb *cb, void *ctx, struct obs_pcap_stats *st);

/* A record reader without a callback, for loops that want each frame raw (the import
 * parses and classifies in its own loop).
 *
 * A classic pcap file (version 2.4, micro- or nanosecond magic, either byte order) is read
 * with read(2) through one buffer, records are handed out in place (no per-record copy);
 * anything else (pcapng, odd versions) goes through libpcap's pcap_next_ex. Both paths
 * apply libpcap's rules: a record whose caplen exceeds the file's snapshot length is cut
 * to it, one larger than 262144 bytes or cut short by the end of the file is a read
 * error. libpcap always opens and checks the file first, so both paths report the same
 * link type (pcap_datalink). */
struct obs_pcap;

/* Opens path. Returns NP_OK and *out (free with obs_pcap_close), *linktype set; NP_EIO
 * when it is not a readable capture (logged), NP_ENOMEM. An unsupported link type is not
 * an error here: check obs_linktype_supported(*linktype). */
int obs_pcap_open(const char *path, struct obs_pcap **out, int *linktype) np_mustcheck;

/* The next record: returns 1 and sets *frame (valid until the next call), *caplen and
 * *time (the record's seconds); 0 at the end of the file; NP_EIO on a read error or a
 * damaged or truncated record (logged; the records before it were delivered). */
int obs_pcap_next(struct obs_pcap *r, const uint8_t **frame, uint32_t *caplen, int64_t *time);

/* How far into the file the reader is, in bytes (to within its buffer), for progress. */
int64_t obs_pcap_offset(const struct obs_pcap *r);

void obs_pcap_close(struct obs_pcap *r);

#endif
