/* SPDX-License-Identifier: MIT */
/* nameplatectl import pcap|cowrie FILE and observe show ADDRESS.
 *
 * An import classifies what the file holds into a local observation index (the server's
 * rules and bounds), then writes the index's address records into the store's
 * observation inbox in one transaction: all or nothing. nameplated merges the inbox
 * within a second when it runs, else at its next start.
 *
 * Time: events older than the wall clock minus the retention window are skipped and
 * counted as stale (the server would drop them when merging), as are events more than
 * max_clock_skew in the future. Within that, the local index's "now" follows the newest
 * event time, so a long capture is pruned relative to its own time, not the clock's.
 *
 * Speed (bench/import.sh): a capture has millions of packets from far fewer addresses.
 * A reader thread reads records in place (obs_pcap_next), parses (the parser's
 * Ethernet/IPv4/TCP fast path) and classifies them into 16-byte entries, CHUNK_EVENTS to a
 * chunk (the first one smaller, so folding starts early), while this thread folds the
 * previous chunk: radix-sorted by address, then walked beside the sorted run of
 * per-address hourly buckets accumulated so far, each address's packets counted onto its
 * hours as the index counts events (import_fold.h): linear passes over arrays instead of a
 * hash index lookup (cache misses, an allocation) per address and chunk. Folding is the
 * longer part, so it runs on two threads: the reader puts each packet into one of two
 * halves of its chunk by a hash bit of the address (imp_part_of()), and this thread and a
 * helper each sort and fold one half into its own run (disjoint addresses), meeting
 * after every chunk for the address cap. Aggregates and
 * retention rules are the index's; at the address cap the most recently active addresses
 * are kept (import_fold.h says how this differs from the index's LRU eviction). Two chunks
 * and a sort buffer: 48 MiB touched (each half has room for a whole chunk, in virtual
 * memory: a chunk's packets may all fall in one), plus the runs (~24 bytes per address, 84 per hourly bucket,
 * twice while merging). Packets in hours that ended before the newest packet so far minus
 * the retention window are dropped by the fold without being counted as stale (time_ok()
 * already skipped those the server would drop). Records go to the inbox in the compact
 * form (codec.h), encoded in place, by the hour of their last packet, oldest first (as
 * obs_index_foreach() orders them: a server at its cap then keeps the recent ones).
 * Cowrie logs (few lines, credential pairs) go through a local obs_index instead.
 * The summary's "read" time is the reading not hidden behind folding (the first chunk
 * and waits), "fold" the folding, "write" encoding and storing, "commit" its part that
 * makes it durable.
 *
 * Testing only: NP_IMPORT_CHUNK_EVENTS=N (1 .. CHUNK_EVENTS) hands chunks over every N
 * packets, so small captures exercise the merge of many chunks. */
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/macros.h"
#include "common/str.h"
#include "ctl/ctl.h"
#include "ctl/import_fold.h"
#include "observe/codec.h"
#include "observe/cowrie.h"
#include "observe/index.h"
#include "observe/packet.h"
#include "observe/pcap_read.h"

#define ROW_MAX         (4u << 20) /* bytes of records per inbox row */
#define BAD_LINES_SHOWN 5
#define PRUNE_STEP      60         /* seconds of event time between prunes of the local index */
#define PROGRESS_MS     100        /* redraw at most 10 times a second */
#define PROGRESS_EVERY  4096       /* packets or lines between clock reads */
#define CHUNK_EVENTS    (1u << 20) /* packet entries sorted at a time: 3 x 16 MiB */
#define FIRST_CHUNK_DIV 8          /* the first chunk is CHUNK_EVENTS / 8 */
#define RADIX_BITS      11         /* 3 passes cover an IPv4 key; the counts (56 KiB) stay in L2 */
#define RADIX           (1u << RADIX_BITS)
#define PASSES          6 /* ceil(65 / RADIX_BITS): the 64-bit key and the family bit */

/* Packets collected by the reader, folded by the folder: half h holds the packets of the
 * addresses of part h (imp_part_of()), in file order. */
struct chunk {
	struct imp_pkt *e[IMP_PARTS]; /* CHUNK_EVENTS each */
	size_t ne[IMP_PARTS];
	size_t n;    /* in all halves */
	int64_t max; /* the newest packet time in it */
};

/* The second folding thread: sorts and folds half 1 of a chunk while the main thread does
 * half 0. One job at a time: the main thread posts it and waits for it within
 * flush_chunk(). */
struct helper {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct importer *im;
	struct chunk *job; /* posted; NULL when none */
	int64_t cutoff;
	bool busy; /* job posted and not yet folded */
	bool quit;
	int ret; /* of the last job */
};

/* The hand-off between the reader thread (read, parse, classify into a chunk) and the
 * folding thread (sort, fold into the run): two chunks, one filling while the other
 * folds. */
struct pipe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct chunk chunks[2];
	struct chunk *full;  /* handed to the folder; NULL when none waits */
	struct chunk *empty; /* free for the reader; NULL when both are taken */
	bool done;           /* the reader finished (read_ret says how) */
	bool stop;           /* the folder failed: the reader stops at its next hand-off */
	int read_ret;
};

/* The progress bar on stderr: bytes read of the file, rate, ETA. */
struct progress {
	bool on;
	int64_t size;
	int64_t start_ms, last_ms;
	uint32_t tick;
};

struct importer {
	struct ctl *c;
	const char *format; /* "pcap" or "cowrie" */
	const char *path;
	struct obs_index *ix;         /* cowrie */
	struct imp_fold fold;         /* pcap */
	int64_t oldest_ok, newest_ok; /* event times outside are skipped */
	int64_t ix_now;
	int64_t first_time, last_time; /* of the events imported */
	struct progress pr;
	FILE *fp;               /* cowrie: the open file */
	struct pipe *pipe;      /* pcap: the reader thread's hand-off */
	struct chunk *cur;      /* pcap: the chunk the reader fills */
	struct helper *helper;  /* pcap: the second folding thread; NULL: fold halves in turn */
	struct imp_pkt *tmp;    /* pcap: the folders' sort buffer, CHUNK_EVENTS (split) */
	size_t (*radix)[RADIX]; /* pcap: the sort's counts, PASSES rows per part */
	size_t chunk_events;    /* pcap: packets per chunk (CHUNK_EVENTS) */
	size_t chunk_limit;     /* pcap: of the chunk being filled (the first is smaller) */
	/* counts */
	uint64_t units; /* packets or lines */
	struct obs_pcap_stats pcap;
	uint64_t bad_lines, ignored_lines, events, stale, future;
	uint64_t kinds[OBS_KIND_COUNT];
	size_t rows, records, bytes;
	int64_t fold_ms, read_ms, write_ms; /* phases; read_ms includes fold_ms */
	int64_t commit_ms;                  /* of write_ms: the durable commit */
};

static void progress_start(struct progress *pr, const char *path)
{
	struct stat sb;
	memset(pr, 0, sizeof(*pr));
	if (!isatty(STDERR_FILENO) || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return;
	pr->on = true;
	pr->size = sb.st_size;
	pr->start_ms = time_mono_ms();
}

static void human(double b, char *out, size_t len)
{
	static const char *const unit[] = {"B", "KB", "MB", "GB", "TB"};
	size_t u = 0;
	while (b >= 1000 && u + 1 < ARRAY_SIZE(unit)) {
		b /= 1000;
		u++;
	}
	snprintf(out, len, "%.1f %s", b, unit[u]);
}

static void progress_draw(struct progress *pr, int64_t pos, int64_t now_ms)
{
	if (pos > pr->size)
		pos = pr->size;
	double frac = pr->size > 0 ? (double)pos / (double)pr->size : 1.0;
	double secs = (double)(now_ms - pr->start_ms) / 1000.0;
	double rate = secs > 0 ? (double)pos / secs : 0;
	char bar[31], done[16], total[16], rbuf[16], eta[48];
	size_t fill = (size_t)(frac * 30);
	for (size_t i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = '\0';
	human((double)pos, done, sizeof(done));
	human((double)pr->size, total, sizeof(total));
	human(rate, rbuf, sizeof(rbuf));
	if (rate > 0 && pos < pr->size) {
		long left = (long)((double)(pr->size - pos) / rate + 0.5);
		snprintf(eta, sizeof(eta), "ETA %ld:%02ld", left / 60, left % 60);
	} else {
		snprintf(eta, sizeof(eta), "%.1f s", secs);
	}
	fprintf(stderr, "\r[%s] %3d%% %s / %s  %s/s  %s  ", bar, (int)(frac * 100), done, total,
	        rbuf, eta);
	pr->last_ms = now_ms;
}

/* Redraws at position pos of the file, at most every PROGRESS_MS. */
static void progress_pos(struct importer *im, int64_t pos)
{
	int64_t now = time_mono_ms();
	if (now - im->pr.last_ms >= PROGRESS_MS)
		progress_draw(&im->pr, pos, now);
}

/* Called per line: reads the clock every PROGRESS_EVERY calls only. */
static void progress_tick(struct importer *im)
{
	struct progress *pr = &im->pr;
	if (!pr->on || ++pr->tick % PROGRESS_EVERY != 0)
		return;
	progress_pos(im, (int64_t)ftello(im->fp));
}

static void progress_end(struct progress *pr)
{
	if (!pr->on)
		return;
	progress_draw(pr, pr->size, time_mono_ms());
	fputc('\n', stderr);
}

/* Counts an event and says whether its time is one the server would keep. */
static bool time_ok(struct importer *im, enum obs_kind kind, int64_t t)
{
	im->events++;
	im->kinds[kind]++;
	if (t < im->oldest_ok) {
		im->stale++;
		return false;
	}
	if (t > im->newest_ok) {
		im->future++;
		return false;
	}
	if (im->first_time == 0 || t < im->first_time)
		im->first_time = t;
	if (t > im->last_time)
		im->last_time = t;
	return true;
}

/* One classified event straight into the local index (Cowrie: few lines, with pairs). */
static int take_event(struct importer *im, const struct obs_event *ev)
{
	if (!time_ok(im, ev->kind, ev->time))
		return NP_OK;
	if (ev->time > im->ix_now + PRUNE_STEP) {
		obs_index_prune(im->ix, ev->time);
		im->ix_now = ev->time;
	}
	return obs_index_add(im->ix, ev);
}

/* The digit of pass d: RADIX_BITS of (key, v6) as a 65-bit number, v6 highest. */
static unsigned digit(const struct imp_pkt *p, unsigned d)
{
	unsigned shift = d * RADIX_BITS;
	uint64_t v = shift < 64 ? p->key >> shift : 0;
	if (shift + RADIX_BITS > 64)
		v |= (uint64_t)p->v6 << (64 - shift);
	return (unsigned)v & (RADIX - 1);
}

/* Stable LSD radix sort of a[0..n) by (v6, key), through tmp; returns where the sorted
 * entries are (a or tmp). Passes whose digit is the same in every entry are skipped, so
 * IPv4-only captures take three passes. */
static struct imp_pkt *sort_pkts(struct imp_pkt *a, struct imp_pkt *tmp, size_t n,
                                 size_t (*count)[RADIX])
{
	memset(count, 0, PASSES * sizeof(*count));
	for (size_t i = 0; i < n; i++)
		for (unsigned d = 0; d < PASSES; d++)
			count[d][digit(&a[i], d)]++;
	for (unsigned d = 0; d < PASSES; d++) {
		size_t *c = count[d];
		if (c[digit(&a[0], d)] == n)
			continue; /* one digit value throughout */
		size_t sum = 0;
		for (unsigned k = 0; k < RADIX; k++) {
			size_t x = c[k];
			c[k] = sum;
			sum += x;
		}
		for (size_t i = 0; i < n; i++)
			tmp[c[digit(&a[i], d)]++] = a[i];
		struct imp_pkt *t = a;
		a = tmp;
		tmp = t;
	}
	return a;
}

/* Sorts half h of c by address and folds it into part h's run. The halves' sort buffers
 * and counts are disjoint: tmp[0 .. ne[0]) and tmp[ne[0] ..), radix rows per part. */
static int fold_half(struct importer *im, struct chunk *c, unsigned h, int64_t cutoff)
{
	struct imp_pkt *tmp = im->tmp + (h == 0 ? 0 : c->ne[0]);
	struct imp_pkt *a = c->e[h];
	if (c->ne[h] > 0)
		a = sort_pkts(a, tmp, c->ne[h], im->radix + h * PASSES);
	return imp_fold_part(&im->fold, h, a, c->ne[h], cutoff);
}

static void *helper_main(void *arg)
{
	struct helper *hp = arg;
	pthread_mutex_lock(&hp->mu);
	/* Bounded by the chunks: one job per chunk, then quit. */
	for (;;) {
		while (hp->job == NULL && !hp->quit)
			pthread_cond_wait(&hp->cv, &hp->mu);
		if (hp->job == NULL)
			break;
		struct chunk *c = hp->job;
		int64_t cutoff = hp->cutoff;
		pthread_mutex_unlock(&hp->mu);
		int ret = fold_half(hp->im, c, 1, cutoff);
		pthread_mutex_lock(&hp->mu);
		hp->ret = ret;
		hp->job = NULL;
		hp->busy = false;
		pthread_cond_broadcast(&hp->cv);
	}
	pthread_mutex_unlock(&hp->mu);
	return NULL;
}

/* Folds the collected packets: each half sorted by address, then folded and merged into
 * its part's run (import_fold.h), half 1 on the helper thread; then the cap. */
static int flush_chunk(struct importer *im, struct chunk *c)
{
	if (c->n == 0)
		return NP_OK;
	int64_t t0 = time_mono_ms();
	int64_t cutoff = imp_fold_begin(&im->fold, c->max);
	struct helper *hp = im->helper;
	int ret1 = NP_OK;
	if (hp != NULL) {
		pthread_mutex_lock(&hp->mu);
		hp->job = c;
		hp->cutoff = cutoff;
		hp->busy = true;
		pthread_cond_broadcast(&hp->cv);
		pthread_mutex_unlock(&hp->mu);
	}
	int ret = fold_half(im, c, 0, cutoff);
	if (hp != NULL) {
		pthread_mutex_lock(&hp->mu);
		/* Bounded: the helper folds one half and clears busy. */
		while (hp->busy)
			pthread_cond_wait(&hp->cv, &hp->mu);
		ret1 = hp->ret;
		pthread_mutex_unlock(&hp->mu);
	} else {
		ret1 = fold_half(im, c, 1, cutoff);
	}
	if (ret == NP_OK)
		ret = ret1;
	if (ret == NP_OK)
		ret = imp_fold_end(&im->fold, cutoff);
	c->n = c->ne[0] = c->ne[1] = 0;
	c->max = 0;
	im->fold_ms += time_mono_ms() - t0;
	return ret;
}

/* Reader side: hands the current chunk (full, or the last one when done) to the folder
 * and takes the free one. Returns NP_OK, or the folder's failure (then stop reading). */
static int handoff(struct importer *im, bool done, int read_ret)
{
	struct pipe *pp = im->pipe;
	int ret = NP_OK;
	pthread_mutex_lock(&pp->mu);
	/* Bounded: the folder empties full in one fold, or sets stop. */
	while (pp->full != NULL && !pp->stop)
		pthread_cond_wait(&pp->cv, &pp->mu);
	if (!pp->stop) {
		pp->full = im->cur;
		im->cur = NULL;
		pthread_cond_broadcast(&pp->cv); /* the folder may be waiting for it */
	}
	if (done) {
		pp->done = true;
		pp->read_ret = read_ret;
	} else {
		while (pp->empty == NULL && !pp->stop)
			pthread_cond_wait(&pp->cv, &pp->mu);
		im->cur = pp->empty;
		pp->empty = NULL;
	}
	if (pp->stop)
		ret = NP_EFAILED;
	pthread_cond_broadcast(&pp->cv);
	pthread_mutex_unlock(&pp->mu);
	return ret;
}

/* Appends one classified packet to the chunk; hands the chunk over when it is full. */
static int take_packet(struct importer *im, const struct obs_packet *p, enum obs_kind kind)
{
	if (!time_ok(im, kind, p->time))
		return NP_OK;
	if (p->src.family != AF_INET && p->src.family != AF_INET6)
		return NP_OK;
	struct chunk *c = im->cur;
	bool v6 = p->src.family == AF_INET6;
	uint64_t key = 0;
	for (size_t i = 0; i < (v6 ? 8u : 4u); i++)
		key = key << 8 | p->src.bytes[i];
	unsigned h = imp_part_of(key);
	struct imp_pkt *e = &c->e[h][c->ne[h]++];
	c->n++;
	e->key = key;
	e->v6 = v6;
	e->time = (uint32_t)p->time; /* time_ok() bounds it near the clock */
	e->kind = (uint8_t)kind;
	e->port = p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP ? p->dst_port : 0;
	if (p->time > c->max)
		c->max = p->time;
	if (c->n == im->chunk_limit) {
		im->chunk_limit = im->chunk_events;
		return handoff(im, false, NP_OK);
	}
	return NP_OK;
}

/* The read loop: records straight from the reader, parsed and classified here (one call
 * each, no callback layers). Bounded by the file. */
static int read_packets(struct importer *im, struct obs_pcap *r)
{
	const struct config *cfg = im->c->cfg;
	struct obs_pcap_stats *st = &im->pcap;
	const uint8_t *frame;
	uint32_t caplen;
	int64_t t;
	int rc;
	while ((rc = obs_pcap_next(r, &frame, &caplen, &t)) == 1) {
		struct obs_packet p;
		st->packets++;
		int pr = obs_packet_parse(st->linktype, frame, caplen, t, &p);
		if (pr != NP_OK) {
			if (pr == NP_ENOTFOUND)
				st->not_ip++;
			else
				st->malformed++;
			continue;
		}
		st->parsed++;
		if (im->pr.on && ++im->pr.tick % PROGRESS_EVERY == 0)
			progress_pos(im, obs_pcap_offset(r));
		enum obs_kind kind = obs_classify(&p, cfg->obs_research, cfg->n_obs_research);
		pr = take_packet(im, &p, kind);
		if (pr != NP_OK)
			return pr;
	}
	return rc == 0 ? NP_OK : NP_EIO;
}

/* The reader thread: opens, reads, parses and classifies; every full chunk goes to the
 * folder. Its result travels in pipe.read_ret. */
static void *reader_main(void *arg)
{
	struct importer *im = arg;
	struct obs_pcap *r = NULL;
	int ret = obs_pcap_open(im->path, &r, &im->pcap.linktype);
	if (ret == NP_OK && !obs_linktype_supported(im->pcap.linktype))
		ret = NP_EINVAL;
	else if (ret == NP_OK)
		ret = read_packets(im, r);
	else if (ret != NP_ENOMEM)
		ret = NP_EIO;
	obs_pcap_close(r);
	/* Even after a failure: the folder waits for done. */
	(void)handoff(im, true, ret);
	return NULL;
}

/* The folding side (this thread): folds what the reader hands over until it is done.
 * Returns the reader's result, or the first fold failure. */
static int fold_chunks(struct importer *im)
{
	struct pipe *pp = im->pipe;
	int ret = NP_OK;
	pthread_mutex_lock(&pp->mu);
	/* Bounded by the file: the reader hands over one chunk per chunk_events packets. */
	for (;;) {
		/* Also until the reader took the free chunk: empty is one slot, and a fast fold
		 * must not overwrite it (the reader would wait for a chunk that was lost). */
		while (!pp->done && (pp->full == NULL || pp->empty != NULL))
			pthread_cond_wait(&pp->cv, &pp->mu);
		struct chunk *c = pp->full;
		if (c == NULL)
			break;
		pp->full = NULL;
		pthread_cond_broadcast(&pp->cv);
		pthread_mutex_unlock(&pp->mu);
		/* A failed read still folds the chunks before the failure (a truncated file). */
		if (ret == NP_OK)
			ret = flush_chunk(im, c);
		pthread_mutex_lock(&pp->mu);
		c->n = c->ne[0] = c->ne[1] = 0;
		pp->empty = c;
		if (ret != NP_OK)
			pp->stop = true;
		pthread_cond_broadcast(&pp->cv);
	}
	int read_ret = pp->read_ret;
	pthread_mutex_unlock(&pp->mu);
	if (ret != NP_OK)
		return ret;
	return read_ret;
}

/* A large buffer backed by huge pages where the kernel allows (madvise mode): the chunk
 * buffers are written once each, and their first-touch page faults were a third of the
 * import's system time. Freed with free(). */
static void *big_alloc(size_t size)
{
	const size_t huge = (size_t)2 << 20;
	size = (size + huge - 1) & ~(huge - 1);
	void *p = aligned_alloc(huge, size);
	if (p != NULL)
		madvise(p, size, MADV_HUGEPAGE); /* a hint: without it, small pages */
	return p;
}

static int read_pcap(struct importer *im, const char *path)
{
	struct pipe pp;
	memset(&pp, 0, sizeof(pp));
	pthread_mutex_init(&pp.mu, NULL);
	pthread_cond_init(&pp.cv, NULL);
	im->pipe = &pp;
	im->path = path;
	bool ok = true;
	for (unsigned k = 0; k < 2; k++) {
		for (unsigned h = 0; h < IMP_PARTS; h++) {
			pp.chunks[k].e[h] = big_alloc(CHUNK_EVENTS * sizeof(struct imp_pkt));
			ok = ok && pp.chunks[k].e[h] != NULL;
		}
	}
	im->tmp = big_alloc(CHUNK_EVENTS * sizeof(*im->tmp));
	im->radix = malloc(IMP_PARTS * PASSES * sizeof(*im->radix));
	struct helper hp = {.im = im};
	pthread_t hth;
	bool helper_on = false;
	im->chunk_events = CHUNK_EVENTS;
	const char *env = getenv("NP_IMPORT_CHUNK_EVENTS");
	uint32_t ce;
	if (env != NULL && str_to_u32(env, 1, CHUNK_EVENTS, &ce) == NP_OK)
		im->chunk_events = ce;
	/* The first chunk is read before anything can be folded: small, so folding starts
	 * early (one more merge of the run costs less than the wait). */
	im->chunk_limit = (im->chunk_events + FIRST_CHUNK_DIV - 1) / FIRST_CHUNK_DIV;
	int ret = NP_ENOMEM;
	if (!ok || im->tmp == NULL || im->radix == NULL) {
		ctl_err("out of memory");
		goto out;
	}
	pthread_mutex_init(&hp.mu, NULL);
	pthread_cond_init(&hp.cv, NULL);
	/* Without the helper thread, the halves are folded in turn: slower, the same result. */
	helper_on = pthread_create(&hth, NULL, helper_main, &hp) == 0;
	if (helper_on)
		im->helper = &hp;
	im->cur = &pp.chunks[0];
	pp.empty = &pp.chunks[1];
	pthread_t th;
	if (pthread_create(&th, NULL, reader_main, im) != 0) {
		ctl_err("cannot start the reader thread");
		goto out;
	}
	int fold_ret = fold_chunks(im);
	pthread_join(th, NULL);
	ret = pp.read_ret;
	im->units = im->pcap.packets;
	if (fold_ret != ret) {
		/* The fold failed (the reader then stopped with NP_EFAILED). */
		ctl_err("%s: %s", path, np_strerror(fold_ret));
		ret = fold_ret;
		goto out;
	}
	if (ret == NP_EIO && im->pcap.packets > 0) {
		/* A capture cut short (tcpdump killed): keep what was read before. */
		ctl_err("%s: the file ends in a damaged or truncated record; imported the %llu "
		        "records before it",
		        path, (unsigned long long)im->pcap.packets);
		ret = NP_OK;
	} else if (ret == NP_EIO) {
		ctl_err("%s: not a readable pcap or pcapng file", path);
	} else if (ret == NP_EINVAL) {
		ctl_err("%s: link type %d is not supported", path, im->pcap.linktype);
	} else if (ret != NP_OK) {
		ctl_err("%s: %s", path, np_strerror(ret));
	}
out:
	if (helper_on) {
		pthread_mutex_lock(&hp.mu);
		hp.quit = true;
		pthread_cond_broadcast(&hp.cv);
		pthread_mutex_unlock(&hp.mu);
		pthread_join(hth, NULL);
	}
	if (ok && im->tmp != NULL && im->radix != NULL) {
		pthread_cond_destroy(&hp.cv);
		pthread_mutex_destroy(&hp.mu);
	}
	im->helper = NULL;
	for (unsigned k = 0; k < 2; k++)
		for (unsigned h = 0; h < IMP_PARTS; h++)
			free(pp.chunks[k].e[h]);
	im->cur = NULL;
	im->pipe = NULL;
	pthread_cond_destroy(&pp.cv);
	pthread_mutex_destroy(&pp.mu);
	return ret;
}

/* Skips the rest of a line longer than the buffer. Bounded by the file. */
static void skip_line(FILE *fp)
{
	int ch;
	do
		ch = getc(fp);
	while (ch != EOF && ch != '\n');
}

static int read_cowrie(struct importer *im, const char *path)
{
	int ret = NP_ENOMEM;
	char *buf = malloc(OBS_COWRIE_LINE_MAX + 2);
	if (buf == NULL) {
		ctl_err("out of memory");
		return ret;
	}
	im->fp = fopen(path, "re");
	if (im->fp == NULL) {
		ctl_err("%s: cannot open: %m", path);
		ret = NP_EIO;
		goto done;
	}
	/* One line per iteration: bounded by the file's size. */
	while (fgets(buf, OBS_COWRIE_LINE_MAX + 2, im->fp) != NULL) {
		size_t len = strlen(buf);
		uint64_t lineno = ++im->units;
		char why[64];
		struct obs_event ev;
		int r;
		progress_tick(im);
		if (len > 0 && buf[len - 1] == '\n') {
			len--;
		} else if (len > OBS_COWRIE_LINE_MAX) {
			skip_line(im->fp);
			snprintf(why, sizeof(why), "line longer than %d bytes",
			         OBS_COWRIE_LINE_MAX);
			r = NP_EMALFORMED;
			goto bad;
		}
		if (len > 0 && buf[len - 1] == '\r')
			len--;
		if (len == 0) {
			im->ignored_lines++;
			continue;
		}
		r = obs_cowrie_parse(buf, len, &ev, why, sizeof(why));
		if (r == NP_ENOTFOUND) {
			im->ignored_lines++;
			continue;
		}
		if (r == NP_OK) {
			r = take_event(im, &ev);
			if (r != NP_OK) {
				ctl_err("%s:%llu: %s", path, (unsigned long long)lineno,
				        np_strerror(r));
				ret = r;
				goto done;
			}
			continue;
		}
	bad:
		if (im->bad_lines < BAD_LINES_SHOWN)
			ctl_err("%s:%llu: %s", path, (unsigned long long)lineno, why);
		im->bad_lines++;
	}
	if (ferror(im->fp)) {
		ctl_err("%s: read error", path);
		ret = NP_EIO;
		goto done;
	}
	if (im->bad_lines > BAD_LINES_SHOWN)
		ctl_err("%s: %llu bad lines in all", path, (unsigned long long)im->bad_lines);
	ret = NP_OK;
done:
	if (im->fp != NULL)
		fclose(im->fp);
	im->fp = NULL;
	free(buf);
	return ret;
}

/* Collects encoded records into inbox rows of at most ROW_MAX bytes. */
struct writer {
	struct importer *im;
	char source[128];
	uint8_t *buf;
	size_t len, cap;
};

static int writer_flush(struct writer *w)
{
	if (w->len == 0)
		return NP_OK;
	int ret = store_obs_inbox_add(w->im->c->st, w->source, STORE_OBS_RECORDS, w->buf, w->len,
	                              time_now(), NULL);
	if (ret != NP_OK)
		return ret;
	w->im->rows++;
	w->im->bytes += w->len;
	w->len = 0;
	return NP_OK;
}

/* Encodes a record (compact form, codec.h) straight into the row buffer. */
static int write_record(const struct obs_addr_record *rec, void *ctx)
{
	struct writer *w = ctx;
	if (rec->n_buckets == 0 && rec->n_creds == 0)
		return NP_OK;
	size_t bound = 4 + obs_record_compact_bound(rec);
	if (w->len > 0 && w->len + bound > ROW_MAX) {
		int ret = writer_flush(w);
		if (ret != NP_OK)
			return ret;
	}
	if (w->len + bound > w->cap) {
		size_t ncap = w->cap == 0 ? ROW_MAX : w->cap;
		while (ncap < w->len + bound)
			ncap *= 2;
		uint8_t *q = realloc(w->buf, ncap);
		if (q == NULL)
			return NP_ENOMEM;
		w->buf = q;
		w->cap = ncap;
	}
	size_t n = 0;
	int ret = obs_record_encode_compact(rec, w->buf + w->len + 4, &n);
	if (ret != NP_OK)
		return ret;
	for (size_t i = 0; i < 4; i++)
		w->buf[w->len + i] = (uint8_t)((uint32_t)n >> (8 * i));
	w->len += 4 + n;
	w->im->records++;
	return NP_OK;
}

static int write_inbox(struct importer *im, const char *path)
{
	struct writer w = {.im = im};
	const char *base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	snprintf(w.source, sizeof(w.source), "import:%s:%s", im->format, base);
	int ret = store_begin(im->c->st);
	if (ret == NP_OK && im->ix != NULL)
		ret = obs_index_foreach(im->ix, write_record, &w);
	else if (ret == NP_OK)
		ret = imp_fold_foreach(&im->fold, write_record, &w);
	if (ret == NP_OK)
		ret = writer_flush(&w);
	if (ret == NP_OK) {
		int64_t t0 = time_mono_ms();
		ret = store_commit(im->c->st);
		im->commit_ms = time_mono_ms() - t0;
	} else
		store_rollback(im->c->st);
	free(w.buf);
	if (ret != NP_OK) {
		ctl_err("cannot write to the store: %s (nothing was imported)", np_strerror(ret));
		im->rows = im->records = im->bytes = 0;
	}
	return ret;
}

static void print_summary(const struct importer *im, const char *path, bool as_json)
{
	struct obs_index_stats is;
	memset(&is, 0, sizeof(is));
	if (im->ix != NULL) {
		obs_index_stats(im->ix, &is);
	} else {
		is.addrs = imp_fold_addrs(&im->fold);
		is.cap = im->fold.cap;
		is.evicted = im->fold.evicted;
		is.bytes = imp_fold_bytes(&im->fold);
	}
	bool pcap = strcmp(im->format, "pcap") == 0;
	if (as_json) {
		json_t *kinds = json_object();
		for (unsigned k = 0; k < OBS_KIND_COUNT && kinds != NULL; k++)
			json_object_set_new(kinds, obs_kind_name((enum obs_kind)k),
			                    json_integer((json_int_t)im->kinds[k]));
		json_t *o = json_pack(
		    "{s:s, s:s, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		    "s:o, s:o, s:{s:I, s:I, s:I, s:I}}",
		    "file", path, "format", im->format, pcap ? "packets" : "lines",
		    (json_int_t)im->units, pcap ? "malformed" : "bad_lines",
		    (json_int_t)(pcap ? im->pcap.malformed : im->bad_lines),
		    pcap ? "not_ip" : "ignored_lines",
		    (json_int_t)(pcap ? im->pcap.not_ip : im->ignored_lines), "kinds", kinds,
		    "events", (json_int_t)im->events, "stale", (json_int_t)(im->stale + is.stale),
		    "future", (json_int_t)im->future, "addresses", (json_int_t)is.addrs, "evicted",
		    (json_int_t)is.evicted, "records", (json_int_t)im->records, "rows",
		    (json_int_t)im->rows, "bytes", (json_int_t)im->bytes, "index_bytes",
		    (json_int_t)is.bytes, "first_time",
		    im->first_time ? json_integer(im->first_time) : json_null(), "last_time",
		    im->last_time ? json_integer(im->last_time) : json_null(), "ms", "read",
		    (json_int_t)(im->read_ms - im->fold_ms), "fold", (json_int_t)im->fold_ms,
		    "write", (json_int_t)im->write_ms, "commit", (json_int_t)im->commit_ms);
		char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
		if (s != NULL)
			printf("%s\n", s);
		else
			ctl_err("out of memory");
		free(s);
		json_decref(o);
		return;
	}
	if (pcap)
		printf("%s: %llu packets (%llu malformed, %llu not IP)\n", path,
		       (unsigned long long)im->units, (unsigned long long)im->pcap.malformed,
		       (unsigned long long)im->pcap.not_ip);
	else
		printf("%s: %llu lines (%llu bad, %llu not evidence)\n", path,
		       (unsigned long long)im->units, (unsigned long long)im->bad_lines,
		       (unsigned long long)im->ignored_lines);
	printf("events: %llu", (unsigned long long)im->events);
	for (unsigned k = 0; k < OBS_KIND_COUNT; k++)
		if (im->kinds[k] != 0)
			printf(", %s %llu", obs_kind_name((enum obs_kind)k),
			       (unsigned long long)im->kinds[k]);
	printf("\nskipped: %llu stale (older than the retention window), %llu in the future\n",
	       (unsigned long long)(im->stale + is.stale), (unsigned long long)im->future);
	printf("addresses: %zu (%llu evicted at the cap of %zu)\n", is.addrs,
	       (unsigned long long)is.evicted, is.cap);
	printf("written: %zu records in %zu inbox rows (%zu bytes)\n", im->records, im->rows,
	       im->bytes);
	printf("time: read and classify (not overlapped by folding) %lld ms, fold %lld ms, "
	       "store %lld ms (commit %lld ms)\n",
	       (long long)(im->read_ms - im->fold_ms), (long long)im->fold_ms,
	       (long long)im->write_ms, (long long)im->commit_ms);
}

static int cmd_import(struct ctl *c, const char *format, const char *path, bool as_json)
{
	int ret = CTL_FAIL;
	struct importer im;
	memset(&im, 0, sizeof(im));
	im.c = c;
	im.format = format;
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;
	int64_t now = time_now();
	im.oldest_ok = now - (int64_t)c->cfg->obs_retention;
	im.newest_ok = now + (int64_t)c->cfg->obs_max_clock_skew;
	bool pcap = strcmp(format, "pcap") == 0;
	if (pcap) {
		if (imp_fold_init(&im.fold, c->cfg->obs_max_addresses,
		                  (int64_t)c->cfg->obs_retention) != NP_OK) {
			ctl_err("cannot fold into %u addresses", c->cfg->obs_max_addresses);
			return CTL_FAIL;
		}
	} else {
		im.ix = obs_index_new(c->cfg->obs_max_addresses, (int64_t)c->cfg->obs_retention);
		if (im.ix == NULL) {
			ctl_err("cannot make an index of %u addresses", c->cfg->obs_max_addresses);
			return CTL_FAIL;
		}
	}
	progress_start(&im.pr, path);
	int64_t t0 = time_mono_ms();
	int r = pcap ? read_pcap(&im, path) : read_cowrie(&im, path);
	if (r != NP_OK) {
		if (im.pr.on)
			fputc('\n', stderr);
		goto done;
	}
	progress_end(&im.pr);
	if (pcap) {
		int64_t tf = time_mono_ms();
		r = imp_fold_finish(&im.fold, im.last_time);
		im.fold_ms += time_mono_ms() - tf;
		if (r != NP_OK) {
			ctl_err("%s: %s", path, np_strerror(r));
			goto done;
		}
	} else if (im.last_time != 0) {
		obs_index_prune(im.ix, im.last_time);
	}
	int64_t t1 = time_mono_ms();
	im.read_ms = t1 - t0;
	if (write_inbox(&im, path) != NP_OK)
		goto done;
	im.write_ms = time_mono_ms() - t1;
	print_summary(&im, path, as_json);
	ret = CTL_OK;
done:
	obs_index_free(im.ix);
	imp_fold_free(&im.fold);
	free(im.tmp);
	free(im.radix);
	return ret;
}

int ctl_cmd_import(struct ctl *c, int argc, char **argv)
{
	bool as_json = false;
	const char *pos[2];
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = true;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return ctl_usage("import: unknown option %s", argv[i]);
		else if (n < 2)
			pos[n++] = argv[i];
		else
			return ctl_usage("import: too many arguments");
	}
	if (n != 2 || (strcmp(pos[0], "pcap") != 0 && strcmp(pos[0], "cowrie") != 0))
		return ctl_usage("import pcap FILE | import cowrie FILE [--json]");
	return cmd_import(c, pos[0], pos[1], as_json);
}

/* ---- observe show ---- */

/* Loads only the records of one address: nameplatectl need not hold the whole index. */
struct loader {
	struct obs_index *ix;
	uint8_t key[8];
	size_t keylen;
	uint64_t bad;
	int64_t last_id; /* of the inbox rows read so far */
};

static bool same_key(const struct loader *l, const struct np_addr *a)
{
	uint8_t k[8];
	size_t n = obs_record_key(a, k);
	return n == l->keylen && memcmp(k, l->key, n) == 0;
}

static int load_record(struct loader *l, const uint8_t *data, size_t len)
{
	struct obs_record_buf rb;
	if (obs_record_decode(data, len, &rb) != NP_OK) {
		l->bad++;
		return NP_OK;
	}
	int ret = NP_OK;
	if (same_key(l, &rb.rec.addr))
		ret = obs_index_load(l->ix, &rb.rec);
	obs_record_buf_free(&rb);
	return ret;
}

static int checkpoint_row(const void *data, size_t len, void *ctx)
{
	return load_record(ctx, data, len);
}

static int inbox_row(int64_t id, const char *source, enum store_obs_kind kind, const void *data,
                     size_t len, void *ctx)
{
	struct loader *l = ctx;
	(void)source;
	l->last_id = id;
	if (kind == STORE_OBS_BATCH) {
		char id_buf[OBS_BATCH_ID_MAX + 1], why[128];
		struct obs_event *ev = NULL;
		size_t n = 0;
		if (obs_batch_decode(data, len, id_buf, &ev, &n, why, sizeof(why)) != NP_OK) {
			l->bad++;
			return NP_OK;
		}
		int ret = NP_OK;
		for (size_t i = 0; i < n && ret == NP_OK; i++)
			if (same_key(l, &ev[i].src))
				ret = obs_index_add(l->ix, &ev[i]);
		free(ev);
		return ret;
	}
	const uint8_t *p = data;
	size_t off = 0;
	/* Frames: u32 LE length + record. Bounded by len: every step advances. */
	while (len - off >= 4) {
		uint32_t n = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 |
		             (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 24;
		off += 4;
		if (n > len - off) {
			l->bad++;
			return NP_OK;
		}
		int ret = load_record(l, p + off, n);
		if (ret != NP_OK)
			return ret;
		off += n;
	}
	if (off != len)
		l->bad++;
	return NP_OK;
}

static void fmt_time(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "-");
}

static void print_verdict(const char *text, const struct obs_verdict *v)
{
	char a[32], b[32];
	printf("%s: %s", text, obs_verdict_name(v->verdict));
	if (v->rule != OBS_RULE_NONE)
		printf(" (%s)", obs_rule_name(v->rule));
	fmt_time(v->window_start, a, sizeof(a));
	fmt_time(v->window_end, b, sizeof(b));
	printf("\nwindow: %s .. %s\n", a, b);
	if (v->packets == 0 && v->kind_count[OBS_BACKSCATTER] == 0 &&
	    v->kind_count[OBS_RESEARCH] == 0)
		return;
	fmt_time(v->first_seen, a, sizeof(a));
	fmt_time(v->last_seen, b, sizeof(b));
	printf("evidence: %llu events, first %s, last %s\n", (unsigned long long)v->packets, a, b);
	printf("fingerprint hits: %llu, logins: %llu (default pairs %llu), downloads: %llu\n",
	       (unsigned long long)v->fingerprint_hits, (unsigned long long)v->login_attempts,
	       (unsigned long long)v->default_cred_hits, (unsigned long long)v->downloads);
	if (v->n_ports > 0) {
		printf("ports:");
		for (size_t i = 0; i < v->n_ports; i++)
			printf(" %u (%llu)", v->ports[i].port,
			       (unsigned long long)v->ports[i].count);
		if (v->other_ports > 0)
			printf(" and %llu to other ports", (unsigned long long)v->other_ports);
		printf("\n");
	}
	for (size_t i = 0; i < v->n_creds; i++)
		printf("credentials: %s / %s, %u times%s\n", v->creds[i].user, v->creds[i].pass,
		       v->creds[i].count, v->creds[i].is_default ? " (a Mirai default)" : "");
	if (v->kind_count[OBS_BACKSCATTER] != 0 || v->kind_count[OBS_RESEARCH] != 0)
		printf("not evidence: backscatter %llu, research scanner %llu\n",
		       (unsigned long long)v->kind_count[OBS_BACKSCATTER],
		       (unsigned long long)v->kind_count[OBS_RESEARCH]);
}

int ctl_cmd_observe(struct ctl *c, int argc, char **argv)
{
	bool as_json = false;
	int64_t at = 0;
	const char *pos[2];
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			as_json = true;
		} else if (strcmp(argv[i], "--at") == 0 && i + 1 < argc) {
			uint32_t t;
			if (str_to_u32(argv[++i], 0, UINT32_MAX, &t) != NP_OK)
				return ctl_usage("observe: --at takes unix seconds");
			at = t;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			return ctl_usage("observe: unknown option %s", argv[i]);
		} else if (n < 2) {
			pos[n++] = argv[i];
		} else {
			return ctl_usage("observe: too many arguments");
		}
	}
	if (n != 2 || strcmp(pos[0], "show") != 0)
		return ctl_usage("observe show ADDRESS [--json] [--at UNIXTIME]");
	struct np_addr addr;
	if (addr_parse(pos[1], &addr) != NP_OK)
		return ctl_usage("observe: '%s' is not an IP address", pos[1]);
	if (at == 0)
		at = time_now();
	if (ctl_open(c) != CTL_OK)
		return CTL_FAIL;

	int ret = CTL_FAIL;
	struct loader l = {0};
	l.keylen = obs_record_key(&addr, l.key);
	l.ix = obs_index_new(16, (int64_t)c->cfg->obs_retention);
	if (l.ix == NULL) {
		ctl_err("out of memory");
		return CTL_FAIL;
	}
	obs_index_prune(l.ix, at);
	int r = store_obs_foreach(c->st, checkpoint_row, &l);
	/* The inbox in pages of 64 rows (a row may be 4 MB); bounded by its row count. */
	int64_t after = 0;
	for (int guard = 0; r == NP_OK && guard < 1000000; guard++) {
		r = store_obs_inbox_foreach(c->st, after, 64, inbox_row, &l);
		if (r != NP_OK || l.last_id == after)
			break;
		after = l.last_id;
	}
	if (r != NP_OK) {
		ctl_err("cannot read the observations: %s", np_strerror(r));
		goto done;
	}
	if (l.bad > 0)
		ctl_err("%llu damaged observation rows or batches skipped",
		        (unsigned long long)l.bad);
	struct obs_verdict v;
	if (obs_index_verdict(l.ix, &addr, at, &v) != NP_OK) {
		ctl_err("cannot compute the verdict");
		goto done;
	}
	if (as_json) {
		json_t *o = obs_verdict_json(&addr, &v);
		char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (s == NULL) {
			ctl_err("out of memory");
			goto done;
		}
		printf("%s\n", s);
		free(s);
	} else {
		print_verdict(pos[1], &v);
	}
	ret = CTL_OK;
done:
	obs_index_free(l.ix);
	return ret;
}
