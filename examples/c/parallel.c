/*
 * A step split over a C program's own threads (pthreads): gradstep plans the shards
 * (gradstep_optimizer_plan), each thread updates its element range (gradstep_optimizer_step_shard),
 * and the result is the whole step's, bit for bit — checked here against a second optimizer that
 * takes whole steps. The same calls serve an RTOS's tasks or an OpenMP loop.
 *
 *   cargo rustc --lib --release --features capi --crate-type staticlib,cdylib
 *   gcc -std=c11 -pthread -Iinclude examples/c/parallel.c target/release/libgradstep.a -lm \
 *       -o parallel && ./parallel
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradstep.h"

#define THREADS 4
#define STEPS 5

/* a centralized 512 x 1000 weight (shards cut it between rows), a long bias-like vector, a
 * classifier: 600 000 elements */
static const gradstep_tensor TENSORS[3] = {
    {.len = 512 * 1000, .rows = 512, .group = 0},
    {.len = 87 * 1000 + 1, .rows = 0, .group = 1},
    {.len = 10 * 1299, .rows = 10, .group = 0},
};
#define LEN (512 * 1000 + 87 * 1000 + 1 + 10 * 1299)

/* what one thread needs for its shard */
typedef struct {
    const gradstep_optimizer *opt;
    uint32_t token;
    size_t start, end;
    float *params, *state;
    const float *grads;
    gradstep_status status;
} shard;

static void *run_shard(void *arg) {
    shard *s = arg;
    s->status = gradstep_optimizer_step_shard(s->opt, s->token, s->start, s->end, s->params,
                                              s->grads, LEN, s->state, 2 * (size_t)LEN);
    return NULL;
}

static int fail(const char *what, gradstep_status st) {
    fprintf(stderr, "%s: %s\n", what, gradstep_status_message(st));
    return 1;
}

int main(void) {
    gradstep_group groups[2] = {
        gradstep_group_static(1e-3, 1e-4, 1), /* weights: decay, centralization */
        gradstep_group_static(1e-3, 0.0, 0),
    };
    gradstep_group whole_groups[2];
    memcpy(whole_groups, groups, sizeof groups);
    gradstep_adam_settings settings = gradstep_adam_settings_default();
    gradstep_optimizer opt, whole;
    gradstep_status st = gradstep_adam_init(&opt, TENSORS, 3, groups, 2, &settings);
    if (st != GRADSTEP_STATUS_OK) return fail("init", st);
    st = gradstep_adam_init(&whole, TENSORS, 3, whole_groups, 2, &settings);
    if (st != GRADSTEP_STATUS_OK) return fail("init", st);

    float *params = malloc(LEN * sizeof(float)), *grads = malloc(LEN * sizeof(float));
    float *state = calloc(2 * (size_t)LEN, sizeof(float));
    float *params2 = malloc(LEN * sizeof(float)), *state2 = calloc(2 * (size_t)LEN, sizeof(float));
    if (!params || !grads || !state || !params2 || !state2) return 1;
    uint32_t x = 12345;
    for (size_t i = 0; i < LEN; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        params[i] = params2[i] = (float)(x >> 8) / 16777216.0f - 0.5f;
    }

    /* the plan: one shard per thread, balanced by bytes moved */
    shard shards[THREADS];
    for (size_t i = 0; i < THREADS; i++) {
        st = gradstep_optimizer_plan(&opt, THREADS, i, &shards[i].start, &shards[i].end);
        if (st != GRADSTEP_STATUS_OK) return fail("plan", st);
        printf("shard %zu: elements [%zu, %zu)\n", i, shards[i].start, shards[i].end);
    }

    for (int step = 0; step < STEPS; step++) {
        for (size_t i = 0; i < LEN; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            grads[i] = (float)(x >> 8) / 8388608.0f - 1.0f;
        }
        uint32_t token;
        st = gradstep_optimizer_begin_step(&opt, &token);
        if (st != GRADSTEP_STATUS_OK) return fail("begin_step", st);
        pthread_t threads[THREADS];
        for (size_t i = 0; i < THREADS; i++) {
            shards[i].opt = &opt;
            shards[i].token = token;
            shards[i].params = params;
            shards[i].grads = grads;
            shards[i].state = state;
            if (pthread_create(&threads[i], NULL, run_shard, &shards[i]) != 0) return 1;
        }
        for (size_t i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
        for (size_t i = 0; i < THREADS; i++) {
            if (shards[i].status != GRADSTEP_STATUS_OK) return fail("step_shard", shards[i].status);
        }
        st = gradstep_optimizer_end_step(&opt, token);
        if (st != GRADSTEP_STATUS_OK) return fail("end_step", st);

        st = gradstep_optimizer_step(&whole, params2, grads, LEN, state2, 2 * (size_t)LEN);
        if (st != GRADSTEP_STATUS_OK) return fail("step", st);
    }
    int same = memcmp(params, params2, LEN * sizeof(float)) == 0 &&
               memcmp(state, state2, 2 * (size_t)LEN * sizeof(float)) == 0;
    printf("%d steps of Adam over %d elements on %d threads: %s the whole steps' bits\n", STEPS,
           LEN, THREADS, same ? "exactly" : "NOT");
    free(params), free(grads), free(state), free(params2), free(state2);
    return same ? 0 : 1;
}
