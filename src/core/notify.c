/* SPDX-License-Identifier: MIT */
/* The NOTIFY thread: one UDP socket per address family, poll() on them and an eventfd
 * that says new serials were queued. */
#include "core/notify.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"
#include "dns/constants.h"
#include "dns/msg.h"
#include "dns/name.h"
#include "dns/wire.h"

struct target {
	struct cfg_listen to;
	bool active;     /* not yet acknowledged and not given up */
	unsigned sent;   /* messages sent for this serial */
	int64_t next_ms; /* when to send the next */
	uint16_t id;
};

struct zone_notify {
	char name[CFG_NAME_MAX];
	uint8_t apex[DNS_NAME_MAX];
	size_t apex_len;
	uint32_t serial;
	/* The SOA record to send in the answer section (RFC 1996 3.7: the serial as a hint):
	 * owner pointer to the question, type .. rdata. */
	uint8_t soa[12 + 2 * DNS_NAME_MAX + 20];
	size_t soa_len;
	struct target t[CFG_MAX_NOTIFY];
	unsigned n;
};

struct notifier {
	pthread_t thread;
	bool started;
	atomic_bool stop;
	int efd, fd4, fd6;
	/* Under mu: the zones' queued serials (filled by notifier_zone), taken by the thread. */
	pthread_mutex_t mu;
	struct zone_notify queued[CFG_MAX_ZONES];
	bool is_queued[CFG_MAX_ZONES];
	/* The thread's own. */
	struct zone_notify zones[CFG_MAX_ZONES];
	bool used[CFG_MAX_ZONES];
};

static uint16_t random_id(void)
{
	uint16_t id = 0;
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id))
		id = (uint16_t)time_mono_ms();
	return id;
}

/* The slot of zone name in arr (by name), or a free one, or -1. */
static int slot_for(struct zone_notify *arr, bool *used, const char *name)
{
	int free_slot = -1;
	for (int i = 0; i < CFG_MAX_ZONES; i++) {
		if (used[i] && strcmp(arr[i].name, name) == 0)
			return i;
		if (!used[i] && free_slot < 0)
			free_slot = i;
	}
	return free_slot;
}

void notifier_zone(void *arg, const struct cfg_zone *cz, uint32_t serial)
{
	struct notifier *n = arg;
	if (n == NULL || cz->n_notify == 0)
		return;
	struct zone_notify z = {0};
	np_strlcpy(z.name, cz->name, sizeof(z.name));
	int len = dns_name_from_text(cz->name, z.apex, sizeof(z.apex));
	if (len < 0)
		return;
	z.apex_len = (size_t)len;
	z.serial = serial;
	uint8_t *rd = z.soa + 12;
	int m = dns_name_from_text(cz->ns[0], rd, DNS_NAME_MAX);
	int r = m > 0 ? dns_name_from_text(cz->contact, rd + m, DNS_NAME_MAX) : -1;
	if (r > 0) {
		const uint32_t timers[5] = {serial, cz->refresh, cz->retry, cz->expire,
		                            cz->negative_ttl};
		size_t rdlen = (size_t)m + (size_t)r;
		for (int i = 0; i < 5; i++, rdlen += 4)
			wire_store_u32(rd + rdlen, timers[i]);
		wire_store_u16(z.soa, 0xC00C);
		wire_store_u16(z.soa + 2, DNS_TYPE_SOA);
		wire_store_u16(z.soa + 4, DNS_CLASS_IN);
		wire_store_u32(z.soa + 6, cz->soa_ttl);
		wire_store_u16(z.soa + 10, (uint16_t)rdlen);
		z.soa_len = 12 + rdlen;
	}
	for (unsigned i = 0; i < cz->n_notify; i++) {
		z.t[i].to = cz->notify[i];
		z.t[i].active = true;
	}
	z.n = cz->n_notify;
	pthread_mutex_lock(&n->mu);
	int i = slot_for(n->queued, n->is_queued, cz->name);
	if (i >= 0) {
		n->queued[i] = z;
		n->is_queued[i] = true;
	}
	pthread_mutex_unlock(&n->mu);
	uint64_t one = 1;
	if (write(n->efd, &one, sizeof(one)) < 0)
		log_debug("notify: cannot wake the thread: %m");
}

/* Moves queued serials into the thread's zones; a new serial restarts its targets. */
static void take_queued(struct notifier *n, int64_t now)
{
	pthread_mutex_lock(&n->mu);
	for (int q = 0; q < CFG_MAX_ZONES; q++) {
		if (!n->is_queued[q])
			continue;
		n->is_queued[q] = false;
		int i = slot_for(n->zones, n->used, n->queued[q].name);
		if (i < 0)
			continue;
		n->zones[i] = n->queued[q];
		n->used[i] = true;
		for (unsigned k = 0; k < n->zones[i].n; k++)
			n->zones[i].t[k].next_ms = now;
	}
	pthread_mutex_unlock(&n->mu);
}

static void send_notify(struct notifier *n, struct zone_notify *z, struct target *t, int64_t now)
{
	uint8_t msg[DNS_HDR_LEN + DNS_NAME_MAX + 4 + sizeof(z->soa)];
	t->id = random_id();
	wire_store_u16(msg, t->id);
	wire_store_u16(msg + 2, (uint16_t)(DNS_OPCODE_NOTIFY << 11 | DNS_FLAG_AA));
	wire_store_u16(msg + 4, 1);
	wire_store_u16(msg + 6, z->soa_len > 0 ? 1 : 0);
	memset(msg + 8, 0, 4);
	memcpy(msg + DNS_HDR_LEN, z->apex, z->apex_len);
	size_t len = DNS_HDR_LEN + z->apex_len;
	wire_store_u16(msg + len, DNS_TYPE_SOA);
	wire_store_u16(msg + len + 2, DNS_CLASS_IN);
	len += 4;
	memcpy(msg + len, z->soa, z->soa_len);
	len += z->soa_len;
	int fd = t->to.addr.ss_family == AF_INET6 ? n->fd6 : n->fd4;
	if (sendto(fd, msg, len, 0, (const struct sockaddr *)&t->to.addr, t->to.len) < 0)
		log_debug("notify %s to %s: %m", z->name, t->to.text);
	t->sent++;
	t->next_ms = now + ((int64_t)NOTIFY_FIRST_RETRY << (t->sent - 1));
}

static bool same_peer(const struct sockaddr_storage *a, const struct cfg_listen *b)
{
	if (a->ss_family != b->addr.ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)&b->addr;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)&b->addr;
	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

/* Reads the answers waiting on fd: a NOTIFY response with a target's id, from it,
 * acknowledges it (whatever its rcode: it has heard of the serial). */
static void read_answers(struct notifier *n, int fd)
{
	for (;;) {
		uint8_t buf[512];
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t r =
		    recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (r < 0)
			return;
		if (r < DNS_HDR_LEN)
			continue;
		uint16_t id = wire_load_u16(buf);
		uint16_t flags = wire_load_u16(buf + 2);
		if ((flags & DNS_FLAG_QR) == 0 ||
		    ((flags & DNS_OPCODE_MASK) >> 11) != DNS_OPCODE_NOTIFY)
			continue;
		for (int i = 0; i < CFG_MAX_ZONES; i++) {
			for (unsigned k = 0; n->used[i] && k < n->zones[i].n; k++) {
				struct target *t = &n->zones[i].t[k];
				if (t->active && t->sent > 0 && t->id == id &&
				    same_peer(&from, &t->to)) {
					t->active = false;
					log_debug("notify %s serial %u: %s acknowledged",
					          n->zones[i].name, n->zones[i].serial, t->to.text);
				}
			}
		}
	}
}

static void *notify_main(void *arg)
{
	struct notifier *n = arg;
	while (!atomic_load(&n->stop)) {
		int64_t now = time_mono_ms();
		take_queued(n, now);
		int64_t wait = 1000;
		for (int i = 0; i < CFG_MAX_ZONES; i++) {
			for (unsigned k = 0; n->used[i] && k < n->zones[i].n; k++) {
				struct target *t = &n->zones[i].t[k];
				if (t->active && t->next_ms <= now && t->sent > NOTIFY_RETRIES) {
					/* The last one had its time too: the refresh timer takes over. */
					t->active = false;
					log_warn("notify %s serial %u: %s did not answer",
					         n->zones[i].name, n->zones[i].serial, t->to.text);
				}
				if (t->active && t->next_ms <= now)
					send_notify(n, &n->zones[i], t, now);
				if (t->active && t->next_ms - now < wait)
					wait = t->next_ms - now;
			}
		}
		struct pollfd p[3] = {
		    {n->efd, POLLIN, 0}, {n->fd4, POLLIN, 0}, {n->fd6, POLLIN, 0}};
		int r = poll(p, 3, (int)(wait < 0 ? 0 : wait));
		if (r <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			uint64_t v;
			if (read(n->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_debug("notify: eventfd: %m");
		}
		if (p[1].revents & POLLIN)
			read_answers(n, n->fd4);
		if (p[2].revents & POLLIN)
			read_answers(n, n->fd6);
	}
	return NULL;
}

int notifier_start(struct notifier **out)
{
	struct notifier *n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NP_ENOMEM;
	pthread_mutex_init(&n->mu, NULL);
	n->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	n->fd4 = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	n->fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* A host without IPv6 still notifies over IPv4 (fd6 stays -1: poll skips it). */
	if (n->efd < 0 || n->fd4 < 0) {
		notifier_stop(n);
		return NP_EFAILED;
	}
	atomic_store(&n->stop, false);
	if (pthread_create(&n->thread, NULL, notify_main, n) != 0) {
		notifier_stop(n);
		return NP_EFAILED;
	}
	n->started = true;
	pthread_setname_np(n->thread, "notify");
	*out = n;
	return NP_OK;
}

void notifier_stop(struct notifier *n)
{
	if (n == NULL)
		return;
	atomic_store(&n->stop, true);
	if (n->started) {
		uint64_t one = 1;
		if (write(n->efd, &one, sizeof(one)) < 0)
			log_debug("notify: cannot wake the thread: %m");
		pthread_join(n->thread, NULL);
	}
	if (n->efd >= 0)
		close(n->efd);
	if (n->fd4 >= 0)
		close(n->fd4);
	if (n->fd6 >= 0)
		close(n->fd6);
	pthread_mutex_destroy(&n->mu);
	free(n);
}
