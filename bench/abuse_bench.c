/* SPDX-License-Identifier: MIT */
/* Benchmark of the abuse checks an update pays (bench/README.md, "Abuse checks"), with
 * 1,000,000 names: the budgets (one take of a host, a token and a source key, each update
 * another name), the flux judgement exactly as the writer runs it (abuse_judge: the
 * host's state, its history in the window, ASN lookups in a 500,000-range ip2asn table,
 * the stored score), and what a tracked name costs: in memory (the budget table) and in
 * the store (its abuse_hosts row). Run through bench/abuse.sh. */
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "abuse/abuse.h"
#include "abuse/budget.h"
#include "common/config.h"
#include "common/log.h"
#include "store/abuse.h"
#include "store/store.h"

#define N_NAMES    1000000u
#define N_JUDGED   20000u  /* hosts judged per history depth */
#define ASN_RANGES 500000u /* about the size of iptoasn.com's IPv4 table */
#define NOW        ((int64_t)1764547200)

static uint64_t ns_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &res) != 2)
		res = 0;
	fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static long long file_bytes(const char *dir)
{
	long long total = 0;
	static const char *const names[] = {"nameplate.db", "nameplate.db-wal"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char p[PATH_MAX + 32];
		struct stat sb;
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		if (stat(p, &sb) == 0)
			total += sb.st_size;
	}
	return total;
}

static void die(const char *what, int ret)
{
	fprintf(stderr, "abuse_bench: %s: %s\n", what, np_strerror(ret));
	exit(1);
}

static void check(const char *what, int ret)
{
	if (ret != NP_OK)
		die(what, ret);
}

/* The budgets: one take per update, as dyndns2 makes it, each update another of N_NAMES
 * names (the table keeps the 65,536 most recent), tokens and sources spread. */
static void bench_budgets(void)
{
	struct budget_limits l = {.window = 120,
	                          .scope = {{60000, 60000}, {60000, 60000}, {60000, 60000}}};
	long before = rss_kib();
	struct budget *b;
	check("budget_new", budget_new(&b, ABUSE_BUDGET_ENTRIES, &l));
	uint64_t t0 = ns_now();
	unsigned refused = 0;
	for (unsigned i = 0; i < N_NAMES; i++) {
		char host[64], token[16];
		snprintf(host, sizeof(host), "h%u.dyn.example", i);
		snprintf(token, sizeof(token), "t%06u", i % 5000);
		struct np_addr src = {.family = AF_INET};
		uint32_t v4 = 0x0a000000u | (i * 2654435761u >> 8);
		memcpy(src.bytes, &v4, 4);
		struct budget_key k[3] = {budget_key_host(b, host), budget_key_token(b, token),
		                          budget_key_source(b, &src)};
		refused += budget_take(b, k, 3, NOW + i / 1000) != 0;
	}
	uint64_t t1 = ns_now();
	long after = rss_kib();
	printf("budgets: %u updates of %u names (3 keys each): %.0f ns per update, %u refused\n",
	       N_NAMES, N_NAMES, (double)(t1 - t0) / N_NAMES, refused);
	printf("budgets: table of %u keys: %ld KiB resident, %.0f bytes per tracked key; fixed "
	       "whatever the number of names (the least recently used key makes room)\n",
	       ABUSE_BUDGET_ENTRIES, after - before,
	       (double)(after - before) * 1024 / ABUSE_BUDGET_ENTRIES);
	budget_free(b);
}

/* An ip2asn table of ASN_RANGES ranges from 10.0.0.0 (each /24 a range, 1000 ASes) and a
 * CGNAT provider's 100.64.0.0/10, in iptoasn.com's TSV form. */
static void write_asn(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		die("ip2asn file", NP_EIO);
	for (unsigned i = 0; i < ASN_RANGES; i++) {
		unsigned a = 10 + i / 65536, b = (i / 256) % 256, c = i % 256;
		fprintf(f, "%u.%u.%u.0\t%u.%u.%u.255\t%u\tZZ\tAS-%u\n", a, b, c, a, b, c,
		        64512 + (a * 256 + b) % 1000, (a * 256 + b) % 1000);
	}
	fprintf(f, "100.64.0.0\t100.127.255.255\t64999\tZZ\tCGNAT-ISP\n");
	fclose(f);
}

int main(void)
{
	char base[] = "/tmp/np-abuse-bench-XXXXXX", dir[PATH_MAX], conf[PATH_MAX], asn[PATH_MAX];
	if (mkdtemp(base) == NULL)
		die("mkdtemp", NP_EIO);
	snprintf(dir, sizeof(dir), "%s/var", base);
	snprintf(conf, sizeof(conf), "%s/nameplate.conf", base);
	snprintf(asn, sizeof(asn), "%s/ip2asn.tsv", base);
	printf("abuse checks, %u names\n", N_NAMES);
	log_set_level(LOG_ERR); /* the flux rows are held on purpose: no warning for each */

	bench_budgets();

	/* The flux judgement as nameplated runs it: the [abuse] defaults, the table above. */
	write_asn(asn);
	FILE *f = fopen(conf, "w");
	if (f == NULL)
		die("config", NP_EIO);
	fprintf(f,
	        "[server]\ndata_dir = %s\n\n[dns]\nlisten = 127.0.0.1@5353\n\n[abuse]\nasn_db = "
	        "%s\n\n[zone dyn.example]\n"
	        "ns = ns1.dyn.example\ncontact = hostmaster.dyn.example\n",
	        dir, asn);
	fclose(f);
	static struct config cfg;
	char err[512];
	if (config_load(conf, &cfg, err, sizeof(err)) != NP_OK) {
		fprintf(stderr, "abuse_bench: %s\n", err);
		return 1;
	}
	struct abuse *a;
	uint64_t t0 = ns_now();
	check("abuse_new", abuse_new(&a, &cfg));
	printf("ip2asn: %u ranges loaded in %.0f ms\n", ASN_RANGES, (ns_now() - t0) / 1e6);

	struct store *st;
	check("store_open", store_open(dir, true, &st));
	int64_t uid;
	check("begin", store_begin(st));
	check("user", store_user_add(st, "bench", &uid));
	t0 = ns_now();
	for (unsigned i = 0; i < N_NAMES; i++) {
		struct store_host h = {.user_id = uid};
		snprintf(h.fqdn, sizeof(h.fqdn), "h%u.dyn.example", i);
		snprintf(h.zone, sizeof(h.zone), "dyn.example");
		int64_t id;
		check("host", store_host_add(st, &h, &id));
	}
	check("commit", store_commit(st));
	printf("store: %u hosts in %.1f s, %lld MB\n", N_NAMES, (ns_now() - t0) / 1e9,
	       file_bytes(dir) / 1000000);

	/* Histories: N_JUDGED hosts for each depth: a home line (3 changes in the window), a
	 * CGNAT or mobile line (24 in a day, one provider), and flux at the read bound. */
	static const unsigned depth[] = {3, 24, 2000};
	for (size_t d = 0; d < sizeof(depth) / sizeof(depth[0]); d++) {
		unsigned n_hosts = depth[d] >= 2000 ? N_JUDGED / 20 : N_JUDGED;
		unsigned first = 1 + (unsigned)d * N_JUDGED;
		check("begin", store_begin(st));
		for (unsigned i = 0; i < n_hosts; i++) {
			char fqdn[64];
			snprintf(fqdn, sizeof(fqdn), "h%u.dyn.example", first + i);
			for (unsigned k = 0; k < depth[d]; k++) {
				/* Home and CGNAT lines: one provider, one /16; flux: ASes all over. */
				char addr[32];
				if (depth[d] < 2000)
					snprintf(addr, sizeof(addr), "100.64.%u.%u", k % 250,
					         1 + i % 250);
				else
					snprintf(addr, sizeof(addr), "%u.%u.%u.%u", 10 + k % 7,
					         k % 256, i % 256, 1 + k % 250);
				/* h<n> is host id n + 1: ids start at 1 with h0. */
				struct store_history h = {.host_id = (int64_t)(first + i + 1),
				                          .fqdn = fqdn,
				                          .time = NOW - 86000 +
				                                  (int64_t)k * 86000 / depth[d],
				                          .source = "",
				                          .old_addr = "",
				                          .new_addr = addr,
				                          .protocol = "dyndns2"};
				check("history", store_history_add(st, &h));
			}
		}
		check("commit", store_commit(st));
		/* Each judged in its own transaction, as the writer's batch of one update. */
		t0 = ns_now();
		unsigned raised = 0;
		check("begin", store_begin(st));
		for (unsigned i = 0; i < n_hosts; i++) {
			struct store_host h;
			char fqdn[64];
			snprintf(fqdn, sizeof(fqdn), "h%u.dyn.example", first + i);
			check("host get", store_host_get(st, fqdn, &h));
			struct np_addr cand = {.family = AF_INET, .bytes = {100, 64, 251, 1}};
			int state;
			check("judge", abuse_judge(a, st, &h, &cand, 1, NOW, &state));
			raised += state != STORE_ABUSE_OK;
		}
		uint64_t t1 = ns_now();
		check("commit", store_commit(st));
		printf(
		    "flux judgement, %4u changes in the window: %7.1f us per update (%u hosts, %u "
		    "not ok)\n",
		    depth[d], (double)(t1 - t0) / 1e3 / n_hosts, n_hosts, raised);
	}

	/* A scored name in the store: its abuse_hosts row, for all N_NAMES (the pages of the
	 * table, by SQLite's dbstat). */
	check("begin", store_begin(st));
	for (unsigned i = 1; i <= N_NAMES; i++)
		check("score", store_abuse_set_score(st, i, 12.5, "",
		                                     "{\"addrs\":3,\"asns\":1,\"nets\":1,"
		                                     "\"changes\":3,\"changes_hour\":1,"
		                                     "\"shared_accounts\":0,\"feed_hits\":0,"
		                                     "\"holz\":22.5,\"score\":22.5}",
		                                     NOW));
	check("commit", store_commit(st));
	store_close(st);
	char db_path[PATH_MAX + 16];
	snprintf(db_path, sizeof(db_path), "%s/nameplate.db", dir);
	sqlite3 *db;
	sqlite3_stmt *q;
	long long bytes = -1;
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT SUM(pgsize) FROM dbstat WHERE name = 'abuse_hosts'", -1,
	                       &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			bytes = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
	printf("store: a scored name's abuse_hosts row: %.0f bytes on disk (%u names: %lld MB); "
	       "in memory: nothing per name (SQLite's page cache is bounded)\n",
	       (double)bytes / N_NAMES, N_NAMES, bytes / 1000000);
	abuse_free(a);
	static const char *const files[] = {"var/nameplate.db",     "var/nameplate.db-wal",
	                                    "var/nameplate.db-shm", "var",
	                                    "nameplate.conf",       "ip2asn.tsv"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char p[PATH_MAX + 32];
		snprintf(p, sizeof(p), "%s/%s", base, files[i]);
		if (remove(p) != 0 && i < 3)
			continue; /* the WAL and shm may be gone already */
	}
	if (rmdir(base) != 0)
		fprintf(stderr, "abuse_bench: %s is left behind\n", base);
	return 0;
}
