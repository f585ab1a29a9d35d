/* SPDX-License-Identifier: MIT */
/* GET /static/<name>: the files of static/ compiled into the binary (http/embed.h). The
 * name after /static/ must be one of them exactly, so no path reaches the file system and
 * nothing but those files is ever served: anything else, "..", "/" or "%2f" included, is
 * 404. Pages link /static/<name>?v=<checksum>; a request naming the current checksum may be
 * cached for good, any other must be revalidated. */
#include <string.h>

#include "http/embed.h"
#include "http/http_int.h"
#include "http/static.h"

#define STATIC_PREFIX "/static/"

/* The types of what static/ may hold; a file of another kind is never served (a unit test
 * checks that every embedded one has its type). */
static const struct {
	const char *ext, *type;
} types[] = {
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
};

const char *static_type(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);
		if (n > e && strcmp(name + n - e, types[i].ext) == 0)
			return types[i].type;
	}
	return NULL;
}

const struct embed_file *static_find(const char *url, const char **type)
{
	if (strncmp(url, STATIC_PREFIX, strlen(STATIC_PREFIX)) != 0)
		return NULL;
	const char *name = url + strlen(STATIC_PREFIX);
	for (size_t i = 0; i < embed_static_count; i++) {
		if (strcmp(embed_static[i].name, name) != 0)
			continue;
		*type = static_type(name);
		return *type != NULL ? &embed_static[i] : NULL;
	}
	return NULL;
}

enum MHD_Result static_serve(struct http_request *r)
{
	struct MHD_Connection *c = r->conn;
	const char *type = NULL;
	const struct embed_file *f = static_find(r->url, &type);
	if (f == NULL)
		return http_reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "v");
	bool current = v != NULL && strcmp(v, f->version) == 0;
	/* The bytes are in the binary for its whole life: no copy. */
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	enum MHD_Result ok = MHD_YES;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	                            current ? "public, max-age=31536000, immutable" : "no-cache") !=
	        MHD_YES ||
	    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES)
		ok = MHD_NO;
	if (ok == MHD_YES)
		ok = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ok;
}
