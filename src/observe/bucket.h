/* SPDX-License-Identifier: MIT */
/* The observation-bucket rules: how one hour of one address counts events, how two such
 * hours add up, which hours an address keeps, and which a retention window ends.
 *
 * The live index (index.h) and the offline pcap import (ctl/import_fold.h) both count with
 * these functions, so a capture imported offline gives, bucket for bucket, the records the
 * index would have built from the same events.
 *
 * Limits: OBS_BUCKET_PORTS ports listed per hour (later ones count in other_ports), at most
 * obs_bucket_max(retention) hours per address (the oldest gives way), OBS_RETENTION_MAX
 * seconds of retention. Counters saturate instead of wrapping. */
#ifndef NP_OBSERVE_BUCKET_H
#define NP_OBSERVE_BUCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "observe/observe.h"

#define OBS_HOUR              3600
#define OBS_RETENTION_DEFAULT (7 * 24 * 3600)
#define OBS_WINDOW            (24 * 3600)   /* the verdict window */
#define OBS_BUCKET_PORTS      6             /* distinct destination ports per hour */
#define OBS_MAX_BUCKETS       (31 * 24 + 1) /* hourly buckets per address (31 days max) */
#define OBS_RETENTION_MAX     ((OBS_MAX_BUCKETS - 1) * 3600)

/* A destination port and how many evidence packets went to it (saturating). */
struct obs_port_count {
	uint16_t port;
	uint16_t count;
};

/* One hour of one address. count[] counts every kind (backscatter and research too, for
 * statistics); ports[] and the first/last offsets only cover evidence kinds (see
 * obs_kind_is_evidence()). Counters saturate instead of wrapping. */
struct obs_bucket {
	int32_t hour;       /* unix time / 3600 */
	uint16_t first_off; /* seconds into the hour of the first evidence event */
	uint16_t last_off;  /* ... and of the last one */
	uint32_t count[OBS_KIND_COUNT];
	uint32_t iot_port_hits; /* evidence events to an IoT port (obs_port_is_iot()) */
	uint32_t default_creds; /* logins with a Mirai default credential pair */
	uint32_t other_ports;   /* evidence events to ports beyond ports[] */
	uint8_t n_ports;
	struct obs_port_count ports[OBS_BUCKET_PORTS];
};

/* Whether a kind is evidence for a verdict (backscatter, research and other are not).
 * The rules are inline: the import runs them for every packet and every address. */
static inline bool obs_kind_is_evidence(enum obs_kind k)
{
	switch (k) {
	case OBS_MIRAI_SYN:
	case OBS_SCAN:
	case OBS_LOGIN:
	case OBS_DOWNLOAD:
	case OBS_HTTP_EXPLOIT:
	case OBS_CONNECT:
		return true;
	default:
		return false;
	}
}

/* Whether a destination port is on the IoT-bot port list: ports IoT bots scan (Mirai, its
 * variants, web admin and camera RCEs, ADB, TR-069/064, UPnP RCEs, DVRs, SSH). */
static inline bool obs_port_is_iot(uint16_t port)
{
	switch (port) {
	case 22:
	case 23:
	case 80:
	case 81:
	case 82:
	case 83:
	case 84:
	case 85:
	case 2223:
	case 2323:
	case 5555:
	case 7547:
	case 8080:
	case 8081:
	case 8181:
	case 8443:
	case 9000:
	case 37215:
	case 52869:
	case 60001:
		return true;
	default:
		return false;
	}
}

/* a + b, saturating (bucket counters do not wrap). */
static inline uint32_t obs_sat32(uint32_t a, uint64_t b)
{
	uint64_t s = (uint64_t)a + b;
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

static inline uint16_t obs_sat16(uint16_t a, uint32_t b)
{
	uint32_t s = (uint32_t)a + b;
	return s > UINT16_MAX ? UINT16_MAX : (uint16_t)s;
}

/* The hours one address can span under a retention window of retention seconds
 * (OBS_WINDOW .. OBS_RETENTION_MAX): retention / 3600 + 1. */
static inline uint16_t obs_bucket_max(int64_t retention)
{
	return (uint16_t)(retention / OBS_HOUR + 1);
}

/* Whether hour ended at or before cutoff (the oldest time a retention window keeps): such
 * an hour is dropped. */
static inline bool obs_bucket_ended(int32_t hour, int64_t cutoff)
{
	return ((int64_t)hour + 1) * OBS_HOUR <= cutoff;
}

/* The first of b[0..nb) (ascending hours) that has not ended at cutoff; nb when all have.
 * INT64_MIN keeps every hour. */
static inline size_t obs_bucket_first_live(const struct obs_bucket *b, size_t nb, int64_t cutoff)
{
	size_t i = 0;
	while (i < nb && obs_bucket_ended(b[i].hour, cutoff))
		i++;
	return i;
}

/* The bucket of hour among b[0..nb) (ascending hours), or NULL with *pos where it would go. */
static inline struct obs_bucket *obs_bucket_find(struct obs_bucket *b, size_t nb, int32_t hour,
                                                 size_t *pos)
{
	/* From the newest end: events mostly arrive for the newest hour. */
	size_t p = nb;
	while (p > 0 && b[p - 1].hour > hour)
		p--;
	if (p > 0 && b[p - 1].hour == hour)
		return &b[p - 1];
	*pos = p;
	return NULL;
}

/* Inserts an empty bucket of hour at pos (from obs_bucket_find()) into b[0..*nb)
 * (ascending hours, at most max of them): when max are held the oldest gives way to a newer
 * one, and NULL means hour is older than all of them (past the window: the event is
 * skipped). b must have room for *nb + 1 buckets when *nb < max. */
static inline struct obs_bucket *obs_bucket_insert(struct obs_bucket *b, uint16_t *nb, uint16_t max,
                                                   size_t pos, int32_t hour)
{
	if (*nb >= max) {
		if (pos == 0)
			return NULL;
		memmove(b, b + 1, (size_t)(*nb - 1) * sizeof(*b));
		(*nb)--;
		pos--;
	}
	memmove(b + pos + 1, b + pos, (*nb - pos) * sizeof(*b));
	(*nb)++;
	struct obs_bucket *nbk = &b[pos];
	memset(nbk, 0, sizeof(*nbk));
	nbk->hour = hour;
	nbk->first_off = UINT16_MAX; /* no evidence yet */
	return nbk;
}

/* Counts count evidence events (>= 1) to port (not 0) into b's port list: a new port is
 * listed while fewer than OBS_BUCKET_PORTS are, else counted in other_ports. */
static inline void obs_bucket_add_port(struct obs_bucket *b, uint16_t port, uint32_t count)
{
	for (size_t i = 0; i < b->n_ports; i++) {
		if (b->ports[i].port == port) {
			b->ports[i].count = obs_sat16(b->ports[i].count, count);
			return;
		}
	}
	if (b->n_ports < OBS_BUCKET_PORTS) {
		b->ports[b->n_ports].port = port;
		b->ports[b->n_ports].count = obs_sat16(0, count);
		b->n_ports++;
		return;
	}
	b->other_ports = obs_sat32(b->other_ports, count);
}

/* Counts count identical events (>= 1) of kind at time t (unix seconds, inside b's hour) to
 * destination port (0: none) into b: every kind in count[]; for evidence kinds also the
 * first/last offsets, the port and IoT-port hits. Login credentials are the caller's
 * (default_creds). */
static inline void obs_bucket_add(struct obs_bucket *b, enum obs_kind kind, int64_t t,
                                  uint16_t port, uint32_t count)
{
	b->count[kind] = obs_sat32(b->count[kind], count);
	if (!obs_kind_is_evidence(kind))
		return;
	uint16_t off = (uint16_t)(t % OBS_HOUR);
	if (b->first_off == UINT16_MAX || off < b->first_off)
		b->first_off = off;
	if (off > b->last_off)
		b->last_off = off;
	if (port == 0)
		return;
	obs_bucket_add_port(b, port, count);
	if (obs_port_is_iot(port))
		b->iot_port_hits = obs_sat32(b->iot_port_hits, count);
}

/* Adds src (an hour of the same address, e.g. from a checkpoint) into dst (the same hour). */
void obs_bucket_merge(struct obs_bucket *dst, const struct obs_bucket *src);

#endif
