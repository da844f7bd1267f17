/*
 * Trains a small MLP (64-16-10, ReLU, softmax cross-entropy) on a slice of the UCI digits with
 * gradstep's Momentum, from C. The same source runs as firmware on a Cortex-M4F (QEMU mps2-an386,
 * newlib over semihosting, startup.c) and on the host (glibc), and both runs must print the same
 * bits (run.sh compares them; "info:" lines name the machine and are not compared).
 *
 * Bit-reproducibility across the two compilers and C libraries rests on:
 * - only +, -, *, / and comparisons on float (IEEE single, round to nearest, FLT_EVAL_METHOD 0),
 *   in a fixed order: no libm (exp and log are computed below from those operations), no double,
 *   no reassociation (no -ffast-math), no FMA contraction (-ffp-contract=off, checked by run.sh);
 * - integer <-> float conversions of small, exactly representable values;
 * - gradstep itself (the optimizer steps, the learning-rate schedule and table).
 *
 * Parameters (one flat buffer, tensors back to back) in two gradstep groups:
 *   group 0: W1 (16x64) and W2 (10x16): MindSpore's CosineDecayLR, weight decay 1e-4, gradient
 *            centralization;
 *   group 1: b1 (16) and b2 (10): a table from polynomial_decay_lr, no weight decay.
 * Momentum 0.9, loss scale 1024 (the gradients are computed scaled by 1024 and gradstep unscales).
 */
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "digits_data.h"
#include "gradstep.h"

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "float arithmetic must be evaluated in float (FLT_EVAL_METHOD 0)"
#endif
#ifdef __FAST_MATH__
#error "build without -ffast-math: the arithmetic must be plain IEEE"
#endif

#define N DIGITS_COUNT
#define IN DIGITS_PIXELS
#define HID 16
#define OUT 10
#define STEPS 20
#define PRINT_EVERY 4
#define LOSS_SCALE 1024.0f

/* The flat layout. */
#define OFF_W1 0
#define OFF_B1 (OFF_W1 + HID * IN)
#define OFF_W2 (OFF_B1 + HID)
#define OFF_B2 (OFF_W2 + OUT * HID)
#define LEN (OFF_B2 + OUT)

static float x[N][IN];
static float params[LEN], grads[LEN], moments[LEN];
static float hidden[HID];

/* ----- exact float helpers: the same bits with any IEEE compiler ----------------------------- */

static uint32_t bits_of(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

static float float_of(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* e^x for x <= 0 (a softmax's shifted logits): x = k*ln2 + r with |r| <= ln2/2 (Cody-Waite),
 * e^r by its Taylor polynomial to degree 8 (error < 1e-9), times 2^k built from its bits. */
static float exp_neg(float x_) {
    if (x_ < -80.0f) {
        return 0.0f; /* e^-80 < 2e-35: nothing next to the largest term, e^0 = 1 */
    }
    const float log2e = 1.44269504f;
    const float ln2_hi = 0.693145751953125f; /* 15 significant bits: k*ln2_hi is exact */
    const float ln2_lo = 1.42860677e-6f;
    int k = (int)(x_ * log2e - 0.5f); /* truncation toward 0 of a value <= -0.5: nearest k */
    float kf = (float)k;
    float r = (x_ - kf * ln2_hi) - kf * ln2_lo;
    float p = 1.0f / 40320.0f;
    p = p * r + 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    return p * float_of((uint32_t)(k + 127) << 23); /* k >= -116: 2^k is normal */
}

/* ln x for a positive normal x: x = 2^e * m with m in [sqrt(1/2), sqrt(2)),
 * ln m = 2 atanh((m-1)/(m+1)) by its series to s^9 (error < 1e-9). */
static float log_pos(float x_) {
    uint32_t b = bits_of(x_);
    int e = (int)((b >> 23) & 0xffu) - 127;
    float m = float_of((b & 0x007fffffu) | 0x3f800000u);
    if (m > 1.41421356f) {
        m = m * 0.5f;
        e += 1;
    }
    float s = (m - 1.0f) / (m + 1.0f);
    float s2 = s * s;
    float q = 1.0f / 9.0f;
    q = q * s2 + 1.0f / 7.0f;
    q = q * s2 + 1.0f / 5.0f;
    q = q * s2 + 1.0f / 3.0f;
    q = q * s2 + 1.0f;
    return 2.0f * s * q + (float)e * 0.693147181f;
}

/* A fixed linear congruential generator: uniform floats in [0, 1) with 24 random bits. */
static uint32_t rng_state = 0x2545f491u;

static float uniform(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) * (1.0f / 16777216.0f);
}

/* FNV-1a over the bits of floats (little-endian byte order, whatever the machine's). */
static uint32_t fnv1a_floats(const float *v, size_t n) {
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < n; i++) {
        uint32_t b = bits_of(v[i]);
        for (int byte = 0; byte < 4; byte++) {
            h = (h ^ ((b >> (8 * byte)) & 0xffu)) * 0x01000193u;
        }
    }
    return h;
}

/* ----- the model ----------------------------------------------------------------------------- */

static void init_model(void) {
    for (int n = 0; n < N; n++) {
        for (int i = 0; i < IN; i++) {
            x[n][i] = (float)digits_pixels[n][i] / 16.0f; /* exact */
        }
    }
    for (int i = 0; i < HID * IN; i++) {
        params[OFF_W1 + i] = (uniform() - 0.5f) * 0.5f; /* U(-1/4, 1/4): about sqrt(6/64) */
    }
    for (int i = 0; i < OUT * HID; i++) {
        params[OFF_W2 + i] = (uniform() - 0.5f) * 1.0f; /* U(-1/2, 1/2): about sqrt(6/16) */
    }
    /* the biases start at 0 (static storage) */
}

/* The mean cross-entropy over the slice, the number of samples classified correctly, and the
 * gradient of the mean loss times LOSS_SCALE into g. */
static float loss_and_grads(const float *p, float *g, int *correct) {
    const float *w1 = p + OFF_W1, *b1 = p + OFF_B1, *w2 = p + OFF_W2, *b2 = p + OFF_B2;
    float *gw1 = g + OFF_W1, *gb1 = g + OFF_B1, *gw2 = g + OFF_W2, *gb2 = g + OFF_B2;
    const float dscale = LOSS_SCALE / (float)N;
    float total = 0.0f;
    *correct = 0;
    memset(g, 0, LEN * sizeof *g);
    for (int n = 0; n < N; n++) {
        const int y = digits_labels[n];
        /* forward */
        for (int j = 0; j < HID; j++) {
            float a = b1[j];
            for (int i = 0; i < IN; i++) {
                a = a + w1[j * IN + i] * x[n][i];
            }
            hidden[j] = a > 0.0f ? a : 0.0f;
        }
        float logits[OUT];
        int best = 0;
        for (int k = 0; k < OUT; k++) {
            float a = b2[k];
            for (int j = 0; j < HID; j++) {
                a = a + w2[k * HID + j] * hidden[j];
            }
            logits[k] = a;
            if (a > logits[best]) {
                best = k;
            }
        }
        *correct += best == y;
        /* softmax cross-entropy: loss = ln(sum e^(l - max)) - (l_y - max) */
        const float max = logits[best];
        float e[OUT], sum = 0.0f;
        for (int k = 0; k < OUT; k++) {
            e[k] = exp_neg(logits[k] - max);
            sum = sum + e[k];
        }
        total = total + (log_pos(sum) - (logits[y] - max));
        /* backward: dl/dlogit_k = p_k - [k == y], times LOSS_SCALE / N */
        float d[OUT];
        for (int k = 0; k < OUT; k++) {
            d[k] = (e[k] / sum - (k == y ? 1.0f : 0.0f)) * dscale;
            gb2[k] = gb2[k] + d[k];
            for (int j = 0; j < HID; j++) {
                gw2[k * HID + j] = gw2[k * HID + j] + d[k] * hidden[j];
            }
        }
        for (int j = 0; j < HID; j++) {
            if (hidden[j] > 0.0f) {
                float dh = 0.0f;
                for (int k = 0; k < OUT; k++) {
                    dh = dh + w2[k * HID + j] * d[k];
                }
                gb1[j] = gb1[j] + dh;
                for (int i = 0; i < IN; i++) {
                    gw1[j * IN + i] = gw1[j * IN + i] + dh * x[n][i];
                }
            }
        }
    }
    return total / (float)N;
}

/* ----- training ------------------------------------------------------------------------------ */

#define TRY(call)                                                                   \
    do {                                                                            \
        gradstep_status st_ = (call);                                               \
        if (st_ != GRADSTEP_STATUS_OK) {                                            \
            printf("gradstep error: %s: %s\n", #call, gradstep_status_message(st_)); \
            return 1;                                                               \
        }                                                                           \
    } while (0)

int main(void) {
    const gradstep_tensor tensors[4] = {
        {.len = HID * IN, .rows = HID, .group = 0}, /* W1 */
        {.len = HID, .rows = 0, .group = 1},        /* b1 */
        {.len = OUT * HID, .rows = OUT, .group = 0}, /* W2 */
        {.len = OUT, .rows = 0, .group = 1},        /* b2 */
    };
    static gradstep_schedule cosine;
    static float bias_lr[STEPS];
    TRY(gradstep_schedule_cosine_decay(0.01, 0.2, STEPS, &cosine));
    TRY(gradstep_polynomial_decay_lr(0.2, 0.02, STEPS, 1, STEPS, 2.0, 0, bias_lr, STEPS));
    gradstep_group groups[2] = {
        gradstep_group_schedule(&cosine, 1e-4, 1),
        gradstep_group_table(bias_lr, STEPS, 1, 0.0, 0),
    };
    gradstep_momentum_settings settings = gradstep_momentum_settings_default(0.9);
    settings.loss_scale = (double)LOSS_SCALE;
    settings.check_finite = 1;
    gradstep_optimizer opt;
    TRY(gradstep_momentum_init(&opt, tensors, 4, groups, 2, &settings));
    size_t len = 0;
    TRY(gradstep_optimizer_len(&opt, &len));
    if (len != LEN) {
        printf("layout: gradstep has %u parameters, the model %u\n", (unsigned)len, (unsigned)LEN);
        return 1;
    }

    printf("info: gradstep %s, kernel backend %s\n", gradstep_version(),
           gradstep_backend_name(gradstep_backend_selected()));
    printf("MLP %d-%d-%d (%d parameters) on %d digits: Momentum 0.9, loss scale %.0f, %d steps\n", IN,
           HID, OUT, LEN, N, (double)LOSS_SCALE, STEPS);

    init_model();
    printf("initial params fnv1a %08lx\n", (unsigned long)fnv1a_floats(params, LEN));
    int correct = 0;
    for (int step = 0; step < STEPS; step++) {
        float loss = loss_and_grads(params, grads, &correct);
        float lr_w = 0.0f, lr_b = 0.0f;
        TRY(gradstep_optimizer_lr(&opt, 0, &lr_w));
        TRY(gradstep_optimizer_lr(&opt, 1, &lr_b));
        TRY(gradstep_optimizer_step(&opt, params, grads, LEN, moments, LEN));
        if (step % PRINT_EVERY == 0 || step == STEPS - 1) {
            printf("step %2d  loss %.6f (%08lx)  accuracy %2d/%d  lr %.6f (%08lx) %.6f (%08lx)\n", step,
                   (double)loss, (unsigned long)bits_of(loss), correct, N, (double)lr_w,
                   (unsigned long)bits_of(lr_w), (double)lr_b, (unsigned long)bits_of(lr_b));
        }
    }
    uint32_t global_step = 0;
    TRY(gradstep_optimizer_global_step(&opt, &global_step));
    float loss = loss_and_grads(params, grads, &correct);
    printf("after %lu steps: loss %.6f (%08lx)  accuracy %2d/%d\n", (unsigned long)global_step,
           (double)loss, (unsigned long)bits_of(loss), correct, N);

    printf("final params fnv1a %08lx  moments fnv1a %08lx\n", (unsigned long)fnv1a_floats(params, LEN),
           (unsigned long)fnv1a_floats(moments, LEN));
    for (int i = 0; i < LEN; i += 8) {
        printf("params[%4d]", i);
        for (int j = i; j < i + 8 && j < LEN; j++) {
            printf(" %08lx", (unsigned long)bits_of(params[j]));
        }
        printf("\n");
    }
    printf("done\n");
    return 0;
}
