/* SPDX-License-Identifier: MIT */
/* The daemon's abuse protection object: the budgets and the limits they take from config. */
#include "abuse/abuse.h"

#include <stdlib.h>

#include "abuse/budget.h"
#include "common/err.h"

struct abuse {
	struct budget *budget;
};

static void limits_from(const struct config *cfg, struct budget_limits *l)
{
	l->window = cfg->abuse_window;
	l->scope[BUDGET_HOST] = (struct budget_limit){cfg->abuse_host_per_window,
	                                              cfg->abuse_host_per_day};
	l->scope[BUDGET_TOKEN] = (struct budget_limit){cfg->abuse_token_per_window,
	                                               cfg->abuse_token_per_day};
	l->scope[BUDGET_SOURCE] = (struct budget_limit){cfg->abuse_source_per_window,
	                                                cfg->abuse_source_per_day};
}

int abuse_new(struct abuse **out, const struct config *cfg)
{
	*out = NULL;
	struct abuse *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NP_ENOMEM;
	struct budget_limits l;
	limits_from(cfg, &l);
	int ret = budget_new(&a->budget, ABUSE_BUDGET_ENTRIES, &l);
	if (ret != NP_OK) {
		free(a);
		return ret;
	}
	*out = a;
	return NP_OK;
}

void abuse_free(struct abuse *a)
{
	if (a == NULL)
		return;
	budget_free(a->budget);
	free(a);
}

void abuse_reload(struct abuse *a, const struct config *cfg)
{
	struct budget_limits l;
	limits_from(cfg, &l);
	budget_set_limits(a->budget, &l);
}

unsigned abuse_budget_take(struct abuse *a, const char *const *fqdns, size_t n, const char *token_id,
                           const struct np_addr *src, int64_t now)
{
	struct budget_key keys[24];
	size_t k = 0;
	for (size_t i = 0; i < n && k < 22; i++)
		keys[k++] = budget_key_host(a->budget, fqdns[i]);
	if (token_id != NULL && token_id[0] != '\0')
		keys[k++] = budget_key_token(a->budget, token_id);
	if (src != NULL && src->family != 0)
		keys[k++] = budget_key_source(a->budget, src);
	return budget_take(a->budget, keys, k, now);
}
