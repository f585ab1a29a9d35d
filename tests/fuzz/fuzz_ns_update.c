/* SPDX-License-Identifier: MIT */
/* Fuzz target for RFC 2136 UPDATE parsing (ns/update.h): any bytes in. Invariants: the
 * counts stay within UPDATE_MAX_RRS; a message that passes has every record's name inside
 * its zone, rdata within its bounds and a kind that matches its class; the answer written
 * for it is a well-formed header with the zone section echoed. */
#include <string.h>

#include "dns/constants.h"
#include "dns/msg.h"
#include "fuzz.h"
#include "ns/update.h"

static struct update_msg m;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned rc = update_parse(data, size, &m);
	CHECK(m.n_prereq + m.n_update <= UPDATE_MAX_RRS);
	CHECK(m.zone_len <= DNS_NAME_MAX);
	if (rc == DNS_RCODE_NOERROR) {
		CHECK(m.zone_len >= 1);
		for (unsigned i = 0; i < m.n_prereq + m.n_update; i++) {
			const struct update_rr *rr = &m.rr[i];
			CHECK(rr->name_len >= 1 && rr->name_len <= DNS_NAME_MAX);
			CHECK(update_name_in_zone(rr->name, rr->name_len, m.zone, m.zone_len));
			CHECK(rr->rdlen <= sizeof(rr->rdata));
			if (rr->type == DNS_TYPE_A && rr->rdlen != 0)
				CHECK(rr->rdlen == 4);
			if (m.kind[i] == UPD_ADD || m.kind[i] == UPD_DEL_RR ||
			    m.kind[i] == UPD_RRSET_VALUE)
				CHECK(rr->rdlen > 0);
			if (i < m.n_prereq)
				CHECK(m.kind[i] <= UPD_RRSET_VALUE && rr->ttl == 0);
			else
				CHECK(m.kind[i] >= UPD_ADD);
		}
	} else {
		CHECK(rc == DNS_RCODE_FORMERR || rc == DNS_RCODE_NOTZONE || rc == DNS_RCODE_NOTAUTH);
	}
	uint8_t out[DNS_HDR_LEN + DNS_NAME_MAX + 4];
	size_t n = update_answer(out, sizeof(out), m.id, rc, m.zone_len > 0 ? m.zone : NULL,
	                         m.zone_len);
	CHECK(n == DNS_HDR_LEN + (m.zone_len > 0 ? m.zone_len + 4 : 0));
	CHECK((out[2] & 0x80) != 0 && (out[3] & 0x0F) == rc);
	if (size >= DNS_HDR_LEN && update_is_update(data, size)) {
		CHECK(update_servfail(data, out) == DNS_HDR_LEN);
		CHECK((out[3] & 0x0F) == DNS_RCODE_SERVFAIL && out[0] == data[0] && out[1] == data[1]);
	}
	return 0;
}
