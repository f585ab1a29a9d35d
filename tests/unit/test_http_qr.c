/* SPDX-License-Identifier: MIT */
/* Tests of the QR code SVG: its structure (balanced tags, only svg, rect and path, nothing
 * a Content-Security-Policy blocks), its size against the version libqrencode chose, every
 * module against libqrencode's own symbol, and the refusals. With --svg TEXT it prints
 * the SVG for tests/system/test_totp.py to decode with zbarimg. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <qrencode.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/macros.h"
#include "http/qr.h"

#define URI                                                                                        \
	"otpauth://totp/Nameplate:alice%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"     \
	"&issuer=Nameplate&algorithm=SHA1&digits=6&period=30"

/* Checks the SVG is one well-formed element tree: every tag closes in order, attribute
 * values are quoted, no text outside tags, and only the three elements qr_svg writes. */
static void check_structure(const char *svg)
{
	const char *stack[8];
	size_t depth = 0;
	const char *p = svg;
	assert_true(strncmp(p, "<svg ", 5) == 0);
	while (*p != '\0') {
		assert_int_equal(*p, '<'); /* no text between tags */
		p++;
		bool closing = *p == '/';
		if (closing)
			p++;
		size_t nlen = strspn(p, "abcdefghijklmnopqrstuvwxyz");
		assert_true(nlen > 0);
		assert_true((nlen == 3 && strncmp(p, "svg", 3) == 0) ||
		            (nlen == 4 && strncmp(p, "rect", 4) == 0) ||
		            (nlen == 4 && strncmp(p, "path", 4) == 0));
		const char *name = p;
		p += nlen;
		if (closing) {
			assert_true(depth > 0);
			depth--;
			assert_memory_equal(stack[depth], name, nlen);
			assert_int_equal(*p, '>');
			p++;
			continue;
		}
		/* Attributes: name="value", the value free of '<' and '"'. */
		for (;;) {
			if (*p == '>' || (p[0] == '/' && p[1] == '>'))
				break;
			assert_int_equal(*p, ' ');
			p++;
			size_t alen =
			    strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-");
			assert_true(alen > 0);
			p += alen;
			assert_int_equal(p[0], '=');
			assert_int_equal(p[1], '"');
			p += 2;
			const char *end = strchr(p, '"');
			assert_non_null(end);
			assert_null(memchr(p, '<', (size_t)(end - p)));
			p = end + 1;
		}
		if (*p == '/') {
			p += 2; /* empty element */
		} else {
			assert_true(depth < ARRAY_SIZE(stack));
			stack[depth++] = name;
			p++;
		}
		if (depth == 0)
			break;
	}
	assert_int_equal(depth, 0);
	assert_string_equal(p, ""); /* nothing after the root closes */
	/* Nothing a strict CSP or a sanitiser would object to when inlined. */
	static const char *const banned[] = {"<script", "href",           "style",      "url(",
	                                     "<image",  "<foreignObject", "javascript:"};
	for (size_t i = 0; i < ARRAY_SIZE(banned); i++)
		assert_null(strstr(svg, banned[i]));
	/* No event handler attribute (" on...="). */
	assert_null(strstr(svg, " on"));
}

/* The integer value of attribute name="..." in svg's root tag. */
static int attr_int(const char *svg, const char *name)
{
	char key[32];
	snprintf(key, sizeof(key), " %s=\"", name);
	const char *p = strstr(svg, key);
	assert_non_null(p);
	return (int)strtol(p + strlen(key), NULL, 10);
}

/* Paints the path's runs ("MX Yh N v1h-N z") into a grid and compares it with every module of
 * libqrencode's symbol for the same text, quiet zone included. */
static void check_modules(const char *svg, const QRcode *qr)
{
	int n = qr->width + 2 * QR_QUIET_ZONE;
	unsigned char *grid = calloc((size_t)n * (size_t)n, 1);
	assert_non_null(grid);
	const char *d = strstr(svg, " d=\"");
	assert_non_null(d);
	d += 4;
	while (*d != '"') {
		int x, y, w1, w2;
		char buf[64];
		const char *end = strchr(d, 'z');
		assert_non_null(end);
		assert_true((size_t)(end - d) < sizeof(buf));
		memcpy(buf, d, (size_t)(end - d));
		buf[end - d] = '\0';
		/* strtol rather than a scanf: a run is M, x, y, h, width, v1h-, width. */
		char *q = buf;
		assert_int_equal(*q++, 'M');
		x = (int)strtol(q, &q, 10);
		assert_int_equal(*q++, ' ');
		y = (int)strtol(q, &q, 10);
		assert_int_equal(*q++, 'h');
		w1 = (int)strtol(q, &q, 10);
		assert_true(strncmp(q, "v1h-", 4) == 0);
		q += 4;
		w2 = (int)strtol(q, &q, 10);
		assert_int_equal(*q, '\0');
		assert_int_equal(w1, w2);
		assert_true(w1 > 0 && x >= 0 && y >= 0 && x + w1 <= n && y < n);
		for (int i = 0; i < w1; i++) {
			assert_int_equal(grid[y * n + x + i], 0); /* runs never overlap */
			grid[y * n + x + i] = 1;
		}
		d = end + 1;
	}
	for (int y = 0; y < n; y++) {
		for (int x = 0; x < n; x++) {
			int qx = x - QR_QUIET_ZONE, qy = y - QR_QUIET_ZONE;
			int want = 0;
			if (qx >= 0 && qy >= 0 && qx < qr->width && qy < qr->width)
				want = qr->data[qy * qr->width + qx] & 1;
			assert_int_equal(grid[y * n + x], want);
		}
	}
	free(grid);
}

/* Renders text and checks everything against libqrencode's symbol; returns its version. */
static int render_and_check(const char *text)
{
	char *svg = NULL;
	size_t len = 0;
	assert_int_equal(qr_svg(text, "QR code", &svg, &len), NP_OK);
	assert_non_null(svg);
	assert_int_equal(strlen(svg), len);
	check_structure(svg);

	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	assert_non_null(qr);
	/* The width a version has (ISO/IEC 18004: 17 + 4 per version) plus a quiet zone of
	 * 4 modules on each side. */
	int n = 17 + 4 * qr->version + 2 * 4;
	assert_int_equal(qr->width, 17 + 4 * qr->version);
	char viewbox[64];
	snprintf(viewbox, sizeof(viewbox), " viewBox=\"0 0 %d %d\"", n, n);
	assert_non_null(strstr(svg, viewbox));
	assert_int_equal(attr_int(svg, "width"), n * QR_MODULE_PX);
	assert_int_equal(attr_int(svg, "height"), n * QR_MODULE_PX);
	assert_non_null(strstr(svg, " role=\"img\""));
	assert_non_null(strstr(svg, " aria-label=\"QR code\""));
	check_modules(svg, qr);
	int version = qr->version;
	QRcode_free(qr);
	free(svg);
	return version;
}

static void test_uri_rendered(void **state)
{
	(void)state;
	int v = render_and_check(URI);
	/* 135 bytes: version 7 holds 122 bytes at level M, version 8 holds 152; packing the
	 * 32 base32 characters as alphanumerics saves about 10 bytes, not enough for 7. */
	assert_int_equal(v, 8);
	assert_int_equal(render_and_check("x"), 1);
}

/* The largest text that still fits, all bytes mode (lower case, so no alphanumeric runs):
 * version 40, whose SVG is the largest qr_svg writes. */
static void test_largest(void **state)
{
	(void)state;
	char *text = malloc(QR_TEXT_MAX + 1);
	assert_non_null(text);
	for (size_t i = 0; i < QR_TEXT_MAX; i++)
		text[i] = (char)('a' + i % 26);
	text[QR_TEXT_MAX] = '\0';
	assert_int_equal(render_and_check(text), 40);
	free(text);
}

static void test_too_long_refused(void **state)
{
	(void)state;
	char *text = malloc(QR_TEXT_MAX + 2);
	assert_non_null(text);
	memset(text, 'a', QR_TEXT_MAX + 1);
	text[QR_TEXT_MAX + 1] = '\0';
	char *svg = (char *)1;
	size_t len = 7;
	assert_int_equal(qr_svg(text, "QR code", &svg, &len), NP_ETOOBIG);
	assert_null(svg);
	assert_int_equal(len, 0);
	/* Far too long. */
	char *big = malloc(100000);
	assert_non_null(big);
	memset(big, 'a', 99999);
	big[99999] = '\0';
	assert_int_equal(qr_svg(big, "QR code", &svg, &len), NP_ETOOBIG);
	assert_null(svg);
	free(big);
	free(text);
}

static void test_label(void **state)
{
	(void)state;
	char *svg = NULL;
	size_t len = 0;
	assert_int_equal(qr_svg("x", "Scan \"this\" <code> & 'go'", &svg, &len), NP_OK);
	check_structure(svg);
	assert_non_null(
	    strstr(svg, " aria-label=\"Scan &quot;this&quot; &lt;code&gt; &amp; &#39;go&#39;\""));
	free(svg);

	assert_int_equal(qr_svg("x", "", &svg, &len), NP_EINVAL);
	assert_null(svg);
	assert_int_equal(qr_svg("x", "a\nb", &svg, &len), NP_EINVAL);
	assert_int_equal(qr_svg("x", "a\x7f", &svg, &len), NP_EINVAL);
	char label[QR_LABEL_MAX + 2];
	memset(label, 'l', sizeof(label) - 1);
	label[sizeof(label) - 1] = '\0';
	assert_int_equal(qr_svg("x", label, &svg, &len), NP_EINVAL);
	label[QR_LABEL_MAX] = '\0';
	assert_int_equal(qr_svg("x", label, &svg, &len), NP_OK);
	free(svg);
	assert_int_equal(qr_svg("", "QR code", &svg, &len), NP_EINVAL);
	assert_null(svg);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--svg") == 0) {
		char *svg = NULL;
		size_t len = 0;
		if (qr_svg(argv[2], "QR code", &svg, &len) != NP_OK)
			return 1;
		fwrite(svg, 1, len, stdout);
		free(svg);
		return 0;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uri_rendered),
	    cmocka_unit_test(test_largest),
	    cmocka_unit_test(test_too_long_refused),
	    cmocka_unit_test(test_label),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
