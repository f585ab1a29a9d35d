/* SPDX-License-Identifier: MIT */
/* Tests of the writer alone, with fake operations (each adds a user to a real store in a
 * temporary directory) and counting hooks, no zones: group commit, one failed op inside a
 * batch, a batch whose transaction cannot begin, and fail-stop after a failed commit. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macros.h"
#include "core/writer.h"
#include "tmpdir_fixture.h"

static char dir[64];
static struct config cfg;

/* ---- fake operations ---- */

enum fake_kind {
	FAKE_ADD,      /* adds a user: committed with the batch */
	FAKE_ADD_FAIL, /* adds a user, then fails: only its savepoint is rolled back */
	FAKE_SABOTAGE, /* ends the batch's transaction behind the writer's back: COMMIT fails */
};

struct fake_op {
	struct writer_op op;
	enum fake_kind kind;
	char user[32];
	bool applied;
	bool answered;
	int status;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

static int fake_apply(struct writer_op *op, struct writer_txn *txn)
{
	struct fake_op *f = container_of(op, struct fake_op, op);
	struct store *st = writer_txn_store(txn);
	f->applied = true;
	if (f->kind == FAKE_SABOTAGE) {
		store_rollback(st);
		return NP_OK;
	}
	int64_t id;
	int ret = store_user_add(st, f->user, &id);
	if (ret == NP_OK) /* no cmocka assert here: this is the writer's thread */
		ret = writer_txn_touch(txn, f->user);
	if (ret != NP_OK)
		return ret;
	return f->kind == FAKE_ADD_FAIL ? NP_EINVAL : NP_OK;
}

static void fake_done(struct writer_op *op, int status)
{
	struct fake_op *f = container_of(op, struct fake_op, op);
	pthread_mutex_lock(&mu);
	f->status = status;
	f->answered = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
}

static void fake_init(struct fake_op *f, enum fake_kind kind, const char *user)
{
	memset(f, 0, sizeof(*f));
	f->op.apply = fake_apply;
	f->op.done = fake_done;
	f->kind = kind;
	snprintf(f->user, sizeof(f->user), "%s", user);
}

static void wait_answered(struct fake_op *ops, size_t n)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < n; i++)
		while (!ops[i].answered)
			pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
}

/* ---- counting hooks, and a wake hook that can hold the writer between batches ---- */

struct counts {
	int batch_begin, touch, op_undo, before_commit, committed, ended_committed,
		ended_failed;
	bool hold;    /* the next wake blocks until released */
	bool holding; /* the writer is blocked in wake */
};
static struct counts counts;

/* The hooks run on the writer's thread: counts are read under mu. */
static void count(int *counter)
{
	pthread_mutex_lock(&mu);
	(*counter)++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
}

static int h_batch_begin(void *ctx)
{
	count(&((struct counts *)ctx)->batch_begin);
	return NP_OK;
}

static int h_touch(void *ctx, const char *key)
{
	(void)key;
	count(&((struct counts *)ctx)->touch);
	return NP_OK;
}

static void h_op_undo(void *ctx)
{
	count(&((struct counts *)ctx)->op_undo);
}

static int h_before_commit(void *ctx)
{
	count(&((struct counts *)ctx)->before_commit);
	return NP_OK;
}

static void h_committed(void *ctx)
{
	count(&((struct counts *)ctx)->committed);
}

static void h_batch_end(void *ctx, bool committed)
{
	struct counts *c = ctx;
	count(committed ? &c->ended_committed : &c->ended_failed);
}

static void h_wake(void *ctx)
{
	struct counts *c = ctx;
	pthread_mutex_lock(&mu);
	if (c->hold) {
		c->holding = true;
		pthread_cond_broadcast(&cond);
		while (c->hold)
			pthread_cond_wait(&cond, &mu);
		c->holding = false;
	}
	pthread_mutex_unlock(&mu);
}

static const struct writer_hooks hooks = {
	.ctx = &counts,
	.batch_begin = h_batch_begin,
	.touch = h_touch,
	.op_undo = h_op_undo,
	.before_commit = h_before_commit,
	.committed = h_committed,
	.batch_end = h_batch_end,
	.wake = h_wake,
};

/* Submits n ops while the writer is held in its wake hook, so that it takes them all as
 * one batch when released (a batch holds up to 1024); returns once the batch ended. */
static void submit_as_one_batch(struct writer *w, struct fake_op *ops, size_t n)
{
	pthread_mutex_lock(&mu);
	counts.hold = true;
	while (!counts.holding)
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(writer_submit(w, &ops[i].op), NP_OK);
	pthread_mutex_lock(&mu);
	int ended = counts.ended_committed + counts.ended_failed;
	counts.hold = false;
	pthread_cond_broadcast(&cond);
	while (counts.ended_committed + counts.ended_failed == ended)
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
	wait_answered(ops, n);
}

static struct writer *start(struct store **st_out)
{
	struct store *st;
	assert_int_equal(store_open(dir, true, &st), NP_OK);
	if (st_out != NULL)
		*st_out = st;
	memset(&counts, 0, sizeof(counts));
	struct writer *w;
	assert_int_equal(writer_start(&w, &cfg, st, &hooks), NP_OK);
	return w;
}

/* After writer_stop (which closes its store): is user in the store? */
static bool user_exists(const char *user)
{
	struct store *st;
	assert_int_equal(store_open(dir, false, &st), NP_OK);
	int64_t id;
	int ret = store_user_id(st, user, &id);
	store_close(st);
	assert_true(ret == NP_OK || ret == NP_ENOTFOUND);
	return ret == NP_OK;
}

static int setup(void **state)
{
	(void)state;
	return tmpdir_make(dir, sizeof(dir), "writer");
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir);
}

/* Several queued ops: one transaction, one commit, every op answered with success. */
static void test_group_commit(void **state)
{
	(void)state;
	struct writer *w = start(NULL);
	enum { N = 10 };
	struct fake_op ops[N];
	char name[32];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "batch%d", i);
		fake_init(&ops[i], FAKE_ADD, name);
	}
	submit_as_one_batch(w, ops, N);
	for (int i = 0; i < N; i++)
		assert_int_equal(ops[i].status, NP_OK);
	assert_int_equal(counts.batch_begin, 1);
	assert_int_equal(counts.touch, N);
	assert_int_equal(counts.before_commit, 1);
	assert_int_equal(counts.committed, 1);
	assert_int_equal(counts.ended_committed, 1);
	assert_int_equal(counts.ended_failed, 0);
	assert_false(writer_failed(w));
	writer_stop(w);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "batch%d", i);
		assert_true(user_exists(name));
	}
}

/* An op that fails is rolled back alone: the others of its batch are committed. */
static void test_failed_op_in_batch(void **state)
{
	(void)state;
	struct writer *w = start(NULL);
	struct fake_op ops[3];
	fake_init(&ops[0], FAKE_ADD, "before");
	fake_init(&ops[1], FAKE_ADD_FAIL, "failing");
	fake_init(&ops[2], FAKE_ADD, "after");
	submit_as_one_batch(w, ops, 3);
	assert_int_equal(ops[0].status, NP_OK);
	assert_int_equal(ops[1].status, NP_EINVAL);
	assert_int_equal(ops[2].status, NP_OK);
	assert_int_equal(counts.op_undo, 1);
	assert_int_equal(counts.committed, 1);
	assert_false(writer_failed(w));
	writer_stop(w);
	assert_true(user_exists("before"));
	assert_false(user_exists("failing"));
	assert_true(user_exists("after"));
}

/* A transaction that cannot begin (here: one is already open on the writer's connection)
 * answers every op of the batch with NP_ESTORE, runs none of them, and is not fail-stop:
 * nothing was committed, so nothing may have been lost. */
static void test_failed_begin(void **state)
{
	(void)state;
	struct store *st;
	struct writer *w = start(&st);
	/* The writer thread is idle in its queue wait; it uses st only for a batch. */
	assert_int_equal(store_begin(st), NP_OK);
	struct fake_op ops[3];
	fake_init(&ops[0], FAKE_ADD, "one");
	fake_init(&ops[1], FAKE_ADD, "two");
	fake_init(&ops[2], FAKE_ADD, "three");
	submit_as_one_batch(w, ops, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ops[i].status, NP_ESTORE);
		assert_false(ops[i].applied);
	}
	assert_int_equal(counts.committed, 0);
	assert_int_equal(counts.ended_failed, 1);
	assert_false(writer_failed(w));
	writer_stop(w);
	assert_false(user_exists("one"));
}

/* A failed COMMIT answers every op of the batch with NP_ESTORE, publishes nothing, and
 * from then on the writer refuses every op: after a failed fsync nothing is trusted. */
static void test_failed_commit_is_fail_stop(void **state)
{
	(void)state;
	struct writer *w = start(NULL);
	struct fake_op ops[3];
	fake_init(&ops[0], FAKE_ADD, "lost1");
	fake_init(&ops[1], FAKE_ADD, "lost2");
	fake_init(&ops[2], FAKE_SABOTAGE, "");
	submit_as_one_batch(w, ops, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ops[i].status, NP_ESTORE);
	assert_int_equal(counts.committed, 0);
	assert_int_equal(counts.ended_failed, 1);
	assert_true(writer_failed(w));

	struct fake_op later;
	fake_init(&later, FAKE_ADD, "later");
	assert_int_equal(writer_submit(w, &later.op), NP_EFAILED);
	assert_int_equal(writer_run(w, &later.op, 100), NP_EFAILED);
	assert_false(later.applied);
	writer_stop(w);
	assert_false(user_exists("lost1"));
	assert_false(user_exists("lost2"));
	assert_false(user_exists("later"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_op_in_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_begin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_commit_is_fail_stop, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
