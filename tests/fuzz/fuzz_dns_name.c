/* SPDX-License-Identifier: MIT */
/* Fuzz target for names: wire reading with decompression, and text to wire and back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/name.h"
#include "dns/wire.h"
#include "fuzz.h"


static uint8_t lower_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* Reads a name from the input as a message. The first byte picks where the name starts
 * (after a 12-byte header), so that backward pointers have something to point at. */
static void fuzz_wire(const uint8_t *data, size_t size)
{
	uint8_t orig[DNS_NAME_MAX], lower[DNS_NAME_MAX];
	char text[4 * DNS_NAME_MAX + 2];
	if (size <= 12)
		return;
	size_t start = 12 + data[0] % (size - 12);
	struct wire c = wire_init(data, size);
	c.pos = start;
	int n = dns_name_read(&c, orig, lower);
	if (n < 0) {
		CHECK(c.err == NP_EMALFORMED);
		return;
	}
	CHECK(c.err == 0);
	CHECK(n >= 1 && n <= DNS_NAME_MAX);
	CHECK(c.pos > start && c.pos <= size);
	CHECK(dns_name_check(orig, (size_t)n) == n);
	CHECK(dns_name_check(lower, (size_t)n) == n);
	for (int i = 0; i < n; i++)
		CHECK(lower[i] == lower_char(orig[i]));
	/* Without pointers the name is exactly what was consumed. */
	if (c.pos - start == (size_t)n)
		CHECK(memcmp(orig, data + start, (size_t)n) == 0);
	/* Reading again without outputs gives the same answer. */
	struct wire c2 = wire_init(data, size);
	c2.pos = start;
	CHECK(dns_name_read(&c2, NULL, NULL) == n && c2.pos == c.pos);
	int t = dns_name_to_text(lower, (size_t)n, text, sizeof(text));
	CHECK(t > 0 && (size_t)t == strlen(text));
	/* Host names survive the trip back. */
	uint8_t again[DNS_NAME_MAX];
	int m = dns_name_from_text(text, again, sizeof(again));
	if (m > 0)
		CHECK(m == n && memcmp(again, lower, (size_t)n) == 0);
}

static void fuzz_text(const uint8_t *data, size_t size)
{
	char text[1100], back[4 * DNS_NAME_MAX + 2];
	uint8_t wire[DNS_NAME_MAX], again[DNS_NAME_MAX];
	if (size >= sizeof(text))
		size = sizeof(text) - 1;
	memcpy(text, data, size);
	text[size] = '\0';
	int n = dns_name_from_text(text, wire, sizeof(wire));
	if (n < 0) {
		CHECK(n == NP_EMALFORMED || n == NP_ETOOBIG);
		return;
	}
	CHECK(n >= 1 && n <= DNS_NAME_MAX);
	CHECK(dns_name_check(wire, (size_t)n) == n);
	for (int i = 0; i < n; i++)
		CHECK(wire[i] == lower_char(wire[i]));
	int t = dns_name_to_text(wire, (size_t)n, back, sizeof(back));
	CHECK(t > 0);
	CHECK(dns_name_from_text(back, again, sizeof(again)) == n);
	CHECK(memcmp(again, wire, (size_t)n) == 0);
	CHECK(dns_name_labels(wire) <= 127);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_wire(data, size);
	fuzz_text(data, size);
	return 0;
}
