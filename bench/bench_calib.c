/* bench_calib.c — time of the calibration methods per layer (printed, never asserted):
 * XᵀX accumulation, GPTQ and AWQ (scale search + clipping search) on synthetic weights and activations of
 * (a) one pydoc-7m layer (dim 256, 8/4 heads, ffn 768) with 128 × 256 calibration tokens, and
 * (b) one 4096×4096 matrix with 64K calibration tokens (skipped with --quick). q4, group 128. */
#include "llq/calib.h"
#include "llq/format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t st = 12345;
static float rnd(void) /* roughly N(0,1): sum of 4 uniforms */
{
    float s = 0;
    for (int i = 0; i < 4; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        s += (float)(st >> 40) / 16777216.0f - 0.5f;
    }
    return s * 1.7320508f;
}

typedef struct grp { size_t cols, n_mats, rows[3]; } grp;

/* One group of matrices sharing an input: XᵀX, then GPTQ and AWQ; adds seconds into t[3]. */
static int run_group(const grp *g, size_t tokens, double t[3])
{
    size_t cols = g->cols, chunk = 4096 < tokens ? 4096 : tokens;
    float *x = malloc(chunk * cols * sizeof *x), *xabs = calloc(cols, sizeof *xabs), *w[3] = {0}, *s = NULL;
    double *h = calloc(cols * cols, sizeof *h);
    int err = -1;
    if (!x || !xabs || !h)
        goto done;
    for (size_t i = 0; i < chunk * cols; i++)
        x[i] = rnd() * (i % cols % 37 == 0 ? 10.0f : 1.0f);
    for (size_t i = 0; i < chunk * cols; i++)
        xabs[i % cols] += (x[i] < 0 ? -x[i] : x[i]) / (float)chunk;
    double t0 = now();
    for (size_t done = 0; done < tokens; done += chunk)
        llq_xtx_acc(h, x, chunk, cols, NULL);
    llq_sym_fill(h, cols);
    t[0] += now() - t0;
    size_t maxrb = 0;
    for (size_t m = 0; m < g->n_mats; m++) {
        if (!(w[m] = malloc(g->rows[m] * cols * sizeof(float))))
            goto done;
        for (size_t i = 0; i < g->rows[m] * cols; i++)
            w[m][i] = 0.02f * rnd();
        uint64_t rb = 0;
        if (llq_row_bytes(&rb, LLQ_Q4, 128, cols))
            goto done;
        rb *= g->rows[m];
        maxrb = rb > maxrb ? rb : maxrb;
    }
    void *q = malloc(maxrb);
    s = malloc(cols * sizeof *s);
    if (!q || !s)
        goto done;
    t0 = now();
    for (size_t m = 0; m < g->n_mats; m++)
        if ((err = llq_gptq(q, w[m], g->rows[m], cols, h, LLQ_Q4, 128, NULL)))
            goto done_q;
    t[1] += now() - t0;
    t0 = now();
    const float *cw[3] = {w[0], w[1], w[2]};
    float alpha;
    if ((err = llq_awq_search(s, &alpha, cw, g->rows, g->n_mats, cols, h, xabs, LLQ_Q4, 128, 20, NULL)))
        goto done_q;
    for (size_t m = 0; m < g->n_mats; m++)
        if ((err = llq_awq_clip_quantize(q, w[m], g->rows[m], cols, h, LLQ_Q4, 128, NULL)))
            goto done_q;
    t[2] += now() - t0;
    err = 0;
done_q:
    free(q);
done:
    for (size_t m = 0; m < 3; m++)
        free(w[m]);
    free(x), free(xabs), free(h), free(s);
    if (err)
        fprintf(stderr, "bench_calib: %s\n", llq_errmsg());
    return err;
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    grp layer[4] = {{256, 3, {256, 128, 128}}, {256, 1, {256, 0, 0}}, {256, 2, {768, 768, 0}},
                    {768, 1, {256, 0, 0}}};
    double t[3] = {0};
    for (int i = 0; i < 4; i++)
        if (run_group(&layer[i], 128 * 256, t))
            return 1;
    printf("pydoc-7m layer, 32768 tokens, q4 g128: XtX %.3f s, GPTQ %.3f s (+XtX = %.3f s/layer), "
           "AWQ %.3f s (+XtX = %.3f s/layer)\n", t[0], t[1], t[0] + t[1], t[2], t[0] + t[2]);
    if (quick)
        return 0;
    grp big = {4096, 1, {4096, 0, 0}};
    double tb[3] = {0};
    if (run_group(&big, 65536, tb))
        return 1;
    printf("4096x4096 matrix, 65536 tokens, q4 g128: XtX %.1f s, GPTQ %.1f s, AWQ %.1f s\n", tb[0], tb[1], tb[2]);
    return 0;
}
