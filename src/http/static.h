/* SPDX-License-Identifier: MIT */
/* The embedded static files (static/) as /static/ serves them; static_serve itself is in
 * http/http_int.h with the other endpoints. */
#ifndef NP_HTTP_STATIC_H
#define NP_HTTP_STATIC_H

#include "http/embed.h"

/* The Content-Type of a static file by its name's extension; NULL: not one that is served. */
const char *static_type(const char *name);
/* The embedded file a request path names ("/static/style.css": exactly a file's name after
 * the prefix) and its type; NULL when there is none. */
const struct embed_file *static_find(const char *url, const char **type);

#endif
