/*
 * The C API, from C: every function is called, every status code is provoked (but
 * GRADSTEP_STATUS_PATH_UNAVAILABLE, which needs a CPU without one of the paths: valgrind's, for
 * one), and three MindSpore 2.10.0 trajectories are replayed bit for bit.
 *
 * Build and run (see .ci/run):
 *   cargo rustc --lib --release --features capi --crate-type staticlib,cdylib
 *   gcc -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude tests/c/test_gradstep.c \
 *       target/release/libgradstep.a -lm -lpthread -ldl -Wl,--gc-sections -o target/c/test_gradstep
 *   target/c/test_gradstep
 */
#include "gradstep.h"
#include "golden_trajectories.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define CODES 34
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

/* ----- statuses, version, paths --------------------------------------------------------- */

static void test_messages_and_paths(void) {
    for (int32_t c = 0; c < CODES; c++) {
        CHECK(gradstep_status_message(c) != NULL);
    }
    CHECK(strcmp(gradstep_status_message(0), "ok") == 0);
    CHECK(strcmp(gradstep_status_message(999), "unknown status code") == 0);
    CHECK(strlen(gradstep_version()) > 0);
    uint32_t selected = gradstep_path_selected();
    CHECK(gradstep_path_available(selected) == 1);
    CHECK(gradstep_path_available(GRADSTEP_PATH_AUTO) == 1);
    CHECK(gradstep_path_available(GRADSTEP_PATH_SCALAR) == 1);
    CHECK(gradstep_path_available(GRADSTEP_PATH_WIDE) == 1);
    CHECK(gradstep_path_available(99) == 0);
    CHECK(strcmp(gradstep_path_name(99), "unknown") == 0);
    printf("paths: selected %s;", gradstep_path_name(selected));
    for (uint32_t p = GRADSTEP_PATH_SCALAR; p <= GRADSTEP_PATH_AVX512; p++) {
        printf(" %s%s", gradstep_path_name(p), gradstep_path_available(p) ? "" : " (unavailable)");
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

    /* every available path gives the scalar path's bits, with every option on */
    float ws[K], ms[K];
    memcpy(ws, w0, sizeof ws);
    memcpy(ms, m0, sizeof ms);
    OK(gradstep_kernel_momentum(ws, g, ms, K, 0, 0.1f, 0.9, 1, 1e-4, 128.0, GRADSTEP_PATH_SCALAR));
    for (uint32_t p = GRADSTEP_PATH_AUTO; p <= GRADSTEP_PATH_AVX512; p++) {
        memcpy(w, w0, sizeof w);
        memcpy(m, m0, sizeof m);
        gradstep_status want = gradstep_path_available(p) ? GRADSTEP_STATUS_OK : GRADSTEP_STATUS_PATH_UNAVAILABLE;
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
    OK(gradstep_kernel_momentum(w, g, m, K, 0, 0.1f, 0.9, 0, 0.0, 1.0, GRADSTEP_PATH_AUTO));
    for (int i = 0; i < K; i++) {
        volatile float mm = m0[i] * 0.9f + g[i];
        volatile float ww = w0[i] - mm * 0.1f;
        CHECK(to_bits(m[i]) == to_bits(mm) && to_bits(w[i]) == to_bits(ww));
    }
    /* centralized: a 1×37 tensor, and SGD with the first-step rule */
    OK(gradstep_kernel_momentum(w, g, m, K, 1, 0.1f, 0.9, 0, 0.0, 1.0, GRADSTEP_PATH_AUTO));
    OK(gradstep_kernel_sgd(w, g, m, K, 0, 0.1f, 0.9, 0.1, 0, 1, 0.0, 1.0, GRADSTEP_PATH_AUTO));
    OK(gradstep_kernel_sgd(w, g, m, K, 0, 0.1f, 0.9, 0.0, 1, 0, 1e-4, 1.0, GRADSTEP_PATH_AUTO));
    OK(gradstep_kernel_sgd(w, g, m, 0, 0, 0.1f, 0.9, 0.0, 0, 0, 0.0, 1.0, GRADSTEP_PATH_AUTO));
    OK(gradstep_kernel_momentum(NULL, NULL, NULL, 0, 0, 0.1f, 0.9, 0, 0.0, 1.0, GRADSTEP_PATH_AUTO));

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

static void test_tables(void) {
    /* MindSpore: exponential_decay_lr(0.1, 0.9, 10, 2, 2, is_stair=True) */
    static const uint32_t want[10] = {0x3dcccccd, 0x3dcccccd, 0x3dcccccd, 0x3dcccccd, 0x3db851ec,
                                      0x3db851ec, 0x3db851ec, 0x3db851ec, 0x3da5e354, 0x3da5e354};
    float t[10];
    OK(gradstep_exponential_decay_lr(0.1, 0.9, 10, 2, 2, 1, t, 10));
    CHECK(first_difference(t, want, 10) == -1);
    OK(gradstep_natural_exp_decay_lr(0.1, 0.9, 10, 2, 2, 0, t, 10));
    OK(gradstep_inverse_decay_lr(0.1, 0.5, 10, 2, 2, 1, t, 10));
    OK(gradstep_cosine_decay_lr(0.01, 0.1, 10, 2, 3, t, 10));
    OK(gradstep_polynomial_decay_lr(0.1, 0.01, 10, 2, 2, 0.5, 1, t, 10));
    OK(gradstep_warmup_lr(0.1, 10, 2, 3, t, 10));
    CHECK(t[0] == 0.0f && t[9] == (float)0.10000000000000002);

    const uint32_t milestones[3] = {1, 1, 3};
    const double lrs[3] = {0.3, 0.2, 0.1};
    size_t len = 0;
    OK(gradstep_piecewise_constant_len(milestones, 3, lrs, 3, &len));
    CHECK(len == 3);
    float pw[3];
    OK(gradstep_piecewise_constant_lr(milestones, 3, lrs, 3, pw, 3));
    CHECK(pw[0] == 0.3f && pw[1] == 0.1f && pw[2] == 0.1f);

    EXPECT(gradstep_warmup_lr(0.1, 10, 2, 3, t, 9), GRADSTEP_STATUS_LENGTH_MISMATCH);
    EXPECT(gradstep_exponential_decay_lr(0.1, 0.9, 0, 2, 2, 0, t, 0), GRADSTEP_STATUS_NOT_POSITIVE);
    EXPECT(gradstep_cosine_decay_lr(0.1, 0.1, 10, 1, 2, t, 10), GRADSTEP_STATUS_MIN_LR_NOT_BELOW_MAX_LR);
    const uint32_t decreasing[2] = {3, 2};
    EXPECT(gradstep_piecewise_constant_len(decreasing, 2, lrs, 2, &len), GRADSTEP_STATUS_MILESTONE_DECREASING);
    const double negative[2] = {-0.1, 0.2};
    EXPECT(gradstep_piecewise_constant_lr(milestones, 2, negative, 2, pw, 1), GRADSTEP_STATUS_NEGATIVE);
    EXPECT(gradstep_piecewise_constant_len(milestones, 3, lrs, 2, &len), GRADSTEP_STATUS_LENGTH_MISMATCH);
    EXPECT(gradstep_piecewise_constant_len(NULL, 3, lrs, 3, &len), GRADSTEP_STATUS_NULL_POINTER);
}

static void test_schedules(void) {
    gradstep_schedule s[7];
    OK(gradstep_schedule_exponential_decay(0.1, 0.9, 4, 0, &s[0]));
    OK(gradstep_schedule_natural_exp_decay(0.1, 0.3, 4, 1, &s[1]));
    OK(gradstep_schedule_inverse_decay(0.1, 0.9, 3, 0, &s[2]));
    OK(gradstep_schedule_cosine_decay(0.01, 0.1, 7, &s[3]));
    OK(gradstep_schedule_polynomial_decay(0.1, 0.01, 4, 2.0, 1, &s[4]));
    OK(gradstep_schedule_warmup(0.1, 3, &s[5]));
    OK(gradstep_schedule_cosine_warm_restarts(0.001, 0.1, 4, 2, &s[6]));
    float lr = 0.0f;
    /* MindSpore: ExponentialDecayLR(0.1, 0.9, 4) at step 5, InverseDecayLR(0.1, 0.9, 3) at step 5 */
    OK(gradstep_schedule_lr(&s[0], 5, &lr));
    CHECK(to_bits(lr) == 0x3db38743u);
    OK(gradstep_schedule_lr(&s[2], 5, &lr));
    CHECK(to_bits(lr) == 0x3d23d70bu);
    for (int i = 0; i < 7; i++) {
        OK(gradstep_schedule_lr(&s[i], 1000000, &lr));
        CHECK(lr >= 0.0f && isfinite(lr));
    }
    /* warm-up for 3 steps, then the cosine decay from its step 0 */
    const uint32_t boundaries[1] = {3};
    gradstep_schedule seq[2] = {s[5], s[3]};
    float cos0 = 0.0f;
    OK(gradstep_schedule_lr(&s[3], 0, &cos0));
    OK(gradstep_sequence_lr(seq, 2, boundaries, 1, 3, &lr));
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
    EXPECT(gradstep_sequence_lr(seq, 2, zero, 1, 3, &lr), GRADSTEP_STATUS_BOUNDARIES_NOT_INCREASING);
    EXPECT(gradstep_sequence_lr(seq, 2, boundaries, 0, 3, &lr), GRADSTEP_STATUS_LENGTH_MISMATCH);
    EXPECT(gradstep_sequence_lr(NULL, 0, NULL, 0, 3, &lr), GRADSTEP_STATUS_EMPTY_TABLE);
}

/* ----- the golden trajectories ----------------------------------------------------------- */

static void replay(const char *name, gradstep_optimizer *opt, size_t len, size_t steps, const uint32_t *initial,
                   const uint32_t *grads, const uint32_t *params_after, const uint32_t *state_after) {
    float w[16], g[16], s[16] = {0};
    load(w, initial, len);
    long bad = -1;
    for (size_t k = 0; k < steps && bad < 0; k++) {
        load(g, grads + k * len, len);
        OK(gradstep_optimizer_step(opt, w, g, s, len));
        bad = first_difference(w, params_after + k * len, len);
        if (bad < 0) {
            bad = first_difference(s, state_after + k * len, len);
        }
        if (bad >= 0) {
            printf("FAIL %s: step %zu differs from MindSpore at element %ld\n", name, k, bad);
        }
    }
    CHECK(bad < 0);
    uint32_t step = 0;
    OK(gradstep_optimizer_global_step(opt, &step));
    CHECK(step == steps);
    printf("golden trajectory %s: %zu steps bit-exact\n", name, steps);
}

static void test_golden(void) {
    gradstep_optimizer opt;
    gradstep_tensor layout[2];
    for (int i = 0; i < 2; i++) {
        layout[i].len = cosine_schedule_wd_lens[i];
        layout[i].rows = cosine_schedule_wd_rows[i];
        layout[i].group = 0;
    }

    /* nn.Momentum(params, CosineDecayLR(0.01, 0.1, 4), 0.9, weight_decay=0.001) */
    gradstep_schedule cosine;
    OK(gradstep_schedule_cosine_decay(0.01, 0.1, 4, &cosine));
    gradstep_group g1[1] = {gradstep_group_schedule(&cosine, 0.001, 0)};
    gradstep_momentum_settings ms = gradstep_momentum_settings_default(0.9);
    OK(gradstep_momentum_init(&opt, layout, 2, g1, 1, &ms));
    replay("momentum_cosine_schedule_wd", &opt, COSINE_SCHEDULE_WD_LEN, COSINE_SCHEDULE_WD_STEPS,
           cosine_schedule_wd_initial, cosine_schedule_wd_grads, cosine_schedule_wd_params_after,
           cosine_schedule_wd_state_after);

    /* nn.Momentum(params, 0.1, 0.9, weight_decay=0.01, loss_scale=128.0) */
    gradstep_group g2[1] = {gradstep_group_static(0.1, 0.01, 0)};
    ms.loss_scale = 128.0;
    OK(gradstep_momentum_init(&opt, layout, 2, g2, 1, &ms));
    replay("momentum_weight_decay_loss_scale", &opt, WD_LOSS_SCALE_LEN, WD_LOSS_SCALE_STEPS, wd_loss_scale_initial,
           wd_loss_scale_grads, wd_loss_scale_params_after, wd_loss_scale_state_after);

    /* nn.SGD(params, 0.1, momentum=0.9, dampening=0.2, weight_decay=0.01) */
    gradstep_group g3[1] = {gradstep_group_static(0.1, 0.01, 0)};
    gradstep_sgd_settings ss = gradstep_sgd_settings_default();
    ss.momentum = 0.9;
    ss.dampening = 0.2;
    OK(gradstep_sgd_init(&opt, layout, 2, g3, 1, &ss));
    replay("sgd (momentum 0.9, dampening 0.2, weight decay 0.01)", &opt, SGD_DAMPENING_WD_LEN,
           SGD_DAMPENING_WD_STEPS, sgd_dampening_wd_initial, sgd_dampening_wd_grads,
           sgd_dampening_wd_params_after, sgd_dampening_wd_state_after);
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
    OK(gradstep_optimizer_step(&opt, w, g, s, LEN));

    /* rejections leave everything as it was */
    float w0[LEN], s0[LEN];
    memcpy(w0, w, sizeof w);
    memcpy(s0, s, sizeof s);
    EXPECT(gradstep_optimizer_step(&opt, w, g, s, LEN - 1), GRADSTEP_STATUS_LENGTH_MISMATCH);
    EXPECT(gradstep_optimizer_step(&opt, w, g, w, LEN), GRADSTEP_STATUS_OVERLAP);
    g[LEN - 1] = INFINITY;
    EXPECT(gradstep_optimizer_step(&opt, w, g, s, LEN), GRADSTEP_STATUS_NON_FINITE_GRADIENT);
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
    EXPECT(gradstep_optimizer_step_shard(&opt, token, 0, 9, w, g, s, LEN), GRADSTEP_STATUS_TENSOR_RANGE);
    EXPECT(gradstep_optimizer_step_shard(&opt, token + 5, 0, 2, w, g, s, 28), GRADSTEP_STATUS_STALE_STEP);
    OK(gradstep_optimizer_step_shard(&opt, token, 2, 4, w + 28, g + 28, s + 28, LEN - 28));
    OK(gradstep_optimizer_step_shard(&opt, token, 0, 2, w, g, s, 28));
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
    OK(gradstep_optimizer_step(&restored, wr, g, sr, LEN));
    CHECK(memcmp(wr, w, sizeof w) == 0 && memcmp(sr, s, sizeof s) == 0);

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
    EXPECT(gradstep_optimizer_step(&restored, wr, g, sr, LEN), GRADSTEP_STATUS_STEP_OVERFLOW);

    /* step 2 is the table's last; step 3 is past its end */
    OK(gradstep_optimizer_step(&opt, w, g, s, LEN));
    EXPECT(gradstep_optimizer_step(&opt, w, g, s, LEN), GRADSTEP_STATUS_PAST_TABLE_END);
    EXPECT(gradstep_optimizer_begin_step(&opt, &token), GRADSTEP_STATUS_PAST_TABLE_END);
}

static void test_init_rejections(void) {
    gradstep_optimizer opt;
    memset(&opt, 0, sizeof opt);
    float w[4] = {0}, g[4] = {0}, s[4] = {0};
    uint32_t step = 0;
    EXPECT(gradstep_optimizer_step(&opt, w, g, s, 4), GRADSTEP_STATUS_UNINITIALIZED);
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
    gradstep_tensor huge[2] = {{SIZE_MAX, 0, 0}, {1, 0, 0}};
    EXPECT(gradstep_momentum_init(&opt, huge, 2, one, 1, &ms), GRADSTEP_STATUS_LAYOUT_TOO_LARGE);

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
    ms.path = 99;
    EXPECT(gradstep_momentum_init(&opt, only_group_0, 1, one, 1, &ms), GRADSTEP_STATUS_INVALID_ARGUMENT);
    ms.path = GRADSTEP_PATH_AUTO;
    EXPECT(gradstep_momentum_init(NULL, only_group_0, 1, one, 1, &ms), GRADSTEP_STATUS_NULL_POINTER);
    /* nothing was initialized by any of these */
    EXPECT(gradstep_optimizer_step(&opt, w, g, s, 4), GRADSTEP_STATUS_UNINITIALIZED);
}

int main(void) {
    test_messages_and_paths();
    test_kernels();
    test_tables();
    test_schedules();
    test_golden();
    test_optimizer();
    test_init_rejections();

    int unavailable = 0;
    for (uint32_t p = GRADSTEP_PATH_SCALAR; p <= GRADSTEP_PATH_AVX512; p++) {
        unavailable |= !gradstep_path_available(p);
    }
    int provoked = 0, missing = 0;
    for (int c = 0; c < CODES; c++) {
        if (gradstep_status_message(c) == gradstep_status_message(999)) {
            continue; /* not a status code */
        }
        if (seen[c]) {
            provoked++;
        } else if (c == GRADSTEP_STATUS_PATH_UNAVAILABLE && !unavailable) {
            printf("note: every path is available on this CPU, so PATH_UNAVAILABLE cannot be provoked here\n");
        } else {
            missing++;
            failures++;
            printf("FAIL: status %d (%s) was never returned\n", c, gradstep_status_message(c));
        }
    }
    if (seen[GRADSTEP_STATUS_PATH_UNAVAILABLE]) {
        printf("PATH_UNAVAILABLE provoked\n");
    }
    printf("%d checks, %d failures; %d status codes provoked, %d missing\n", checks, failures, provoked, missing);
    return failures == 0 ? 0 : 1;
}
