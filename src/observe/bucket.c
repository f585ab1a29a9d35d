/* SPDX-License-Identifier: MIT */
/* The observation-bucket rules, shared by the live index and the offline import. */
#include "observe/bucket.h"

void obs_bucket_merge(struct obs_bucket *dst, const struct obs_bucket *src)
{
	for (size_t k = 0; k < OBS_KIND_COUNT; k++)
		dst->count[k] = obs_sat32(dst->count[k], src->count[k]);
	dst->iot_port_hits = obs_sat32(dst->iot_port_hits, src->iot_port_hits);
	dst->default_creds = obs_sat32(dst->default_creds, src->default_creds);
	dst->other_ports = obs_sat32(dst->other_ports, src->other_ports);
	size_t np = src->n_ports < OBS_BUCKET_PORTS ? src->n_ports : OBS_BUCKET_PORTS;
	for (size_t i = 0; i < np; i++)
		obs_bucket_add_port(dst, src->ports[i].port, src->ports[i].count);
	if (src->first_off != UINT16_MAX) {
		if (dst->first_off == UINT16_MAX || src->first_off < dst->first_off)
			dst->first_off = src->first_off;
		if (src->last_off > dst->last_off)
			dst->last_off = src->last_off;
	}
}
