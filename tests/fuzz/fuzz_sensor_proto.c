/* SPDX-License-Identifier: MIT */
/* Fuzzes what the sensor's honeypots parse from anyone on the internet: the telnet line
 * decoder (fed in pieces, as bytes arrive), credential cleaning, the HTTP request head
 * parser and the exploit / download matchers. */
#include <string.h>

#include "fuzz.h"
#include "sensor/sensor.h"

static void telnet(const uint8_t *data, size_t size)
{
	struct sensor_telnet t;
	sensor_telnet_init(&t);
	/* The first byte picks the piece size, so lines split across reads are covered. */
	size_t piece = size > 0 ? (size_t)data[0] % 17 + 1 : 1;
	size_t off = 0, lines = 0;
	while (off < size) {
		size_t n = size - off < piece ? size - off : piece;
		size_t used = 0;
		bool line = sensor_telnet_feed(&t, data + off, n, &used);
		CHECK(used <= n);
		CHECK(line || used == n); /* without a line, everything offered is consumed */
		if (line) {
			size_t len = strlen(t.line);
			CHECK(len <= SENSOR_LINE_MAX);
			char cred[SENSOR_CRED_MAX + 1];
			sensor_cred_clean(cred, t.line, len);
			CHECK(strlen(cred) <= SENSOR_CRED_MAX);
			for (const char *p = cred; *p != '\0'; p++)
				CHECK(*p >= 0x20 && *p < 0x7f);
			lines++;
			CHECK(lines <= size + 1); /* each line consumes at least one byte */
		}
		off += used;
		/* A line handed out with nothing consumed would loop forever. */
		CHECK(used > 0 || n == 0);
	}
}

static void http(const uint8_t *data, size_t size)
{
	struct sensor_http_req req;
	int ret = sensor_http_parse((const char *)data, size, &req);
	CHECK(ret == NP_OK || ret == NP_EAGAIN || ret == NP_EMALFORMED);
	if (ret == NP_OK) {
		CHECK(req.head_len <= size);
		CHECK(strlen(req.method) < sizeof(req.method));
		CHECK(strlen(req.target) < sizeof(req.target));
		CHECK(strlen(req.agent) < sizeof(req.agent));
		const char *m = sensor_exploit_match(req.target);
		CHECK(m == NULL || strlen(m) > 0);
	}
	(void)sensor_download_match((const char *)data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	telnet(data, size);
	http(data, size);
	return 0;
}
