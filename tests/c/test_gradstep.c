/*
 * The C API, from C: every function is called, every status code is provoked (but
 * GRADSTEP_STATUS_BACKEND_UNAVAILABLE, which needs a CPU without one of the backends: valgrind's,
 * for one); MindSpore 2.10.0's golden tables, schedules and trajectories (golden_trajectories.h,
 * generated from tests/golden/ by `cargo run -p golden --bin c-header`) are replayed bit for bit; every field a step reads from caller memory is changed between steps, and each change is
 * an error that leaves params, state and the step counter as they were.
 *
 * Build and run (see .ci/run; $C is any directory):
 *   cargo run -p golden --bin c-header > "$C/golden_trajectories.h"
 *   cargo rustc --lib --release --features capi --crate-type staticlib,cdylib
 *   gcc -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude -I"$C" tests/c/test_gradstep.c \
 *       "$TARGET_DIR/release/libgradstep.a" -lm -o test_gradstep
 *   ./test_gradstep
 */
#include "gradstep.h"
#include "golden_trajectories.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define CODES 64 /* above every status code; codes without a message are skipped */
static int seen[CODES];
static int failures;
static int checks;

static void expect(gradstep_status got, gradstep_status want, const char *what, int line) {
    checks++;
    if ((int)got >= 0 && (int)got < CODES) {
        seen[got] = 1;
    }
    if (got != want) {
        failures++;
        printf("FAIL line %d: %s\n  returned %d (%s), expected %d (%s)\n", line, what, (int)got,
               gradstep_status_message((int32_t)got), (int)want, gradstep_status_message((int32_t)want));
    }
}
#define EXPECT(call, want) expect((call), (want), #call, __LINE__)
#define OK(call) EXPECT(call, GRADSTEP_STATUS_OK)
#define CHECK(cond)                                                  \
    do {                                                             \
        checks++;                                                    \
        if (!(cond)) {                                               \
            failures++;                                              \
            printf("FAIL line %d: %s\n", __LINE__, #cond);           \
        }                                                            \
    } while (0)

static float from_bits(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static uint32_t to_bits(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

static void load(float *dst, const uint32_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) {
        dst[i] = from_bits(src[i]);
    }
}

/* The first index where `got` differs from the bits `want`, or -1. */
static long first_difference(const float *got, const uint32_t *want, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (to_bits(got[i]) != want[i]) {
            return (long)i;
        }
    }
    return -1;
}

/* FNV-1a, as the saved-state format uses it. */
static uint32_t fnv1a(const uint8_t *bytes, size_t n) {
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ bytes[i]) * 0x01000193u;
    }
    return h;
}

/* ----- statuses, version, backends ------------------------------------------------------ */

static void test_messages_and_backends(void) {
    for (int32_t c = 0; c < CODES; c++) {
        CHECK(gradstep_status_message(c) != NULL);
    }
    CHECK(strcmp(gradstep_status_message(0), "ok") == 0);
    CHECK(strcmp(gradstep_status_message(999), "unknown status code") == 0);
    CHECK(strlen(gradstep_version()) > 0);
    uint32_t selected = gradstep_backend_selected();
    CHECK(gradstep_backend_available(selected) == 1);
    CHECK(gradstep_backend_available(GRADSTEP_BACKEND_AUTO) == 1);
    CHECK(gradstep_backend_available(GRADSTEP_BACKEND_SCALAR) == 1);
    CHECK(gradstep_backend_available(GRADSTEP_BACKEND_WIDE) == 1);
    CHECK(gradstep_backend_available(99) == 0);
    CHECK(strcmp(gradstep_backend_name(99), "unknown") == 0);
    printf("backends: selected %s;", gradstep_backend_name(selected));
    for (uint32_t p = GRADSTEP_BACKEND_SCALAR; p <= GRADSTEP_BACKEND_AVX512; p++) {
        printf(" %s%s", gradstep_backend_name(p), gradstep_backend_available(p) ? "" : " (unavailable)");
    }
    printf("\n");
}

/* ----- kernels ------------------------------------------------------------------------- */

#define K 37 /* not a multiple of any vector width */

static void fill_buffers(float *w, float *g, float *m) {
    for (int i = 0; i < K; i++) {
        w[i] = 0.5f - 0.03f * (float)i;
        g[i] = 0.1f * (float)((i * 7) % 11) - 0.5f;
        m[i] = 0.01f * (float)i;
    }
}

static void test_kernels(void) {
    float w0[K], g[K], m0[K], w[K], m[K];
    fill_buffers(w0, g, m0);

    /* every available backend gives the scalar backend's bits, with every option on */
    float ws[K], ms[K];
    memcpy(ws, w0, sizeof ws);
    memcpy(ms, m0, sizeof ms);
    OK(gradstep_kernel_momentum(ws, g, ms, K, 0, 0.1f, 0.9, 1, 1e-4, 128.0, GRADSTEP_BACKEND_SCALAR));
    for (uint32_t p = GRADSTEP_BACKEND_AUTO; p <= GRADSTEP_BACKEND_AVX512; p++) {
        memcpy(w, w0, sizeof w);
        memcpy(m, m0, sizeof m);
        gradstep_status want = gradstep_backend_available(p) ? GRADSTEP_STATUS_OK : GRADSTEP_STATUS_BACKEND_UNAVAILABLE;
        EXPECT(gradstep_kernel_momentum(w, g, m, K, 0, 0.1f, 0.9, 1, 1e-4, 128.0, p), want);
        if (want == GRADSTEP_STATUS_OK) {
            CHECK(memcmp(w, ws, sizeof w) == 0 && memcmp(m, ms, sizeof m) == 0);
        } else {
            CHECK(memcmp(w, w0, sizeof w) == 0); /* nothing written */
        }
    }
    /* plain momentum, computed here: m = m*0.9 + g; w = w - m*0.1 */
    memcpy(w, w0, sizeof w);
    memcpy(m, m0, sizeof m);
    OK(gradstep_kernel_momentum(w, g, m, K, 0, 0.1f, 0.9, 0, 0.0, 1.0, GRADSTEP_BACKEND_AUTO));
    for (int i = 0; i < K; i++) {
        volatile float mm = m0[i] * 0.9f + g[i];
        volatile float ww = w0[i] - mm * 0.1f;
        CHECK(to_bits(m[i]) == to_bits(mm) && to_bits(w[i]) == to_bits(ww));
    }
    /* centralized: a 1×37 tensor, and SGD with the first-step rule */
    OK(gradstep_kernel_momentum(w, g, m, K, 1, 0.1f, 0.9, 0, 0.0, 1.0, GRADSTEP_BACKEND_AUTO));
    OK(gradstep_kernel_sgd(w, g, m, K, 0, 0.1f, 0.9, 0.1, 0, 1, 0.0, 1.0, GRADSTEP_BACKEND_AUTO));
    OK(gradstep_kernel_sgd(w, g, m, K, 0, 0.1f, 0.9, 0.0, 1, 0, 1e-4, 1.0, GRADSTEP_BACKEND_AUTO));
    OK(gradstep_kernel_sgd(w, g, m, 0, 0, 0.1f, 0.9, 0.0, 0, 0, 0.0, 1.0, GRADSTEP_BACKEND_AUTO));
    OK(gradstep_kernel_momentum(NULL, NULL, NULL, 0, 0, 0.1f, 0.9, 0, 0.0, 1.0, GRADSTEP_BACKEND_AUTO));

    /* every rejection, and nothing written */
    memcpy(w, w0, sizeof w);
    memcpy(m, m0, sizeof m);
    EXPECT(gradstep_kernel_momentum(NULL, g, m, K, 0, 0.1f, 0.9, 0, 0.0, 1.0, 0), GRADSTEP_STATUS_NULL_POINTER);
    EXPECT(gradstep_kernel_momentum(w, g, (float *)((char *)m + 1), K - 1, 0, 0.1f, 0.9, 0, 0.0, 1.0, 0),
           GRADSTEP_STATUS_MISALIGNED);
    EXPECT(gradstep_kernel_momentum(w, g, w + 3, K - 3, 0, 0.1f, 0.9, 0, 0.0, 1.0, 0), GRADSTEP_STATUS_OVERLAP);
    EXPECT(gradstep_kernel_momentum(w, g, m, K, 0, 0.1f, 0.9, 0, 0.0, 1.0, 99), GRADSTEP_STATUS_INVALID_ARGUMENT);
    EXPECT(gradstep_kernel_momentum(w, g, m, K, 2, 0.1f, 0.9, 0, 0.0, 1.0, 0), GRADSTEP_STATUS_BAD_ROWS);
    EXPECT(gradstep_kernel_momentum(w, g, m, K, 0, 0.1f, NAN, 0, 0.0, 1.0, 0), GRADSTEP_STATUS_NOT_FINITE);
    EXPECT(gradstep_kernel_momentum(w, g, m, K, 0, -0.1f, 0.9, 0, 0.0, 1.0, 0), GRADSTEP_STATUS_NEGATIVE);
    EXPECT(gradstep_kernel_momentum(w, g, m, K, 0, 0.1f, 0.9, 0, 0.0, 0.0, 0), GRADSTEP_STATUS_NOT_POSITIVE);
    EXPECT(gradstep_kernel_sgd(w, g, m, K, 0, 0.1f, 0.9, 0.1, 1, 0, 0.0, 1.0, 0),
           GRADSTEP_STATUS_NESTEROV_NEEDS_MOMENTUM);
    CHECK(memcmp(w, w0, sizeof w) == 0 && memcmp(m, m0, sizeof m) == 0);
}

/* ----- learning-rate tables and schedules ------------------------------------------------ */

/* MindSpore's `dynamic_lr` function `name` through the C API, arguments in signature order. */
static gradstep_status fill_table(const golden_table *c, float *out, size_t len) {
    const double *a = c->args;
    const char *f = c->function;
    if (strcmp(f, "exponential_decay_lr") == 0) {
        return gradstep_exponential_decay_lr(a[0], a[1], (uint32_t)a[2], (uint32_t)a[3], (uint32_t)a[4], (uint32_t)a[5],
                                             out, len);
    } else if (strcmp(f, "natural_exp_decay_lr") == 0) {
        return gradstep_natural_exp_decay_lr(a[0], a[1], (uint32_t)a[2], (uint32_t)a[3], (uint32_t)a[4], (uint32_t)a[5],
                                             out, len);
    } else if (strcmp(f, "inverse_decay_lr") == 0) {
        return gradstep_inverse_decay_lr(a[0], a[1], (uint32_t)a[2], (uint32_t)a[3], (uint32_t)a[4], (uint32_t)a[5],
                                         out, len);
    } else if (strcmp(f, "cosine_decay_lr") == 0) {
        return gradstep_cosine_decay_lr(a[0], a[1], (uint32_t)a[2], (uint32_t)a[3], (uint32_t)a[4], out, len);
    } else if (strcmp(f, "polynomial_decay_lr") == 0) {
        return gradstep_polynomial_decay_lr(a[0], a[1], (uint32_t)a[2], (uint32_t)a[3], (uint32_t)a[4], a[5],
                                            (uint32_t)a[6], out, len);
    } else if (strcmp(f, "warmup_lr") == 0) {
        return gradstep_warmup_lr(a[0], (uint32_t)a[1], (uint32_t)a[2], (uint32_t)a[3], out, len);
    }
    printf("FAIL: the C test does not know %s\n", f);
    return GRADSTEP_STATUS_INVALID_ARGUMENT;
}

/* MindSpore's `LearningRateSchedule` class `name` through the C API. */
static gradstep_status make_schedule(const char *name, const double *a, gradstep_schedule *out) {
    if (strcmp(name, "ExponentialDecayLR") == 0) {
        return gradstep_schedule_exponential_decay(a[0], a[1], (uint32_t)a[2], (uint32_t)a[3], out);
    } else if (strcmp(name, "NaturalExpDecayLR") == 0) {
        return gradstep_schedule_natural_exp_decay(a[0], a[1], (uint32_t)a[2], (uint32_t)a[3], out);
    } else if (strcmp(name, "InverseDecayLR") == 0) {
        return gradstep_schedule_inverse_decay(a[0], a[1], (uint32_t)a[2], (uint32_t)a[3], out);
    } else if (strcmp(name, "CosineDecayLR") == 0) {
        return gradstep_schedule_cosine_decay(a[0], a[1], (uint32_t)a[2], out);
    } else if (strcmp(name, "PolynomialDecayLR") == 0) {
        return gradstep_schedule_polynomial_decay(a[0], a[1], (uint32_t)a[2], a[3], (uint32_t)a[4], out);
    } else if (strcmp(name, "WarmUpLR") == 0) {
        return gradstep_schedule_warmup(a[0], (uint32_t)a[1], out);
    }
    printf("FAIL: the C test does not know %s\n", name);
    return GRADSTEP_STATUS_INVALID_ARGUMENT;
}

/* Adam, AMSGrad and AdamWeightDecay one tensor at a time: every backend gives the scalar one's
 * bits (the fused multiply-adds in hardware or in software), and every rejection writes nothing. */
static void test_adam_kernels(void) {
    /* state: m then v; AMSGrad's v-hat after them */
    float w0[K], g[K], s0[3 * K], w[K], s[3 * K], ws[K], ss[3 * K];
    fill_buffers(w0, g, s0);
    for (int i = 0; i < 3 * K; i++) {
        s0[i] = 0.01f * (float)(i % 7); /* moments ≥ 0 */
    }
    gradstep_adam_settings a = gradstep_adam_settings_default();
    a.nesterov = 1;
    a.loss_scale = 128.0;
    a.threads = 2;
    gradstep_adamw_settings aw = gradstep_adamw_settings_default();
    for (int variant = 0; variant < 3; variant++) {
        a.nesterov = variant == 0;
        a.amsgrad = variant == 1;
        size_t n_state = (variant == 1 ? 3 : 2) * K;
#define ADAM_CALL(backend)                                                                            \
    (variant < 2 ? gradstep_kernel_adam(w, g, s, K, 0, 0.01f, 1e-4, 0.9f, 0.999f, &a, (backend))   \
                 : gradstep_kernel_adamw(w, g, s, K, 0, 0.01f, 1e-2, &aw, (backend)))
        memcpy(w, w0, sizeof w);
        memcpy(s, s0, sizeof s);
        OK(ADAM_CALL(GRADSTEP_BACKEND_SCALAR));
        memcpy(ws, w, sizeof ws);
        memcpy(ss, s, sizeof ss);
        CHECK(memcmp(w, w0, sizeof w) != 0);
        for (uint32_t p = GRADSTEP_BACKEND_AUTO; p <= GRADSTEP_BACKEND_AVX512; p++) {
            memcpy(w, w0, sizeof w);
            memcpy(s, s0, sizeof s);
            gradstep_status want = gradstep_backend_available(p) ? GRADSTEP_STATUS_OK : GRADSTEP_STATUS_BACKEND_UNAVAILABLE;
            EXPECT(ADAM_CALL(p), want);
            if (want == GRADSTEP_STATUS_OK) {
                CHECK(memcmp(w, ws, sizeof w) == 0 && memcmp(s, ss, n_state * sizeof(float)) == 0);
            } else {
                CHECK(memcmp(w, w0, sizeof w) == 0 && memcmp(s, s0, sizeof s) == 0);
            }
        }
#undef ADAM_CALL
    }
    /* rejections: nothing written */
    memcpy(w, w0, sizeof w);
    memcpy(s, s0, sizeof s);
    a.amsgrad = 0;
    a.nesterov = 0;
    EXPECT(gradstep_kernel_adam(w, g, s, K, 0, 0.01f, 0.0, 1.0f, 0.5f, &a, 0), GRADSTEP_STATUS_OUT_OF_RANGE);
    EXPECT(gradstep_kernel_adam(w, g, s, K, 0, 0.01f, 0.0, 0.5f, -0.5f, &a, 0), GRADSTEP_STATUS_OUT_OF_RANGE);
    EXPECT(gradstep_kernel_adam(w, g, s, K, 0, 0.01f, 0.0, 0.9f, 0.999f, NULL, 0), GRADSTEP_STATUS_NULL_POINTER);
    EXPECT(gradstep_kernel_adam(w, g, s, K, 7, 0.01f, 0.0, 0.9f, 0.999f, &a, 0), GRADSTEP_STATUS_BAD_ROWS);
    /* the state overlapping the parameters */
    EXPECT(gradstep_kernel_adam(w, g, w, K / 2, 0, 0.01f, 0.0, 0.9f, 0.999f, &a, 0), GRADSTEP_STATUS_OVERLAP);
    EXPECT(gradstep_kernel_adamw(w, g, s, K, 0, 0.01f, -1.0, &aw, 0), GRADSTEP_STATUS_NEGATIVE);
    gradstep_adam_settings bad = a;
    bad.beta1 = 1.0;
    EXPECT(gradstep_kernel_adam(w, g, s, K, 0, 0.01f, 0.0, 0.9f, 0.999f, &bad, 0), GRADSTEP_STATUS_OUT_OF_RANGE);
    bad = a;
    bad.amsgrad = 1;
    bad.nesterov = 1;
    EXPECT(gradstep_kernel_adam(w, g, s, K, 0, 0.01f, 0.0, 0.9f, 0.999f, &bad, 0), GRADSTEP_STATUS_AMSGRAD_WITH_NESTEROV);
    bad = a;
    bad.threads = 0;
    EXPECT(gradstep_kernel_adam(w, g, s, K, 0, 0.01f, 0.0, 0.9f, 0.999f, &bad, 0), GRADSTEP_STATUS_NOT_POSITIVE);
    bad = a;
    bad.eps = 0.0;
    EXPECT(gradstep_kernel_adam(w, g, s, K, 0, 0.01f, 0.0, 0.9f, 0.999f, &bad, 0), GRADSTEP_STATUS_NOT_POSITIVE);
    gradstep_adamw_settings bad_w = aw;
    bad_w.beta2 = -0.5;
    EXPECT(gradstep_kernel_adamw(w, g, s, K, 0, 0.01f, 0.0, &bad_w, 0), GRADSTEP_STATUS_OUT_OF_RANGE);
    CHECK(memcmp(w, w0, sizeof w) == 0 && memcmp(s, s0, sizeof s) == 0);

    /* the optimizers refuse the same settings, and write nothing */
    gradstep_tensor t[1] = {{K, 0, 0}};
    gradstep_group grp[1] = {gradstep_group_static(0.01, 0.0, 0)};
    gradstep_optimizer opt;
    memset(&opt, 0xab, sizeof opt);
    gradstep_optimizer before = opt;
    bad = a;
    bad.nesterov = 1;
    bad.amsgrad = 1;
    EXPECT(gradstep_adam_init(&opt, t, 1, grp, 1, &bad), GRADSTEP_STATUS_AMSGRAD_WITH_NESTEROV);
    EXPECT(gradstep_adamw_init(&opt, t, 1, grp, 1, &bad_w), GRADSTEP_STATUS_OUT_OF_RANGE);
    CHECK(memcmp(&opt, &before, sizeof opt) == 0);
    /* state_len: two buffers, three with AMSGrad */
    size_t len = 0;
    OK(gradstep_adamw_init(&opt, t, 1, grp, 1, &aw));
    OK(gradstep_optimizer_state_len(&opt, &len));
    CHECK(len == 2 * K);
    a.amsgrad = 1;
    OK(gradstep_adam_init(&opt, t, 1, grp, 1, &a));
    OK(gradstep_optimizer_state_len(&opt, &len));
    CHECK(len == 3 * K);
}

static void test_golden_tables(void) {
    float t[64];
    for (size_t i = 0; i < GOLDEN_TABLES; i++) {
        const golden_table *c = &golden_tables[i];
        CHECK(c->len <= 64);
        OK(fill_table(c, t, c->len));
        long bad = first_difference(t, c->values, c->len);
        if (bad >= 0) {
            printf("FAIL %s: entry %ld differs from MindSpore\n", c->function, bad);
        }
        CHECK(bad < 0);
        EXPECT(fill_table(c, t, c->len - 1), GRADSTEP_STATUS_LENGTH_MISMATCH);
    }
    printf("golden tables: %d bit-exact\n", GOLDEN_TABLES);

    const uint32_t milestones[3] = {1, 1, 3};
    const double lrs[3] = {0.3, 0.2, 0.1};
    size_t len = 0;
    OK(gradstep_piecewise_constant_len(milestones, 3, lrs, 3, &len));
    CHECK(len == 3);
    float pw[3];
    OK(gradstep_piecewise_constant_lr(milestones, 3, lrs, 3, pw, 3));
    CHECK(pw[0] == (float)0.3 && pw[1] == (float)0.1 && pw[2] == (float)0.1);

    EXPECT(gradstep_exponential_decay_lr(0.1, 0.9, 0, 2, 2, 0, t, 0), GRADSTEP_STATUS_NOT_POSITIVE);
    EXPECT(gradstep_cosine_decay_lr(0.1, 0.1, 10, 1, 2, t, 10), GRADSTEP_STATUS_MIN_LR_NOT_BELOW_MAX_LR);
    const uint32_t decreasing[2] = {3, 2};
    EXPECT(gradstep_piecewise_constant_len(decreasing, 2, lrs, 2, &len), GRADSTEP_STATUS_MILESTONE_DECREASING);
    const double negative[2] = {-0.1, 0.2};
    EXPECT(gradstep_piecewise_constant_lr(milestones, 2, negative, 2, pw, 1), GRADSTEP_STATUS_NEGATIVE);
    EXPECT(gradstep_piecewise_constant_len(milestones, 3, lrs, 2, &len), GRADSTEP_STATUS_LENGTH_MISMATCH);
    EXPECT(gradstep_piecewise_constant_len(NULL, 3, lrs, 3, &len), GRADSTEP_STATUS_NULL_POINTER);
}

static void test_golden_schedules(void) {
    for (size_t i = 0; i < GOLDEN_SCHEDULES; i++) {
        const golden_schedule *c = &golden_schedules[i];
        gradstep_schedule s;
        OK(make_schedule(c->class_name, c->args, &s));
        for (size_t k = 0; k < c->n_steps; k++) {
            float lr = -1.0f;
            OK(gradstep_schedule_lr(&s, c->steps[k], &lr));
            if (to_bits(lr) != c->values[k]) {
                failures++;
                printf("FAIL %s at step %u: %08x, MindSpore %08x\n", c->class_name, c->steps[k], to_bits(lr),
                       c->values[k]);
            }
            checks++;
        }
    }
    printf("golden schedules: %d bit-exact\n", GOLDEN_SCHEDULES);

    gradstep_schedule s[3];
    OK(gradstep_schedule_warmup(0.1, 3, &s[0]));
    OK(gradstep_schedule_cosine_decay(0.01, 0.1, 7, &s[1]));
    OK(gradstep_schedule_cosine_warm_restarts(0.001, 0.1, 4, 2, &s[2]));
    float lr = 0.0f, cos0 = 0.0f;
    OK(gradstep_schedule_lr(&s[2], 1000000, &lr));
    CHECK(lr >= 0.0f && isfinite(lr));
    /* warm-up for 3 steps, then the cosine decay from its step 0 */
    const uint32_t boundaries[1] = {3};
    OK(gradstep_schedule_lr(&s[1], 0, &cos0));
    OK(gradstep_sequence_lr(s, 2, boundaries, 1, 3, &lr));
    CHECK(lr == cos0);

    EXPECT(gradstep_schedule_cosine_decay(0.2, 0.1, 2, &s[0]), GRADSTEP_STATUS_MIN_LR_NOT_BELOW_MAX_LR);
    EXPECT(gradstep_schedule_warmup(0.1, 0, &s[0]), GRADSTEP_STATUS_NOT_POSITIVE);
    gradstep_schedule growing;
    OK(gradstep_schedule_exponential_decay(0.1, 2.0, 1, 0, &growing));
    EXPECT(gradstep_schedule_lr(&growing, 200, &lr), GRADSTEP_STATUS_NOT_FINITE);
    gradstep_schedule zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    EXPECT(gradstep_schedule_lr(&zeroed, 0, &lr), GRADSTEP_STATUS_INVALID_ARGUMENT);
    const uint32_t zero[1] = {0};
    EXPECT(gradstep_sequence_lr(s, 2, zero, 1, 3, &lr), GRADSTEP_STATUS_BOUNDARIES_NOT_INCREASING);
    EXPECT(gradstep_sequence_lr(s, 2, boundaries, 0, 3, &lr), GRADSTEP_STATUS_LENGTH_MISMATCH);
    EXPECT(gradstep_sequence_lr(NULL, 0, NULL, 0, 3, &lr), GRADSTEP_STATUS_EMPTY_TABLE);
}

/* ----- the golden trajectories ----------------------------------------------------------- */

#define MAX_GROUPS 4
#define MAX_LEN 1024
#define MAX_BUFFERS 3

static void test_golden_trajectories(void) {
    for (size_t i = 0; i < GOLDEN_CASES; i++) {
        const golden_case *c = &golden_cases[i];
        CHECK(c->n_groups <= MAX_GROUPS && c->len <= MAX_LEN && c->state_buffers <= MAX_BUFFERS);
        gradstep_schedule schedules[MAX_GROUPS];
        gradstep_group groups[MAX_GROUPS];
        for (size_t j = 0; j < c->n_groups; j++) {
            const golden_group *g = &c->groups[j];
            if (g->lr_kind == GRADSTEP_LR_STATIC) {
                groups[j] = gradstep_group_static(g->lr, g->weight_decay, g->centralize);
            } else if (g->lr_kind == GRADSTEP_LR_TABLE) {
                groups[j] = gradstep_group_table(g->table, g->table_len, 0, g->weight_decay, g->centralize);
            } else {
                OK(make_schedule(g->schedule, g->schedule_args, &schedules[j]));
                groups[j] = gradstep_group_schedule(&schedules[j], g->weight_decay, g->centralize);
            }
        }
        gradstep_optimizer opt;
        if (c->optimizer == 1) {
            gradstep_momentum_settings s = gradstep_momentum_settings_default(c->momentum);
            s.nesterov = c->nesterov;
            s.loss_scale = c->loss_scale;
            OK(gradstep_momentum_init(&opt, c->tensors, c->n_tensors, groups, c->n_groups, &s));
        } else if (c->optimizer == 2) {
            gradstep_sgd_settings s = gradstep_sgd_settings_default();
            s.momentum = c->momentum;
            s.dampening = c->dampening;
            s.nesterov = c->nesterov;
            s.loss_scale = c->loss_scale;
            OK(gradstep_sgd_init(&opt, c->tensors, c->n_tensors, groups, c->n_groups, &s));
        } else if (c->optimizer == 3) {
            gradstep_adam_settings s = gradstep_adam_settings_default();
            s.beta1 = c->beta1;
            s.beta2 = c->beta2;
            s.eps = c->eps;
            s.loss_scale = c->loss_scale;
            s.nesterov = c->nesterov;
            s.amsgrad = c->amsgrad;
            s.threads = c->threads;
            OK(gradstep_adam_init(&opt, c->tensors, c->n_tensors, groups, c->n_groups, &s));
        } else {
            gradstep_adamw_settings s = gradstep_adamw_settings_default();
            s.beta1 = c->beta1;
            s.beta2 = c->beta2;
            s.eps = c->eps;
            OK(gradstep_adamw_init(&opt, c->tensors, c->n_tensors, groups, c->n_groups, &s));
        }
        static float w[MAX_LEN], g[MAX_LEN], s[MAX_BUFFERS * MAX_LEN];
        memset(s, 0, sizeof s);
        size_t state_len = 0;
        OK(gradstep_optimizer_state_len(&opt, &state_len));
        CHECK(state_len == c->len * c->state_buffers);
        load(w, c->initial, c->len);
        long bad = -1;
        for (size_t k = 0; k < c->steps && bad < 0; k++) {
            load(g, c->grads + k * c->len, c->len);
            OK(gradstep_optimizer_step(&opt, w, g, c->len, s, state_len));
            bad = first_difference(w, c->params_after + k * c->len, c->len);
            if (bad < 0) {
                bad = first_difference(s, c->state_after + k * state_len, state_len);
            }
            if (bad >= 0) {
                printf("FAIL %s: step %zu differs from MindSpore at element %ld\n", c->name, k, bad);
            }
        }
        CHECK(bad < 0);
        uint32_t step = 0;
        OK(gradstep_optimizer_global_step(&opt, &step));
        CHECK(step == c->steps);
        printf("golden trajectory %s: %zu steps bit-exact%s%s\n", c->name, c->steps, *c->quirks ? "; " : "",
               c->quirks);
    }
}

/* ----- the optimizer API ----------------------------------------------------------------- */

static void test_optimizer(void) {
    /* a 4×6 weight (centralized), a bias and a scale, a classifier weight */
    gradstep_tensor layout[4] = {{24, 4, 0}, {4, 0, 1}, {4, 0, 1}, {12, 3, 2}};
    enum { LEN = 44 };
    float table[3] = {0.1f, 0.05f, 0.01f};
    gradstep_schedule warm;
    OK(gradstep_schedule_warmup(0.1, 2, &warm));
    gradstep_group groups[3] = {
        gradstep_group_table(table, 3, 0, 1e-4, 1),
        gradstep_group_static(0.01, 0.0, 0),
        gradstep_group_schedule(&warm, 1e-5, 0),
    };
    gradstep_momentum_settings ms = gradstep_momentum_settings_default(0.9);
    ms.nesterov = 1;
    ms.check_finite = 1;
    gradstep_optimizer opt;
    OK(gradstep_momentum_init(&opt, layout, 4, groups, 3, &ms));

    float w[LEN], g[LEN], s[LEN];
    for (int i = 0; i < LEN; i++) {
        w[i] = 0.02f * (float)i - 0.4f;
        g[i] = 0.05f * (float)((i * 5) % 9) - 0.2f;
        s[i] = 0.0f;
    }
    size_t len = 0;
    OK(gradstep_optimizer_len(&opt, &len));
    CHECK(len == LEN);
    float lr = 0.0f;
    OK(gradstep_optimizer_lr(&opt, 0, &lr));
    CHECK(lr == 0.1f);
    size_t state_len = 0;
    OK(gradstep_optimizer_state_len(&opt, &state_len));
    CHECK(state_len == LEN);
    OK(gradstep_optimizer_step(&opt, w, g, LEN, s, LEN));

    /* rejections leave everything as it was */
    float w0[LEN], s0[LEN];
    memcpy(w0, w, sizeof w);
    memcpy(s0, s, sizeof s);
    EXPECT(gradstep_optimizer_step(&opt, w, g, LEN - 1, s, LEN - 1), GRADSTEP_STATUS_LENGTH_MISMATCH);
    EXPECT(gradstep_optimizer_step(&opt, w, g, LEN, w, LEN), GRADSTEP_STATUS_OVERLAP);
    EXPECT(gradstep_optimizer_step(&opt, (float *)groups, g, 8, s, 8), GRADSTEP_STATUS_OVERLAP);
    EXPECT(gradstep_optimizer_step(&opt, (float *)&opt, g, 8, s, 8), GRADSTEP_STATUS_OVERLAP);
    EXPECT(gradstep_optimizer_step(&opt, table, g, 3, s, 3), GRADSTEP_STATUS_OVERLAP);
    g[LEN - 1] = INFINITY;
    EXPECT(gradstep_optimizer_step(&opt, w, g, LEN, s, LEN), GRADSTEP_STATUS_NON_FINITE_GRADIENT);
    g[LEN - 1] = 0.25f;
    CHECK(memcmp(w, w0, sizeof w) == 0 && memcmp(s, s0, sizeof s) == 0);

    /* reading and setting learning rates */
    OK(gradstep_optimizer_set_lr(&opt, 1, 0.005));
    OK(gradstep_optimizer_lr(&opt, 1, &lr));
    CHECK(lr == 0.005f);
    EXPECT(gradstep_optimizer_set_lr(&opt, 0, 0.1), GRADSTEP_STATUS_NOT_STATIC);
    EXPECT(gradstep_optimizer_set_lr(&opt, 7, 0.1), GRADSTEP_STATUS_NO_SUCH_GROUP);
    EXPECT(gradstep_optimizer_lr(&opt, 7, &lr), GRADSTEP_STATUS_NO_SUCH_GROUP);

    /* save now; step 1 sharded in two; then a restored copy must give the same bits */
    size_t saved_len = 0;
    OK(gradstep_optimizer_saved_len(&opt, &saved_len));
    uint8_t saved[512];
    CHECK(saved_len <= sizeof saved);
    size_t written = 0;
    OK(gradstep_optimizer_save(&opt, s, LEN, saved, sizeof saved, &written));
    CHECK(written == saved_len);
    float wr[LEN], sr[LEN];
    memcpy(wr, w, sizeof w);

    uint32_t token = 0;
    OK(gradstep_optimizer_begin_step(&opt, &token));
    CHECK(token == 1);
    size_t offset = 0, n = 0;
    OK(gradstep_optimizer_elements(&opt, 0, 2, &offset, &n));
    CHECK(offset == 0 && n == 28);
    EXPECT(gradstep_optimizer_elements(&opt, 0, 9, &offset, &n), GRADSTEP_STATUS_TENSOR_RANGE);
    /* shards are element ranges, cut anywhere but inside a row of the centralized 4 x 6 weight */
    EXPECT(gradstep_optimizer_step_shard(&opt, token, 0, 3, w, g, LEN, s, LEN), GRADSTEP_STATUS_ELEMENT_RANGE);
    EXPECT(gradstep_optimizer_step_shard(&opt, token, 30, 29, w, g, LEN, s, LEN), GRADSTEP_STATUS_ELEMENT_RANGE);
    EXPECT(gradstep_optimizer_step_shard(&opt, token, 30, LEN + 1, w, g, LEN, s, LEN), GRADSTEP_STATUS_ELEMENT_RANGE);
    EXPECT(gradstep_optimizer_step_shard(&opt, token + 5, 0, 6, w, g, LEN, s, LEN), GRADSTEP_STATUS_STALE_STEP);
    EXPECT(gradstep_optimizer_step_shard(&opt, token, 0, 6, w, g, 28, s, 28), GRADSTEP_STATUS_LENGTH_MISMATCH);
    CHECK(memcmp(wr, w, sizeof w) == 0);
    /* a plan of three shards, back to back over the layout, taken in reverse order; the middle
     * one cut again inside the bias (element 30) */
    size_t starts[3], ends[3];
    for (size_t i = 0; i < 3; i++) OK(gradstep_optimizer_plan(&opt, 3, i, &starts[i], &ends[i]));
    CHECK(starts[0] == 0 && ends[0] == starts[1] && ends[1] == starts[2] && ends[2] == LEN);
    EXPECT(gradstep_optimizer_plan(&opt, 0, 0, &starts[0], &ends[0]), GRADSTEP_STATUS_INVALID_ARGUMENT);
    EXPECT(gradstep_optimizer_plan(&opt, 3, 3, &starts[0], &ends[0]), GRADSTEP_STATUS_INVALID_ARGUMENT);
    CHECK(starts[0] == 0);
    OK(gradstep_optimizer_step_shard(&opt, token, starts[2], ends[2], w, g, LEN, s, LEN));
    if (starts[1] < 30 && 30 < ends[1]) {
        OK(gradstep_optimizer_step_shard(&opt, token, 30, ends[1], w, g, LEN, s, LEN));
        OK(gradstep_optimizer_step_shard(&opt, token, starts[1], 30, w, g, LEN, s, LEN));
    } else {
        OK(gradstep_optimizer_step_shard(&opt, token, starts[1], ends[1], w, g, LEN, s, LEN));
    }
    OK(gradstep_optimizer_step_shard(&opt, token, starts[0], ends[0], w, g, LEN, s, LEN));
    EXPECT(gradstep_optimizer_end_step(&opt, token + 1), GRADSTEP_STATUS_STALE_STEP);
    OK(gradstep_optimizer_end_step(&opt, token));

    /* a fresh optimizer restored from the saved bytes takes the same step 1 as a whole step */
    float table_copy[3] = {0.1f, 0.05f, 0.01f};
    gradstep_group groups2[3] = {
        gradstep_group_table(table_copy, 3, 0, 1e-4, 1),
        gradstep_group_static(0.01, 0.0, 0),
        gradstep_group_schedule(&warm, 1e-5, 0),
    };
    gradstep_optimizer restored;
    OK(gradstep_momentum_init(&restored, layout, 4, groups2, 3, &ms));
    OK(gradstep_optimizer_restore(&restored, saved, written, sr, LEN));
    OK(gradstep_optimizer_lr(&restored, 1, &lr));
    CHECK(lr == 0.005f);
    OK(gradstep_optimizer_step(&restored, wr, g, LEN, sr, LEN));
    CHECK(memcmp(wr, w, sizeof w) == 0 && memcmp(sr, s, sizeof s) == 0);
    /* restore's bytes may not overlap the state it writes */
    EXPECT(gradstep_optimizer_restore(&restored, (const uint8_t *)sr, written, sr, LEN), GRADSTEP_STATUS_OVERLAP);

    /* damaged bytes are rejected, and nothing changes */
    uint8_t damaged[512];
    memcpy(damaged, saved, written);
    damaged[30] ^= 1;
    EXPECT(gradstep_optimizer_restore(&restored, damaged, written, sr, LEN), GRADSTEP_STATUS_SAVED_STATE);
    /* a saved state at the last step: restoring works, stepping overflows */
    memcpy(damaged, saved, written);
    const uint32_t last = 0xffffffffu;
    memcpy(damaged + 8, &last, 4); /* little-endian step counter */
    uint32_t sum = fnv1a(damaged, written - 4);
    memcpy(damaged + written - 4, &sum, 4);
    OK(gradstep_optimizer_restore(&restored, damaged, written, sr, LEN));
    EXPECT(gradstep_optimizer_step(&restored, wr, g, LEN, sr, LEN), GRADSTEP_STATUS_STEP_OVERFLOW);

    /* step 2 is the table's last; step 3 is past its end */
    OK(gradstep_optimizer_step(&opt, w, g, LEN, s, LEN));
    EXPECT(gradstep_optimizer_step(&opt, w, g, LEN, s, LEN), GRADSTEP_STATUS_PAST_TABLE_END);
    EXPECT(gradstep_optimizer_begin_step(&opt, &token), GRADSTEP_STATUS_PAST_TABLE_END);
}

static void test_init_rejections(void) {
    gradstep_optimizer opt;
    memset(&opt, 0, sizeof opt);
    float w[4] = {0}, g[4] = {0}, s[4] = {0};
    uint32_t step = 0;
    EXPECT(gradstep_optimizer_step(&opt, w, g, 4, s, 4), GRADSTEP_STATUS_UNINITIALIZED);
    EXPECT(gradstep_optimizer_global_step(&opt, &step), GRADSTEP_STATUS_UNINITIALIZED);

    gradstep_momentum_settings ms = gradstep_momentum_settings_default(0.9);
    gradstep_group one[1] = {gradstep_group_static(0.1, 0.0, 0)};
    gradstep_group two[2] = {gradstep_group_static(0.1, 0.0, 0), gradstep_group_static(0.1, 0.0, 0)};
    gradstep_tensor bad_group[1] = {{4, 0, 1}};
    EXPECT(gradstep_momentum_init(&opt, bad_group, 1, one, 1, &ms), GRADSTEP_STATUS_GROUP_OUT_OF_RANGE);
    gradstep_tensor only_group_0[1] = {{4, 0, 0}};
    EXPECT(gradstep_momentum_init(&opt, only_group_0, 1, two, 2, &ms), GRADSTEP_STATUS_EMPTY_GROUP);
    gradstep_tensor bad_rows[1] = {{5, 2, 0}};
    EXPECT(gradstep_momentum_init(&opt, bad_rows, 1, one, 1, &ms), GRADSTEP_STATUS_TENSOR_ROWS);
    gradstep_tensor huge[1] = {{SIZE_MAX / 8, 0, 0}};
    EXPECT(gradstep_momentum_init(&opt, huge, 1, one, 1, &ms), GRADSTEP_STATUS_LAYOUT_TOO_LARGE);

    float t2[2] = {0.1f, 0.1f}, t3[3] = {0.1f, 0.1f, 0.1f};
    gradstep_group tables[2] = {gradstep_group_table(t2, 2, 0, 0.0, 0), gradstep_group_table(t3, 3, 0, 0.0, 0)};
    gradstep_tensor both[2] = {{2, 0, 0}, {2, 0, 1}};
    EXPECT(gradstep_momentum_init(&opt, both, 2, tables, 2, &ms), GRADSTEP_STATUS_TABLE_LENGTHS_DIFFER);
    gradstep_group empty[1] = {gradstep_group_table(t2, 0, 0, 0.0, 0)};
    EXPECT(gradstep_momentum_init(&opt, only_group_0, 1, empty, 1, &ms), GRADSTEP_STATUS_EMPTY_TABLE);
    gradstep_group negative[1] = {gradstep_group_static(0.1, -1.0, 0)};
    EXPECT(gradstep_momentum_init(&opt, only_group_0, 1, negative, 1, &ms), GRADSTEP_STATUS_NEGATIVE);
    gradstep_group unknown[1] = {gradstep_group_static(0.1, 0.0, 0)};
    unknown[0].lr_kind = 9;
    EXPECT(gradstep_momentum_init(&opt, only_group_0, 1, unknown, 1, &ms), GRADSTEP_STATUS_INVALID_ARGUMENT);
    gradstep_sgd_settings ss = gradstep_sgd_settings_default();
    ss.nesterov = 1;
    EXPECT(gradstep_sgd_init(&opt, only_group_0, 1, one, 1, &ss), GRADSTEP_STATUS_NESTEROV_NEEDS_MOMENTUM);
    ms.backend = 99;
    EXPECT(gradstep_momentum_init(&opt, only_group_0, 1, one, 1, &ms), GRADSTEP_STATUS_INVALID_ARGUMENT);
    ms.backend = GRADSTEP_BACKEND_AUTO;
    EXPECT(gradstep_momentum_init(NULL, only_group_0, 1, one, 1, &ms), GRADSTEP_STATUS_NULL_POINTER);
    EXPECT(gradstep_momentum_init((gradstep_optimizer *)one, only_group_0, 1, one, 1, &ms), GRADSTEP_STATUS_OVERLAP);
    /* nothing was initialized by any of these */
    EXPECT(gradstep_optimizer_step(&opt, w, g, 4, s, 4), GRADSTEP_STATUS_UNINITIALIZED);
}

/* ----- the caller's memory, changed between steps ---------------------------------------- */

/* One change of what a step reads from caller memory, and the status the next step returns. */
typedef struct {
    const char *what;
    gradstep_status status;
} edit_case;

static void edit(int which, gradstep_tensor *t, gradstep_group *g, float *table, gradstep_schedule *s,
                 gradstep_optimizer *opt) {
    switch (which) {
    case 0: t[1].group = 7; break;
    case 1: t[1].rows = 3; t[1].len = 4; break; /* total changes too; rows are checked first */
    case 2: t[0].rows = 4; break;
    case 3: t[1].len += 1; break;
    case 4: g[0].lr_kind = 9; break;
    case 5: g[1].table = NULL; break;
    case 6: g[1].table_len = 0; break;
    case 7: g[1].table = (const float *)((const char *)table + 1); break;
    case 8: table[1] = NAN; break;
    case 9: g[2].schedule = NULL; break;
    case 10: memset(s, 0, sizeof *s); break;
    case 11: opt->_private[4] ^= 1u; break;
    case 12: memset(opt, 0, sizeof *opt); break;
    case 13: g[1].lr_kind = GRADSTEP_LR_STATIC; break; /* a table at init: no static lr */
    default: break;
    }
}

static const edit_case edits[] = {
    {"tensors[1].group = 7", GRADSTEP_STATUS_GROUP_OUT_OF_RANGE},
    {"tensors[1].rows = 3 (centralized, does not divide)", GRADSTEP_STATUS_TENSOR_ROWS},
    {"tensors[0].rows = 4", GRADSTEP_STATUS_TENSOR_ROWS},
    {"tensors[1].len + 1", GRADSTEP_STATUS_LAYOUT_CHANGED},
    {"groups[0].lr_kind = 9", GRADSTEP_STATUS_INVALID_ARGUMENT},
    {"groups[1].table = NULL", GRADSTEP_STATUS_NULL_POINTER},
    {"groups[1].table_len = 0", GRADSTEP_STATUS_EMPTY_TABLE},
    {"groups[1].table misaligned", GRADSTEP_STATUS_MISALIGNED},
    {"table[1] = NaN", GRADSTEP_STATUS_NOT_FINITE},
    {"groups[2].schedule = NULL", GRADSTEP_STATUS_NULL_POINTER},
    {"the schedule zeroed", GRADSTEP_STATUS_INVALID_ARGUMENT},
    {"a word of the optimizer", GRADSTEP_STATUS_INVALID_ARGUMENT},
    {"the optimizer zeroed", GRADSTEP_STATUS_UNINITIALIZED},
    {"groups[1].lr_kind = STATIC (a table at init)", GRADSTEP_STATUS_NOT_STATIC},
};

static void test_edits_between_steps(void) {
    enum { LEN = 14 };
    for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
        gradstep_tensor t[3] = {{6, 2, 0}, {2, 0, 1}, {6, 3, 2}};
        float table[4] = {0.1f, 0.09f, 0.08f, 0.07f};
        gradstep_schedule s;
        OK(gradstep_schedule_cosine_decay(0.001, 0.1, 10, &s));
        gradstep_group g[3] = {
            gradstep_group_static(0.05, 1e-4, 1),
            gradstep_group_table(table, 4, 0, 0.0, 1),
            gradstep_group_schedule(&s, 0.0, 1),
        };
        gradstep_momentum_settings ms = gradstep_momentum_settings_default(0.9);
        gradstep_optimizer opt;
        OK(gradstep_momentum_init(&opt, t, 3, g, 3, &ms));
        float w[LEN], grads[LEN], state[LEN] = {0};
        for (int i = 0; i < LEN; i++) {
            w[i] = 0.5f - 0.01f * (float)i;
            grads[i] = 0.25f - 0.02f * (float)i;
        }
        OK(gradstep_optimizer_step(&opt, w, grads, LEN, state, LEN));
        float w0[LEN], state0[LEN];
        memcpy(w0, w, sizeof w);
        memcpy(state0, state, sizeof state);
        edit((int)e, t, g, table, &s, &opt);
        gradstep_optimizer edited = opt;
        gradstep_status got = gradstep_optimizer_step(&opt, w, grads, LEN, state, LEN);
        if (got != edits[e].status) {
            printf("FAIL edit %s: status %d (%s)\n", edits[e].what, (int)got, gradstep_status_message((int32_t)got));
        }
        EXPECT(got, edits[e].status);
        CHECK(memcmp(w, w0, sizeof w) == 0 && memcmp(state, state0, sizeof state) == 0);
        CHECK(memcmp(&opt, &edited, sizeof opt) == 0);
        uint32_t step = 0;
        if (edits[e].status != GRADSTEP_STATUS_UNINITIALIZED && edits[e].status != GRADSTEP_STATUS_INVALID_ARGUMENT) {
            OK(gradstep_optimizer_global_step(&opt, &step));
            CHECK(step == 1);
        }
    }
    printf("caller memory changed between steps: %zu changes, each an error before any write\n",
           sizeof edits / sizeof edits[0]);
}

int main(void) {
    test_messages_and_backends();
    test_kernels();
    test_adam_kernels();
    test_golden_tables();
    test_golden_schedules();
    test_golden_trajectories();
    test_optimizer();
    test_init_rejections();
    test_edits_between_steps();

    int unavailable = 0;
    for (uint32_t p = GRADSTEP_BACKEND_SCALAR; p <= GRADSTEP_BACKEND_AVX512; p++) {
        unavailable |= !gradstep_backend_available(p);
    }
    int provoked = 0, missing = 0;
    for (int c = 0; c < CODES; c++) {
        if (gradstep_status_message(c) == gradstep_status_message(999)) {
            continue; /* not a status code */
        }
        if (seen[c]) {
            provoked++;
        } else if (c == GRADSTEP_STATUS_BACKEND_UNAVAILABLE && !unavailable) {
            printf("note: every backend is available on this CPU, so BACKEND_UNAVAILABLE cannot be provoked here\n");
        } else {
            missing++;
            failures++;
            printf("FAIL: status %d (%s) was never returned\n", c, gradstep_status_message(c));
        }
    }
    if (seen[GRADSTEP_STATUS_BACKEND_UNAVAILABLE]) {
        printf("BACKEND_UNAVAILABLE provoked\n");
    }
    printf("%d checks, %d failures; %d status codes provoked, %d missing\n", checks, failures, provoked, missing);
    return failures == 0 ? 0 : 1;
}
