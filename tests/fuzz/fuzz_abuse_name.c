/* SPDX-License-Identifier: MIT */
/* Fuzz target: bytes as the labels of a name someone asks for (the name policy at creation,
 * which decodes Punycode from strangers): the decoder never writes past its buffer nor
 * makes a code point outside Unicode, and the check never fails to say why it refused. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "abuse/name_policy.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char labels[254];
	if (size >= sizeof(labels))
		return 0;
	memcpy(labels, data, size);
	labels[size] = '\0';
	uint32_t cps[63];
	int n = punycode_decode(labels, size, cps, 63);
	CHECK(n >= -1 && n <= 63);
	for (int i = 0; i < n; i++)
		CHECK(cps[i] <= 0x10FFFF);
	char why[256] = "";
	if (name_policy_check(labels, "www ns* admin", "paypal google ebay", why, sizeof(why)) != 0)
		CHECK(why[0] != '\0');
	return 0;
}
