/* SPDX-License-Identifier: MIT */
/* RRSIG: rdata prefix, then the RRset in canonical form and order, signed. */
#include "dnssec/sign.h"

#include <stdlib.h>
#include <string.h>

#include "dns/constants.h"
#include "dns/name.h"
#include "dns/wire.h"

#define MAX_RRS   64
#define MAX_RDATA 1024

/* Lower-cases a wire name in place: length octets are at most 63, below 'A', so every
 * octet can go through the same test. */
static void lower_name(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] >= 'A' && p[i] <= 'Z')
			p[i] = (uint8_t)(p[i] + ('a' - 'A'));
}

size_t dnssec_rdata_canonical(uint16_t type, const uint8_t *rd, size_t len, uint8_t *out,
                              size_t cap)
{
	if (len > cap)
		return 0;
	memcpy(out, rd, len);
	switch (type) {
	case DNS_TYPE_NS:
		lower_name(out, len);
		break;
	case DNS_TYPE_MX:
		if (len > 2)
			lower_name(out + 2, len - 2);
		break;
	case DNS_TYPE_SOA:
		if (len > 20)
			lower_name(out, len - 20); /* MNAME and RNAME, then five numbers */
		break;
	default:
		break;
	}
	return len;
}

/* RFC 4034 6.3: rdata compared as unsigned octet strings, a shorter prefix first. */
static int rdata_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* The labels field: the owner's labels, without the root and without a leading "*". */
static uint8_t sig_labels(const uint8_t *owner)
{
	unsigned n = dns_name_labels(owner);
	if (n > 0 && owner[0] == 1 && owner[1] == '*')
		n--;
	return (uint8_t)n;
}

int dnssec_rrsig(const struct dnssec_key *k, const struct dnssec_sig_meta *m,
                 const struct dnssec_rr *rrs, size_t n, uint8_t out[DNSSEC_RRSIG_MAX])
{
	if (n == 0 || n > MAX_RRS || m->owner_len == 0 || m->owner_len > DNS_NAME_MAX ||
	    m->signer_len == 0 || m->signer_len > DNS_NAME_MAX)
		return NP_EINVAL;
	/* The rdata prefix: what the RRSIG says, which is signed too. */
	wire_store_u16(out, m->type);
	out[2] = k->alg;
	out[3] = sig_labels(m->owner);
	wire_store_u32(out + 4, m->ttl);
	wire_store_u32(out + 8, m->expiration);
	wire_store_u32(out + 12, m->inception);
	wire_store_u16(out + 16, k->tag);
	memcpy(out + DNSSEC_RRSIG_FIXED, m->signer, m->signer_len);
	lower_name(out + DNSSEC_RRSIG_FIXED, m->signer_len);
	size_t prefix = DNSSEC_RRSIG_FIXED + m->signer_len;

	/* Canonical rdata of each record, then sorted (insertion sort: at most 64). */
	size_t cap = prefix + n * (m->owner_len + 10 + MAX_RDATA);
	uint8_t *buf = malloc(cap + n * MAX_RDATA);
	if (buf == NULL)
		return NP_ENOMEM;
	uint8_t *canon = buf + cap;
	size_t clen[MAX_RRS];
	size_t order[MAX_RRS];
	int ret = NP_EINVAL;
	for (size_t i = 0; i < n; i++) {
		clen[i] = dnssec_rdata_canonical(m->type, rrs[i].rdata, rrs[i].rdlen,
		                                 canon + i * MAX_RDATA, MAX_RDATA);
		if (clen[i] == 0 && rrs[i].rdlen != 0)
			goto done;
		size_t j = i;
		while (j > 0 && rdata_cmp(canon + order[j - 1] * MAX_RDATA, clen[order[j - 1]],
		                          canon + i * MAX_RDATA, clen[i]) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	size_t pos = 0;
	memcpy(buf, out, prefix);
	pos = prefix;
	for (size_t i = 0; i < n; i++) {
		size_t r = order[i];
		/* RFC 2181 5: an RRset is a set; a duplicate would break the signature. */
		if (i > 0 && rdata_cmp(canon + order[i - 1] * MAX_RDATA, clen[order[i - 1]],
		                       canon + r * MAX_RDATA, clen[r]) == 0)
			continue;
		memcpy(buf + pos, m->owner, m->owner_len);
		lower_name(buf + pos, m->owner_len);
		pos += m->owner_len;
		wire_store_u16(buf + pos, m->type);
		wire_store_u16(buf + pos + 2, DNS_CLASS_IN);
		wire_store_u32(buf + pos + 4, m->ttl);
		wire_store_u16(buf + pos + 8, (uint16_t)clen[r]);
		pos += 10;
		memcpy(buf + pos, canon + r * MAX_RDATA, clen[r]);
		pos += clen[r];
	}
	ret = dnssec_sign(k, buf, pos, out + prefix);
	if (ret == NP_OK)
		ret = (int)(prefix + DNSSEC_SIG_LEN);
done:
	free(buf);
	return ret;
}
