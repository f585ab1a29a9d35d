/* SPDX-License-Identifier: MIT */
/* QR code to SVG: libqrencode lays out the symbol, this file writes the dark modules as one
 * path, row by row, one rectangle per run. */
#include "http/qr.h"

#include <errno.h>
#include <qrencode.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

/* The output buffer: sized up front from the symbol's width, so it never grows; put()
 * still checks, and a write that would not fit marks the whole rendering failed. */
struct out {
	char *p;
	size_t len;
	size_t cap;
	bool full;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	if (o->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->full = true;
		return;
	}
	o->len += (size_t)n;
}

/* The label as an XML attribute value: the five special characters escaped. Control
 * characters are refused before (XML 1.0 cannot hold most of them). */
static void put_escaped(struct out *o, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			put(o, "&amp;");
			break;
		case '<':
			put(o, "&lt;");
			break;
		case '>':
			put(o, "&gt;");
			break;
		case '"':
			put(o, "&quot;");
			break;
		case '\'':
			put(o, "&#39;");
			break;
		default:
			put(o, "%c", *s);
		}
	}
}

static bool label_ok(const char *label)
{
	size_t len = strlen(label);
	if (len == 0 || len > QR_LABEL_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)label[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

int qr_svg(const char *text, const char *label, char **svg, size_t *svglen)
{
	*svg = NULL;
	*svglen = 0;
	size_t tlen = strlen(text);
	if (tlen == 0 || !label_ok(label))
		return NP_EINVAL;
	if (tlen > QR_TEXT_MAX)
		return NP_ETOOBIG;
	/* QR_MODE_8 with case kept: URIs are UTF-8 and case matters in them; libqrencode still
	 * packs runs of digits or upper-case letters (the base32 secret) more tightly. */
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (qr == NULL) {
		/* ERANGE: more than version 40 holds (the limit above should have caught it). */
		if (errno == ENOMEM)
			return NP_ENOMEM;
		return errno == ERANGE ? NP_ETOOBIG : NP_EINVAL;
	}

	int w = qr->width;
	int n = w + 2 * QR_QUIET_ZONE;
	/* A run is at most "M999 999h999v1h-999z" (20 bytes), a row holds at most (w+1)/2
	 * runs; the fixed text and the escaped label (6 bytes a character at most) come on
	 * top. */
	struct out o = {.cap = 512 + 6 * strlen(label) + (size_t)w * (size_t)((w + 1) / 2) * 20};
	o.p = malloc(o.cap);
	if (o.p == NULL) {
		QRcode_free(qr);
		return NP_ENOMEM;
	}
	put(&o,
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
	    "height=\"%d\" role=\"img\" aria-label=\"",
	    n, n, n * QR_MODULE_PX, n * QR_MODULE_PX);
	put_escaped(&o, label);
	/* A white ground of its own: the code must scan on a dark page too. */
	put(&o,
	    "\" shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>", n,
	    n);
	put(&o, "<path fill=\"#000\" d=\"");
	for (int y = 0; y < w; y++) {
		const unsigned char *row = qr->data + (size_t)y * (size_t)w;
		for (int x = 0; x < w;) {
			/* Bit 0 of a module is its colour; the other bits say what it is part of. */
			if ((row[x] & 1) == 0) {
				x++;
				continue;
			}
			int start = x;
			while (x < w && (row[x] & 1) != 0)
				x++;
			put(&o, "M%d %dh%dv1h-%dz", start + QR_QUIET_ZONE, y + QR_QUIET_ZONE,
			    x - start, x - start);
		}
	}
	put(&o, "\"/></svg>");
	QRcode_free(qr);
	if (o.full) {
		free(o.p);
		return NP_ENOMEM;
	}
	*svg = o.p;
	*svglen = o.len;
	return NP_OK;
}
