/* SPDX-License-Identifier: MIT */
/* In-memory zones served to DNS workers. A zone version is immutable once published: the
 * writer builds the next version (sharing unchanged nodes), publishes it with RCU, and frees
 * what the old version alone referenced after a grace period. Readers never lock or allocate. */
#ifndef NP_ZONE_ZONE_H
#define NP_ZONE_ZONE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "dns/constants.h"

/* The slot each RR type the zone model holds occupies in a node. DNSKEY, CDS and CDNSKEY
 * only ever sit at the apex of a signed zone, put there by the publisher. */
enum zone_slot {
	ZS_SOA, ZS_NS, ZS_A, ZS_AAAA, ZS_MX, ZS_TXT, ZS_DNSKEY, ZS_CDS, ZS_CDNSKEY, ZS_COUNT
};

/* RR types of DNSSEC the zone model knows. */
#define ZONE_TYPE_RRSIG   46
#define ZONE_TYPE_DNSKEY  48
#define ZONE_TYPE_CDS     59
#define ZONE_TYPE_CDNSKEY 60
#define ZONE_TYPE_NSEC    47
#define ZONE_TYPE_NSEC3   50
#define ZONE_TYPE_NSEC3PARAM 51

/* Limits that keep a node renderable into any answer (they are also the update caps). */
#define ZONE_MAX_RRS_PER_TYPE 16
#define ZONE_MAX_RRS_PER_NODE 64
#define ZONE_MAX_RDATA        1024

/* Node flags. */
#define ZONE_NODE_WILDCARD 0x01 /* names below this one that do not exist answer like it */
#define ZONE_NODE_ENT      0x02 /* empty non-terminal: exists only because of descendants */
#define ZONE_NODE_APEX     0x04

/* A pre-rendered RRset inside zone_node.data: count RRs in len bytes at off. Each RR is in
 * final wire form with its owner written as the compression pointer 0xC00C (the question
 * name), so an answer is a memcpy. */
struct zone_rrset {
	uint16_t off;
	uint16_t len;
	uint16_t count;
};

/* One owner name with its records; a single allocation. Immutable once inserted.
 *
 * In a signed zone the node also holds a struct zone_sigs (zone_node_sigs(); in the same
 * allocation, after the RRsets, at sig_off: an unsigned node pays 2 octets for it). Its
 * set[s] holds the RRSIG records that cover rrsets[s], rendered the same way (owner
 * 0xC00C, the signer's name uncompressed as RFC 4034 3.1.7 requires); len 0 = none. A
 * signed wildcard node (ZONE_NODE_WILDCARD) also holds, in wild, what answers for the
 * names below it: the RRSIGs
 * of its RRsets made over the owner "*.NAME" (labels field one less than that owner's), then
 * the NSEC at "*.NAME" whose next name is NAME with a 0 octet appended to its first label (it
 * covers every name below NAME, proving the name asked for does not exist) and that NSEC's
 * RRSIG. Their owner fields are 0xC00C too, placeholders: an answer writes "*." and a pointer
 * to NAME for the NSEC and its RRSIG, and keeps 0xC00C (the question name) for the others.
 *
 * The apex node built by zone_node_new_apex() holds its SOA with MNAME and RNAME
 * compressed where they end with the apex: such a name is its leading labels followed by
 * a 2-byte compression pointer to the apex. soa_ptr[] says where those pointers are, as
 * offsets from the start of the SOA RR (data + rrsets[ZS_SOA].off); 0 = not compressed.
 * They are stored as 0xC00C, right for an SOA answer to a question for the apex itself
 * (the question name at offset 12 is the apex); a copy elsewhere (the authority section
 * of a negative answer) must rewrite them, like the owner, to point at the apex inside the
 * question. RDLENGTH counts the compressed form. Every other node has soa_ptr = {0, 0}. */
struct zone_node {
	uint8_t flags;
	uint8_t name_len;                  /* length of the lowercase wire name */
	struct zone_rrset rrsets[ZS_COUNT]; /* len 0 = no such RRset */
	uint16_t soa_ptr[2];               /* MNAME, RNAME pointer positions; see above */
	uint16_t sig_off;                  /* where its struct zone_sigs is in data; 0 = none */
	uint8_t data[];                    /* name (name_len bytes), then the RRsets */
};

/* The signed parts of a node (see struct zone_node): offsets into the node's data.
 *
 * nsec3 holds the node's part of the zone's NSEC3 chain (RFC 5155), which only transfers
 * send (secondaries deny with it; the primary answers with compact denial): the NSEC3 of
 * the node's name and its RRSIG, for a wildcard node those of "*.NAME" too, and at the apex
 * the NSEC3PARAM and its RRSIG. Each record is stored as one octet n, the n octets of its
 * owner's labels below the apex (the hashed label; none for the apex), then type .. rdata;
 * the region lies after every other part of the node. ENT nodes of a signed zone carry a
 * zone_sigs for it alone. */
struct zone_sigs {
	struct zone_rrset set[ZS_COUNT]; /* the RRSIGs covering each RRset */
	struct zone_rrset wild;          /* a signed wildcard's records for the names below */
	struct zone_rrset nsec3;         /* its NSEC3 records and their RRSIGs; see above */
};

/* What an unsigned node has: no RRSIG anywhere. */
extern const struct zone_sigs zone_sigs_none;

/* The signed parts of n, or zone_sigs_none. */
static inline const struct zone_sigs *zone_node_sigs(const struct zone_node *n)
{
	return n->sig_off != 0 ? (const struct zone_sigs *)(const void *)(n->data + n->sig_off)
	                       : &zone_sigs_none;
}

/* The slot table is paged so that deriving a version copies only what changes: a
 * directory of page pointers, each page ZONE_PAGE_SLOTS slots (4 KiB). Slot i lives in
 * pages[i >> ZONE_PAGE_SHIFT]->slot[i & (ZONE_PAGE_SLOTS - 1)]. A table smaller than a
 * page (size mask + 1 < ZONE_PAGE_SLOTS) still has one whole page, of which it uses the
 * first mask + 1 slots. */
#define ZONE_PAGE_SHIFT 9
#define ZONE_PAGE_SLOTS (1u << ZONE_PAGE_SHIFT)

struct zone_page {
	const struct zone_node *slot[ZONE_PAGE_SLOTS];
};

/* One version of one zone: an open-addressing table (linear probing over the whole
 * logical table, load <= 0.5) of node pointers, in pages.
 *
 * Pages are shared between versions: zone_version_derive() copies the directory and only
 * the pages it writes to (copy on write); the new version shares every other page with the
 * old one. A page is therefore referenced by a run of consecutive versions, and is freed
 * exactly once, by exactly one of:
 *  - zone_retired_free_nodes() of the derive that stopped using it (it copied the page,
 *    or rebuilt the whole table to resize it): the derive records it in retired->pages;
 *  - zone_version_free_all() of a version that uses it (which must be the only live
 *    version using any of its pages: the newest one, its older versions already freed);
 *  - zone_version_discard() of the derived, never published version that copied it.
 * zone_version_free_table() frees no page at all. */
struct zone_journal;
struct zone_jentry;
struct dnssec_zone; /* dnssec/zone.h: the keys and signature cache of a signed zone */

struct zone_version {
	uint8_t apex[255]; /* lowercase wire name of the zone */
	uint8_t apex_len;
	uint32_t serial;
	const struct zone_node *apex_node; /* holds SOA and NS */
	uint32_t mask;                     /* table size - 1; the size is a power of two */
	uint32_t count;                    /* nodes in the table */
	struct zone_page **pages;          /* the directory: max(1, (mask + 1) / PAGE) pages */
	uint64_t seed; /* of the name hash: random per zone, kept by zone_version_derive */
	/* The zone's configuration when it was built (who may transfer it): owned like the
	 * nodes, shared by derived versions, freed by zone_version_free_all. May be NULL. */
	struct cfg_zone *conf;
	/* The differences that lead to this version (zone/journal.h): owned by this version
	 * (the array; the entries are shared like nodes). zone_version_derive leaves it NULL
	 * for the caller to set; NULL = no history, every IXFR gets the whole zone. */
	struct zone_journal *journal;
	/* A signed zone's keys, for the negative answers signed on the fly; NULL = unsigned.
	 * Owned by the publisher, which keeps it alive as long as any version names it. */
	const struct dnssec_zone *dnssec;
};

/* Transfers pin the version they stream from: it must outlive RCU read-side sections,
 * since a transfer's thread goes quiescent between its messages. A pin names the
 * generation of the zone_db it read; the publisher frees nothing a pinned generation or an
 * older one may use. A pin is taken inside the read-side section that found the version,
 * so the publisher, looking after synchronize_rcu(), sees it. */
#define ZONE_PINS_MAX 32

struct zone_pins {
	pthread_mutex_t mu;
	uint64_t gen[ZONE_PINS_MAX]; /* 0 = a free slot */
};

/* Everything the DNS workers read: published as a whole with rcu_assign_pointer(). */
struct zone_db {
	uint64_t generation; /* counts publications, from 1 */
	uint32_t n_zones;
	const struct zone_version *zones[];
};

/* A record handed to the node builder: rdata in uncompressed wire form. */
struct zone_rr_in {
	uint16_t type;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
};

/* What derived versions stopped using: nodes and table pages of the old versions that the
 * new ones no longer reference. Free them after the grace period; or, when the derived
 * versions are thrown away unpublished, forget them with zone_retired_drop() (the old
 * versions still use them). One zone_retired may collect several derives. */
struct zone_retired {
	struct zone_node **nodes;
	size_t n, cap;
	struct zone_page **pages;
	size_t n_pages, cap_pages;
	struct zone_jentry **jentries; /* journal entries the new journals dropped */
	size_t n_j, cap_j;
};

/* ---- reading (lock-free; any thread inside an RCU read-side section) ---- */

/* The zone with the longest apex that is a suffix of lname (lowercase wire), or NULL. */
const struct zone_version *zone_db_find(const struct zone_db *db, const uint8_t *lname,
					size_t len);
/* The node named exactly lname (lowercase wire) in z, or NULL. */
const struct zone_node *zone_find(const struct zone_version *z, const uint8_t *lname,
				  size_t len);
/* Warming the cache for a coming zone_find of lname: zone_find_prefetch_slot prefetches the
 * name's first slot and returns its index; zone_find_prefetch_node, called later (once the
 * slot has arrived), prefetches the node that slot holds. Neither changes a result. */
uint32_t zone_find_prefetch_slot(const struct zone_version *z, const uint8_t *lname, size_t len);
void zone_find_prefetch_node(const struct zone_version *z, uint32_t i);

/* ---- building (writer thread only) ---- */

/* Builds a node from records of the supported types (others: NP_EINVAL). At most
 * ZONE_MAX_RRS_PER_TYPE per type. Returns NULL on bad input or no memory. Caller owns it. */
struct zone_node *zone_node_new(const uint8_t *lname, size_t len, unsigned flags,
				const struct zone_rr_in *rrs, size_t n);
/* Builds the apex node: SOA (from cz and serial), NS (cz->ns), plus extra host records
 * that live at the apex itself. Its SOA MNAME/RNAME are compressed against the apex and
 * soa_ptr[] set as described at struct zone_node. */
struct zone_node *zone_node_new_apex(const struct cfg_zone *cz, uint32_t serial,
				     const struct zone_rr_in *extra, size_t n_extra);
void zone_node_free(struct zone_node *n);
/* A copy of n with the RRSIG records in sigs (rdata in wire form, the covered type in its
 * first two octets) added, each in the sigs[] slot of the type it covers; a signature of a
 * type n does not hold is refused. The n_wild records in wild (RRSIG and NSEC, see struct
 * zone_node) go to its wild region in the order given. Replaces any RRSIGs n had. NULL on
 * bad input or no memory; n is left as it was. Caller owns the copy. */
struct zone_node *zone_node_with_sigs(const struct zone_node *n, const struct zone_rr_in *sigs,
                                      size_t n_sigs, const struct zone_rr_in *wild,
                                      size_t n_wild);
/* A copy of n whose NSEC3 region (struct zone_sigs) holds the count records of recs (len
 * bytes, in the region's format), any previous one dropped; n may be unsigned (an ENT).
 * NULL on bad input or no memory; n is left as it was. Caller owns the copy. */
struct zone_node *zone_node_with_chain(const struct zone_node *n, const uint8_t *recs, size_t len,
                                       uint16_t count);
/* Whether a and b are the same name with the same flags and the same records, their
 * signatures and chain records aside: what signing a covers, so that a rebuild can keep
 * the signatures of a node whose records did not change. */
bool zone_node_same_records(const struct zone_node *a, const struct zone_node *b);
/* The slot of an RR type, or ZS_COUNT for a type outside the model. */
enum zone_slot zone_slot_of_type(uint16_t type);
/* The RR type of a slot. */
uint16_t zone_type_of_slot(enum zone_slot s);

/* An empty version for apex, with room for about capacity_hint nodes. Caller owns it. */
struct zone_version *zone_version_new(const uint8_t *apex, size_t apex_len, uint32_t serial,
				      size_t capacity_hint);
/* Adds node to a version made by zone_version_new() that is still being built (not yet
 * published, nothing derived from it: its pages are its own), taking ownership. A node
 * with the same name is replaced and freed. Missing ancestors below the apex are
 * added as ENT nodes. A node named like the apex becomes apex_node. Ownership is taken
 * even on failure (NP_EINVAL: node outside the zone; NP_ENOMEM): the node is freed then
 * and z is unchanged. */
int zone_version_insert(struct zone_version *z, struct zone_node *node) np_mustcheck;
/* Puts node in place of its namesake in z, a version still being built (as for insert),
 * and frees the namesake; the table does not change otherwise, so this is safe while
 * walking z's slots. NP_EINVAL (node freed) when z has no such name. */
int zone_version_replace(struct zone_version *z, struct zone_node *node) np_mustcheck;
/* The next version of a published one: a copy of its table where each name in removed
 * goes away (the apex never does), then each node in repl replaces its namesake (or is
 * added, with ENTs). A removed name that still has descendants stays as an ENT; ENTs left
 * without descendants by a removal go away. The copy is copy-on-write: a new directory,
 * new copies of the pages it writes to, the other pages shared with old (when the table
 * must grow, every page is new). Nodes and pages of old that the new version no longer
 * references are appended to retired. On success the new version owns the repl nodes (a
 * repl node displaced by a later namesake in repl is freed). old stays valid and
 * unchanged. Returns NULL on no memory or when a repl node lies outside the zone; nothing
 * is changed then (retired included) and the caller still owns repl. */
struct zone_version *zone_version_derive(const struct zone_version *old, uint32_t serial,
					 struct zone_node *const *repl, size_t n_repl,
					 const uint8_t *const *removed, const size_t *removed_len,
					 size_t n_removed, struct zone_retired *retired);
/* Puts each of nodes in place of its namesake in nz, a version derived from old that is not
 * published yet (the names must be in nz): how a derive's result gets its NSEC3 chain
 * spliced after the fact. Replaced nodes that old holds go to retired, the others (born in
 * the derive) are freed. Takes the nodes over, on failure too (NP_ENOMEM, NP_EINVAL: a
 * name nz lacks); nz is then to be discarded. */
int zone_version_patch(struct zone_version *nz, const struct zone_version *old,
                       struct zone_node *const *nodes, size_t n,
                       struct zone_retired *retired) np_mustcheck;
/* Frees the version struct and its page directory, no page and no node: for a version
 * something was derived from (its pages and nodes live on in the newer version, or are in
 * the retired set of that derive), after the grace period. */
void zone_version_free_table(struct zone_version *z);
/* Frees the version, every page it references and every node in it. Only for a version
 * that shares nothing with another live version: one built with zone_version_new() and
 * insert, or the newest version once every older one has been freed (with free_table
 * and its retired set). */
void zone_version_free_all(struct zone_version *z);
/* Throws away nz, a version derived from old that was never published (a later step of
 * the same publication failed): frees nz, the pages its derive copied and the nodes born
 * in that derive (those old does not hold). old keeps everything it uses. Whatever that
 * derive put in retired belongs to old again: drop it with zone_retired_drop(). */
void zone_version_discard(struct zone_version *nz, const struct zone_version *old);

/* Frees the retired nodes and pages and empties the set; keeps its arrays for reuse. */
void zone_retired_free_nodes(struct zone_retired *r);
/* zone_retired_free_nodes(), then frees the arrays. */
void zone_retired_deinit(struct zone_retired *r);
/* Forgets the records without freeing what they point to (after zone_version_discard of
 * the derives that made them), then frees the arrays. */
void zone_retired_drop(struct zone_retired *r);

/* ---- pins ---- */

void zone_pins_init(struct zone_pins *p);
void zone_pins_destroy(struct zone_pins *p);
/* Pins generation gen (> 0). Returns the slot, or -1 when every slot is taken. */
int zone_pin(struct zone_pins *p, uint64_t gen);
void zone_unpin(struct zone_pins *p, int slot);
/* The oldest pinned generation, or UINT64_MAX when nothing is pinned. */
uint64_t zone_pins_oldest(struct zone_pins *p);

#endif
