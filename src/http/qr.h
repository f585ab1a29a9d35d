/* SPDX-License-Identifier: MIT */
/* QR codes as inline SVG (libqrencode): the otpauth:// URI a person scans to add an
 * account's second factor to an authenticator app. */
#ifndef NP_HTTP_QR_H
#define NP_HTTP_QR_H

#include <stddef.h>

#include "common/err.h"

/* Light modules around the symbol, as ISO/IEC 18004 asks: scanners need them to find it. */
#define QR_QUIET_ZONE 4
/* Pixels per module in the width and height attributes (the page may scale the image). */
#define QR_MODULE_PX 4
/* Longest text encoded. Error correction level M holds at most 2331 bytes (version 40);
 * anything longer is refused before libqrencode sees it. */
#define QR_TEXT_MAX 2331
/* Longest aria-label (bytes, before escaping). */
#define QR_LABEL_MAX 256

/* Renders text (NUL-terminated, at most QR_TEXT_MAX bytes) as a QR code at error
 * correction level M, in the smallest version libqrencode finds for it, as one
 * self-contained SVG element:
 *
 *   <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 N N" width="W" height="W"
 *        role="img" aria-label="LABEL" shape-rendering="crispEdges">
 *   <rect width="N" height="N" fill="#fff"/><path fill="#000" d="..."/></svg>
 *
 * N is the symbol's width in modules plus the quiet zone on both sides, one user unit per
 * module; W is N * QR_MODULE_PX. The path holds every dark module (one rectangle per run of
 * dark modules in a row). Colours are presentation attributes, never style attributes or
 * elements, and there is no script, link or external reference, so the element may be
 * inlined into a page under a Content-Security-Policy without 'unsafe-inline'.
 *
 * label (UTF-8, 1 to QR_LABEL_MAX bytes, no control character) is the aria-label, escaped
 * for an XML attribute. On NP_OK *svg is a NUL-terminated string the caller frees with
 * free(), *svglen its length. NP_EINVAL for empty text or a refused label; NP_ETOOBIG for
 * text a QR code cannot hold; NP_ENOMEM. *svg is NULL on failure. */
int qr_svg(const char *text, const char *label, char **svg, size_t *svglen) np_mustcheck;

#endif
