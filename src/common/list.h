/* SPDX-License-Identifier: MIT */
/* An intrusive doubly-linked list: a struct embeds a struct np_link and is found again
 * from it with container_of. Pushing and unlinking are O(1); the caller locks. */
#ifndef NP_COMMON_LIST_H
#define NP_COMMON_LIST_H

#include <stddef.h>

struct np_link {
	struct np_link *prev, *next;
};

/* head is the most recently pushed; tail the oldest. Zeroed is empty. */
struct np_list {
	struct np_link *head, *tail;
};

static inline void np_list_push_front(struct np_list *l, struct np_link *n)
{
	n->prev = NULL;
	n->next = l->head;
	if (l->head != NULL)
		l->head->prev = n;
	else
		l->tail = n;
	l->head = n;
}

static inline void np_list_unlink(struct np_list *l, struct np_link *n)
{
	if (n->prev != NULL)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = NULL;
}

/* Moves n, already in l, to the front. */
static inline void np_list_to_front(struct np_list *l, struct np_link *n)
{
	if (l->head != n) {
		np_list_unlink(l, n);
		np_list_push_front(l, n);
	}
}

#endif
