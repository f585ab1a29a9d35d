/* SPDX-License-Identifier: MIT */
/* Fuzz target: raw bytes as the body of POST /api/v1/hosts/FQDN/audit, parsed as the API
 * does, through the report's check; a report it passes must hold what the server relies
 * on (a grade A-F, at most AUDIT_REPORT_MAX_FINDINGS findings, each with a key). */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "http/audit_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *rep = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (rep == NULL || !json_is_object(rep)) {
		json_decref(rep);
		return 0;
	}
	struct audit_report_error e;
	memset(&e, 0, sizeof(e));
	if (audit_report_check(rep, &e)) {
		const char *g = json_string_value(json_object_get(rep, "grade"));
		const json_t *fs = json_object_get(rep, "findings");
		CHECK(g != NULL && strlen(g) == 1 && strchr("ABCDF", g[0]) != NULL);
		CHECK(json_is_array(fs) && json_array_size(fs) <= AUDIT_REPORT_MAX_FINDINGS);
		size_t i;
		const json_t *f;
		json_array_foreach(fs, i, f)
		{
			const char *k = json_string_value(json_object_get(f, "key"));
			CHECK(k != NULL && strlen(k) <= AUDIT_KEY_MAX);
		}
	} else {
		CHECK(e.status == 400 || e.status == 422);
		CHECK(e.code[0] != '\0' && e.msg[0] != '\0');
	}
	json_decref(rep);
	return 0;
}
