/* test_svg.c — the drift chart writer (eval/svg.c): well-formed XML (balanced tags, escaped names), one bar per
 * layer, CLI_SVG_KLD_BINS histogram bins whose counts add up to the positive KL values, finite numbers only,
 * and its errors (no KL data, a failing stream). */
#include "../../tools/svg.h"

#include <check.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *render(const llq_drift_result *r, const char *base, const char *quant, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    *rc = cli_svg_drift(f, base, quant, r);
    fclose(f);
    return buf;
}

/* 1 if every element is closed in order, the root is <svg>, and every '&' starts an entity. */
static int well_formed(const char *s)
{
    char stack[64][32];
    int depth = 0, roots = 0;
    const char *p = s;
    if (!strncmp(p, "<?xml", 5)) {
        p = strstr(p, "?>");
        if (!p)
            return 0;
        p += 2;
    }
    for (; *p; p++) {
        if (*p == '&') {
            if (strncmp(p, "&amp;", 5) && strncmp(p, "&lt;", 4) && strncmp(p, "&gt;", 4) && strncmp(p, "&quot;", 6) &&
                strncmp(p, "&apos;", 6))
                return 0;
            continue;
        }
        if (*p == '>')
            return 0; /* a '>' outside a tag: the writer escapes it */
        if (*p != '<')
            continue;
        int closing = p[1] == '/';
        const char *n = p + 1 + closing;
        size_t k = 0;
        char name[32];
        while (isalnum((unsigned char)n[k]) && k < sizeof name - 1)
            name[k] = n[k], k++;
        name[k] = 0;
        const char *end = strchr(p, '>');
        if (!k || !end || memchr(p + 1, '<', (size_t)(end - p - 1)))
            return 0;
        if (closing) {
            if (depth == 0 || strcmp(stack[depth - 1], name))
                return 0;
            depth--;
        } else if (end[-1] != '/') {
            if (depth == 0 && (roots++ || strcmp(name, "svg")))
                return 0;
            if (depth == 64)
                return 0;
            strcpy(stack[depth++], name);
        }
        p = end;
    }
    return depth == 0 && roots == 1;
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Every attribute value that starts like a number parses completely as a finite number; no rect has a
 * negative size; no "nan"/"inf" anywhere in attributes. */
static int numbers_finite(const char *s)
{
    for (const char *p = s; (p = strstr(p, "=\"")); ) {
        p += 2;
        const char *q = strchr(p, '"');
        if (!q)
            return 0;
        char v[64];
        size_t n = (size_t)(q - p) < sizeof v - 1 ? (size_t)(q - p) : sizeof v - 1;
        memcpy(v, p, n);
        v[n] = 0;
        for (char *c = v; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (strstr(v, "nan") || strstr(v, "inf"))
            return 0;
        if (isdigit((unsigned char)v[0]) || v[0] == '-' || v[0] == '.') {
            char *e;
            double d = strtod(v, &e);
            if (!isfinite(d) || (*e && *e != ' '))
                return 0;
        }
        p = q + 1;
    }
    for (const char *p = s; (p = strstr(p, "<rect")); p++) {
        const char *w = strstr(p, "width=\""), *h = strstr(p, "height=\"");
        if (!w || !h || atof(w + 7) < 0 || atof(h + 8) < 0)
            return 0;
    }
    return 1;
}

/* Sum of the counts in the bins' <title>lo .. hi: N</title>. */
static long bin_total(const char *s)
{
    long t = 0;
    for (const char *p = s; (p = strstr(p, "<rect class=\"bin\"")); p++) {
        const char *c = strstr(p, ": ");
        ck_assert_ptr_nonnull(c);
        t += atol(c + 2);
    }
    return t;
}

static llq_drift_result make(size_t n, size_t zeros, uint32_t layers)
{
    llq_drift_result r = {0};
    r.n_scored = n;
    r.n_windows = 3;
    r.kld = malloc(n * sizeof *r.kld);
    for (size_t i = 0; i < n; i++) /* log-uniform 1e-7 .. 1e-1, zeros first: sorted ascending */
        r.kld[i] = i < zeros ? 0 : pow(10, -7 + 6.0 * (double)(i - zeros) / (double)(n - zeros));
    r.kld_mean = (llq_stat){0.01, 0.001};
    r.kld_median = (llq_stat){r.kld[n / 2], 0.001};
    r.kld_p99 = (llq_stat){r.kld[n * 99 / 100], 0.001};
    r.kld_max = (llq_stat){r.kld[n - 1], -1};
    r.ppl_base = (llq_stat){10, 0.1};
    r.ppl_quant = (llq_stat){10.5, 0.1};
    r.dppl_pct = (llq_stat){5, 0.2};
    r.top1 = (llq_stat){93.25, 0.5};
    if (layers) {
        r.n_layers = layers;
        r.layer_relerr = malloc(layers * sizeof(double));
        for (uint32_t l = 0; l < layers; l++)
            r.layer_relerr[l] = 0.01 * (l + 1);
    }
    return r;
}

START_TEST(test_chart)
{
    llq_drift_result r = make(1000, 17, 6);
    int rc;
    char *s = render(&r, "base.llq", "quant.llq", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(well_formed(s));
    ck_assert(numbers_finite(s));
    ck_assert_int_eq(count(s, "class=\"layer\""), 6);
    ck_assert_int_eq(count(s, "class=\"bin\""), CLI_SVG_KLD_BINS);
    ck_assert_int_eq(bin_total(s), 1000 - 17);
    ck_assert_ptr_nonnull(strstr(s, "base: base.llq"));
    ck_assert_ptr_nonnull(strstr(s, "quant: quant.llq"));
    ck_assert_ptr_nonnull(strstr(s, "ppl base 10.0000"));
    ck_assert_ptr_nonnull(strstr(s, "ppl quant 10.5000"));
    ck_assert_ptr_nonnull(strstr(s, "Δppl +5.000 %"));
    ck_assert_ptr_nonnull(strstr(s, "top-1 agreement 93.25 %"));
    ck_assert_ptr_nonnull(strstr(s, "17 positions with KL = 0"));
    ck_assert_int_eq(count(s, "<script"), 0);
    ck_assert_int_eq(count(s, "href"), 0);
    for (const char *m = "mean\0median\0p99\0"; *m; m += strlen(m) + 1) {
        char want[32];
        snprintf(want, sizeof want, ">%s ", m); /* marker label text */
        ck_assert_msg(strstr(s, want), "marker %s", m);
    }
    free(s);
    llq_drift_result_free(&r);
}
END_TEST

START_TEST(test_many_layers_one_position)
{
    llq_drift_result r = make(1, 0, 80);
    int rc;
    char *s = render(&r, "a", "b", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(well_formed(s));
    ck_assert(numbers_finite(s));
    ck_assert_int_eq(count(s, "class=\"layer\""), 80);
    ck_assert_int_eq(bin_total(s), 1);
    free(s);
    llq_drift_result_free(&r);
}
END_TEST

START_TEST(test_no_layers_zero_kl_nan)
{
    llq_drift_result r = make(50, 50, 0);
    r.ppl_quant.v = NAN;
    r.kld_mean.v = INFINITY;
    r.dppl_pct.v = NAN;
    int rc;
    char *s = render(&r, "x", "y", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(well_formed(s));
    ck_assert(numbers_finite(s));
    ck_assert_int_eq(count(s, "class=\"layer\""), 0);
    ck_assert_int_eq(count(s, "class=\"bin\""), CLI_SVG_KLD_BINS);
    ck_assert_int_eq(bin_total(s), 0);
    ck_assert_ptr_nonnull(strstr(s, "no per-layer data"));
    ck_assert_ptr_nonnull(strstr(s, "ppl quant n/a"));
    ck_assert_ptr_nonnull(strstr(s, "50 positions with KL = 0"));
    free(s);
    /* non-finite per-layer errors draw as empty bars */
    r.n_layers = 2;
    r.layer_relerr = malloc(2 * sizeof(double));
    r.layer_relerr[0] = NAN, r.layer_relerr[1] = INFINITY;
    s = render(&r, "x", "y", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(well_formed(s));
    ck_assert(numbers_finite(s));
    ck_assert_int_eq(count(s, "class=\"layer\""), 2);
    free(s);
    llq_drift_result_free(&r);
}
END_TEST

START_TEST(test_escaping)
{
    llq_drift_result r = make(10, 0, 2);
    int rc;
    char *s = render(&r, "a<b>&\"c'.llq", "</svg><script>", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(well_formed(s));
    ck_assert_ptr_nonnull(strstr(s, "a&lt;b&gt;&amp;&quot;c&apos;.llq"));
    ck_assert_int_eq(count(s, "<script"), 0);
    free(s);
    llq_drift_result_free(&r);
}
END_TEST

START_TEST(test_errors)
{
    llq_drift_result r = make(10, 0, 2);
    double *k = r.kld;
    r.kld = NULL;
    int rc;
    char *s = render(&r, "a", "b", &rc);
    ck_assert_int_eq(rc, LLQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(llq_errmsg(), "KL"));
    free(s);
    r.kld = k;
    FILE *f = fopen("/dev/full", "w");
    if (f) {
        ck_assert_int_eq(cli_svg_drift(f, "a", "b", &r), LLQ_EIO);
        fclose(f);
    }
    llq_drift_result_free(&r);
}
END_TEST

START_TEST(test_bars)
{
    const char *labels[] = {"a.weight", "b<&>", "zero", "nan", "tiny"};
    double v[] = {0.05, 0.1, 0, NAN, 1e-20};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_int_eq(cli_svg_bars(f, "Relative error per tensor", "x & y", "axis", 5, labels, v), 0);
    fclose(f);
    ck_assert(well_formed(buf));
    ck_assert(numbers_finite(buf));
    ck_assert_int_eq(count(buf, "class=\"bar\""), 5);
    ck_assert_ptr_nonnull(strstr(buf, "b&lt;&amp;&gt;"));
    ck_assert_ptr_nonnull(strstr(buf, ">a.weight: 0.05<"));
    ck_assert_ptr_nonnull(strstr(buf, ">n/a<"));
    /* the axis: 1e-1 (the largest value's decade) down 8 decades, not to the tiny value's 1e-20 */
    ck_assert_ptr_nonnull(strstr(buf, "\"middle\" font-size=\"11\">1e-1<"));
    ck_assert_ptr_nonnull(strstr(buf, "\"middle\" font-size=\"11\">1e-9<"));
    ck_assert_ptr_null(strstr(buf, "\"middle\" font-size=\"11\">1e-10<"));
    ck_assert_ptr_null(strstr(buf, "\"middle\" font-size=\"11\">1e0<"));
    free(buf);
    f = open_memstream(&buf, &len);
    ck_assert_int_eq(cli_svg_bars(f, "t", "s", "a", 0, labels, v), LLQ_EINVAL);
    fclose(f);
    free(buf);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("svg");
    TCase *tc = tcase_create("drift");
    tcase_add_test(tc, test_chart);
    tcase_add_test(tc, test_many_layers_one_position);
    tcase_add_test(tc, test_no_layers_zero_kl_nan);
    tcase_add_test(tc, test_escaping);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_bars);
    suite_add_tcase(s, tc);
    return s;
}
