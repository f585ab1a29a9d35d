/* SPDX-License-Identifier: MIT */
/* Files compiled into the binary: templates/ (the page templates, see http/template.h) and
 * static/ (what /static/ serves). scripts/embed.sh writes the arrays into
 * $(BUILD)/gen/embed.c at build time; nothing is read from the disk at run time. */
#ifndef NP_HTTP_EMBED_H
#define NP_HTTP_EMBED_H

#include <stddef.h>

struct embed_file {
	const char *name; /* the file name in its folder: "layout.html", "style.css" */
	const char *data; /* its bytes, NUL-terminated (the NUL is not counted in len) */
	size_t len;
	const char *version; /* a checksum of the bytes (cksum), for cache-busting URLs */
};

extern const struct embed_file embed_templates[];
extern const size_t embed_templates_count;
extern const struct embed_file embed_static[];
extern const size_t embed_static_count;

#endif
