/* SPDX-License-Identifier: MIT */
/* The report `nameplate audit` sends (POST /api/v1/hosts/FQDN/audit): its shape and bounds,
 * checked whole before anything is kept (docs/audit.md lists them). Pure; unit-tested and
 * fuzzed. */
#ifndef NP_HTTP_AUDIT_REPORT_H
#define NP_HTTP_AUDIT_REPORT_H

#include <jansson.h>
#include <stdbool.h>

/* Bounds of a report (beside the API's 64 KiB body): findings, and each text. */
#define AUDIT_REPORT_MAX_FINDINGS 256 /* the client's AUDIT_MAX_FINDINGS */
#define AUDIT_ID_MAX              32
#define AUDIT_KEY_MAX             160
#define AUDIT_TITLE_MAX           256
#define AUDIT_REMEDY_MAX          1024
#define AUDIT_EVIDENCE_MAX        16 /* members of one finding's evidence */
#define AUDIT_EVIDENCE_KEY_MAX    32
#define AUDIT_EVIDENCE_VALUE_MAX  512 /* an IGD's URL (the client keeps 511 bytes) */

/* Why a report was refused: 400 bad_request for the shape (a member unknown, missing, of
 * the wrong type, too long, or holding a control character), 422 bad_report for a value
 * (grade, severity, layer, id) or 422 too_many for the findings' count. */
struct audit_report_error {
	unsigned status;
	char code[16];
	char msg[200];
};

/* Whether rep (the parsed body; NULL when there was none) is a report the server keeps;
 * false with *e set. */
bool audit_report_check(const json_t *rep, struct audit_report_error *e);

#endif
