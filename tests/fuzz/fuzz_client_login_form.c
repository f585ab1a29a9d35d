/* SPDX-License-Identifier: MIT */
/* Fuzz target: raw bytes as a LAN device's login page (what --credentials reads), through
 * the form finder; a form it finds must be one the audit may post to: a path on the same
 * device, both field names, the hidden fields within their bound. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/audit.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *html = malloc(size + 1);
	if (html == NULL)
		return 0;
	memcpy(html, data, size);
	html[size] = '\0';
	struct audit_login_form f;
	bool found = audit_login_form_find(html, "/login.html", &f);
	bool pw = audit_html_has_password(html);
	if (found) {
		CHECK(pw);
		CHECK(f.action[0] == '/' && strstr(f.action, "//") == NULL);
		CHECK(strchr(f.action, ':') == NULL);
		CHECK(f.user[0] != '\0' && f.pass[0] != '\0');
		CHECK(f.n_hidden <= AUDIT_FORM_FIELDS_MAX);
		CHECK(strlen(f.action) < sizeof(f.action) && strlen(f.user) < sizeof(f.user));
	}
	free(html);
	return 0;
}
