/*
 * A tiny model trained from C with gradstep: y = w·x + b fitted to y = 3·x0 − 2·x1 + 0.5 by
 * Momentum, in two parameter groups — the weights on MindSpore's CosineDecayLR with weight decay,
 * the bias on a static learning rate without.
 *
 *   cargo rustc --lib --release --features capi --crate-type staticlib,cdylib
 *   gcc -std=c11 -Iinclude examples/c/train.c target/release/libgradstep.a -lm -o train && ./train
 */
#include <stdio.h>

#include "gradstep.h"

#define SAMPLES 64

int main(void) {
    /* the layout: params = {w0, w1, b}, back to back */
    gradstep_tensor tensors[2] = {
        {.len = 2, .rows = 0, .group = 0}, /* weights */
        {.len = 1, .rows = 0, .group = 1}, /* bias */
    };
    gradstep_schedule cosine;
    gradstep_status st = gradstep_schedule_cosine_decay(0.001, 0.1, 200, &cosine);
    gradstep_group groups[2] = {
        gradstep_group_schedule(&cosine, 1e-4, 0), /* weight decay 1e-4 */
        gradstep_group_static(0.05, 0.0, 0),       /* no decay */
    };
    gradstep_momentum_settings settings = gradstep_momentum_settings_default(0.9);
    gradstep_optimizer opt;
    if (st == GRADSTEP_STATUS_OK) {
        st = gradstep_momentum_init(&opt, tensors, 2, groups, 2, &settings);
    }
    if (st != GRADSTEP_STATUS_OK) {
        fprintf(stderr, "gradstep: %s\n", gradstep_status_message(st));
        return 1;
    }

    float params[3] = {0.0f, 0.0f, 0.0f}, grads[3], moments[3] = {0.0f, 0.0f, 0.0f};
    float x[SAMPLES][2], y[SAMPLES];
    for (int i = 0; i < SAMPLES; i++) {
        x[i][0] = (float)(i % 8) / 4.0f - 1.0f;
        x[i][1] = (float)(i / 8) / 4.0f - 1.0f;
        y[i] = 3.0f * x[i][0] - 2.0f * x[i][1] + 0.5f;
    }
    for (int step = 0; step < 200; step++) {
        /* the gradient of the mean squared error */
        float loss = 0.0f;
        grads[0] = grads[1] = grads[2] = 0.0f;
        for (int i = 0; i < SAMPLES; i++) {
            float err = params[0] * x[i][0] + params[1] * x[i][1] + params[2] - y[i];
            loss += err * err / SAMPLES;
            grads[0] += 2.0f * err * x[i][0] / SAMPLES;
            grads[1] += 2.0f * err * x[i][1] / SAMPLES;
            grads[2] += 2.0f * err / SAMPLES;
        }
        float lr = 0.0f;
        gradstep_optimizer_lr(&opt, 0, &lr);
        st = gradstep_optimizer_step(&opt, params, grads, 3, moments, 3);
        if (st != GRADSTEP_STATUS_OK) {
            fprintf(stderr, "step %d: %s\n", step, gradstep_status_message(st));
            return 1;
        }
        if (step % 40 == 0 || step == 199) {
            printf("step %3d  loss %.6f  lr(weights) %.5f\n", step, loss, lr);
        }
    }
    printf("fitted y = %.4f·x0 %+.4f·x1 %+.4f (target 3, −2, 0.5)\n", params[0], params[1], params[2]);
    return 0;
}
