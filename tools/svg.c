/* svg.c — the charts of svg.h: the drift chart (headline figures, per-layer relative error as bars,
 * a histogram of per-position KL divergence on a log-x axis) and a horizontal log-x bar chart (per-tensor error).
 * Plain SVG 1.1: rects, lines, text; generic fonts. */
#include "svg.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define W 960
#define H 860
#define PX0 90.0  /* plot area, both panels */
#define PX1 920.0

/* A finite coordinate (non-finite input draws at 0). */
static double fin(double v)
{
    return isfinite(v) ? v : 0;
}

/* v printed as %.<prec>g (kind 'g'), %.<prec>f ('f') or %+.<prec>f ('+'), or "n/a" if not finite.
 * buf holds 32 bytes. */
static const char *num(char *buf, int kind, int prec, double v)
{
    if (!isfinite(v))
        return "n/a";
    if (kind == 'g')
        snprintf(buf, 32, "%.*g", prec, v);
    else
        snprintf(buf, 32, kind == '+' ? "%+.*f" : "%.*f", prec, v);
    return buf;
}

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, f);
        }
    }
}

/* A round step giving about n ticks from 0 to max (max > 0). */
static double nice_step(double max, int n)
{
    double raw = max / n, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

static void text(FILE *f, double x, double y, const char *anchor, const char *style, const char *s)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" %s>", fin(x), fin(y), anchor, style);
    esc(f, s);
    fputs("</text>\n", f);
}

/* Linear y axis from 0 to top at plot rows y0 (top) .. y1 (bottom), grid lines and labels. */
static void y_axis(FILE *f, double y0, double y1, double top, double step, const char *label)
{
    char b[32];
    for (int i = 0; i * step <= top * (1 + 1e-9) && i <= 20; i++) {
        double y = y1 - (y1 - y0) * (i * step / top);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", PX0, y, PX1, y);
        snprintf(b, sizeof b, "%g", i * step);
        text(f, PX0 - 6, y + 4, "end", "font-size=\"11\"", b);
    }
    fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">", 28.0,
            (y0 + y1) / 2);
    esc(f, label);
    fputs("</text>\n", f);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", PX0, y0, PX0, y1);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", PX0, y1, PX1, y1);
}

static void layers_panel(FILE *f, const llq_drift_result *r, double y0, double y1)
{
    char b[96], v[32];
    text(f, PX0, y0 - 30, "start", "font-size=\"15\" font-weight=\"bold\"",
         "Relative error of the hidden state after each layer");
    if (!r->layer_relerr || r->n_layers == 0) {
        text(f, (PX0 + PX1) / 2, (y0 + y1) / 2, "middle", "font-size=\"13\" fill=\"#666\"", "no per-layer data");
        return;
    }
    double max = 0;
    for (uint32_t l = 0; l < r->n_layers; l++)
        if (isfinite(r->layer_relerr[l]) && r->layer_relerr[l] > max)
            max = r->layer_relerr[l];
    double step = max > 0 ? nice_step(max, 5) : 0.2, top = max > 0 ? ceil(max / step) * step : 1;
    y_axis(f, y0, y1, top, step, "‖x_quant − x_base‖ / ‖x_base‖");
    double slot = (PX1 - PX0) / r->n_layers, bw = slot * 0.7;
    int every = r->n_layers <= 16 ? 1 : r->n_layers <= 40 ? 4 : 8;
    for (uint32_t l = 0; l < r->n_layers; l++) {
        double e = r->layer_relerr[l], h = isfinite(e) && e > 0 ? (y1 - y0) * e / top : 0;
        double x = PX0 + slot * l + (slot - bw) / 2;
        fprintf(f, "<rect class=\"layer\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#4878b0\">",
                fin(x), fin(y1 - h), fin(bw), fin(h));
        fprintf(f, "<title>layer %u: %s</title></rect>\n", l, num(v, 'g', 4, e));
        if (l % (uint32_t)every == 0 || l + 1 == r->n_layers) {
            snprintf(b, sizeof b, "%u", l);
            text(f, x + bw / 2, y1 + 15, "middle", "font-size=\"11\"", b);
        }
    }
    text(f, (PX0 + PX1) / 2, y1 + 34, "middle", "font-size=\"12\"", "layer");
    char m[32];
    snprintf(b, sizeof b, "last layer %s, largest %s", num(v, 'g', 4, r->layer_relerr[r->n_layers - 1]),
             num(m, 'g', 4, max));
    text(f, PX0, y0 - 12, "start", "font-size=\"12\" fill=\"#444\"", b);
}

static void kld_panel(FILE *f, const llq_drift_result *r, double y0, double y1)
{
    char b[256], v1[32], v2[32], v3[32], v4[32];
    size_t n = r->n_scored, zeros = 0, below = 0, count[CLI_SVG_KLD_BINS] = {0};
    const double *k = r->kld; /* sorted ascending */
    text(f, PX0, y0 - 30, "start", "font-size=\"15\" font-weight=\"bold\"",
         "Distribution of per-position KL(base ‖ quant)");
    while (zeros < n && !(k[zeros] > 0))
        zeros++;
    double kmax = k[n - 1];
    int hi = zeros < n && isfinite(kmax) ? (int)ceil(log10(kmax)) : 0;
    int lo = zeros < n ? (int)floor(log10(k[zeros])) : hi - CLI_SVG_KLD_DECADES;
    if (hi > 300)
        hi = 300;
    if (lo < hi - CLI_SVG_KLD_DECADES)
        lo = hi - CLI_SVG_KLD_DECADES;
    if (lo >= hi)
        lo = hi - 1;
    double span = hi - lo;
    for (size_t i = zeros; i < n; i++) {
        double t = (log10(k[i]) - lo) / span * CLI_SVG_KLD_BINS;
        if (t < 0)
            below++;
        int bin = !(t >= 0) ? 0 : t >= CLI_SVG_KLD_BINS ? CLI_SVG_KLD_BINS - 1 : (int)t;
        count[bin]++;
    }
    size_t cmax = 0;
    for (int i = 0; i < CLI_SVG_KLD_BINS; i++)
        cmax = count[i] > cmax ? count[i] : cmax;
    double step = cmax ? nice_step((double)cmax, 5) : 1, top = cmax ? ceil((double)cmax / step) * step : 5;
    if (step < 1)
        step = 1, top = ceil((double)cmax);
    y_axis(f, y0, y1, top, step, "positions");
    double bw = (PX1 - PX0) / CLI_SVG_KLD_BINS;
    for (int i = 0; i < CLI_SVG_KLD_BINS; i++) {
        double h = (y1 - y0) * (double)count[i] / top, x = PX0 + bw * i;
        fprintf(f, "<rect class=\"bin\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#e08a3c\">",
                x + 0.5, y1 - h, bw - 1, h);
        fprintf(f, "<title>%.3g .. %.3g: %zu</title></rect>\n", pow(10, lo + span * i / CLI_SVG_KLD_BINS),
                pow(10, lo + span * (i + 1) / CLI_SVG_KLD_BINS), count[i]);
    }
    for (int e = lo; e <= hi; e++) {
        double x = PX0 + (PX1 - PX0) * (e - lo) / span;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", x, y1, x, y1 + 5);
        snprintf(b, sizeof b, "1e%d", e);
        text(f, x, y1 + 18, "middle", "font-size=\"11\"", b);
    }
    text(f, (PX0 + PX1) / 2, y1 + 36, "middle", "font-size=\"12\"", "KL divergence per position (nats, log scale)");
    /* markers */
    struct { const char *name, *color, *dash; double v; } mk[3] = {
        {"mean", "#c0392b", "", r->kld_mean.v},
        {"median", "#27ae60", "", r->kld_median.v},
        {"p99", "#8e44ad", " stroke-dasharray=\"6 3\"", r->kld_p99.v},
    };
    for (int i = 0; i < 3; i++) {
        double v = mk[i].v;
        if (!(v > 0) || !isfinite(v))
            continue;
        double t = (log10(v) - lo) / span, x = PX0 + (PX1 - PX0) * (t < 0 ? 0 : t > 1 ? 1 : t);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>\n", x, y0,
                x, y1, mk[i].color, mk[i].dash);
        snprintf(b, sizeof b, "%s %.3g", mk[i].name, v);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"11\" fill=\"%s\">", x + (t > 0.8 ? -4 : 4),
                y0 + 12 + 14 * i, t > 0.8 ? "end" : "start", mk[i].color);
        esc(f, b);
        fputs("</text>\n", f);
    }
    snprintf(b, sizeof b, "%zu positions; mean %s, median %s, p99 %s, max %s", n, num(v1, 'g', 3, r->kld_mean.v),
             num(v2, 'g', 3, r->kld_median.v), num(v3, 'g', 3, r->kld_p99.v), num(v4, 'g', 3, r->kld_max.v));
    text(f, PX0, y0 - 12, "start", "font-size=\"12\" fill=\"#444\"", b);
    if (zeros || below) {
        snprintf(b, sizeof b, "%zu positions with KL = 0 not drawn; %zu below 1e%d counted in the first bin", zeros,
                 below, lo);
        text(f, PX1, y1 + 52, "end", "font-size=\"11\" fill=\"#666\"", b);
    }
}

int cli_svg_bars(FILE *f, const char *title, const char *subtitle, const char *axis, size_t n,
                 const char *const *labels, const double *values)
{
    char b[64];
    if (n == 0)
        return llq_err(LLQ_EINVAL, "bar chart: no values");
    size_t longest = 0;
    double vmax = 0, vmin = INFINITY;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(labels[i]);
        longest = l > longest ? l : longest;
        if (isfinite(values[i]) && values[i] > 0) {
            vmax = values[i] > vmax ? values[i] : vmax;
            vmin = values[i] < vmin ? values[i] : vmin;
        }
    }
    int hi = vmax > 0 ? (int)ceil(log10(vmax)) : 0, lo = vmax > 0 ? (int)floor(log10(vmin)) : -1;
    if (lo < hi - CLI_SVG_KLD_DECADES)
        lo = hi - CLI_SVG_KLD_DECADES;
    if (lo >= hi)
        lo = hi - 1;
    double x0 = 20 + 6.6 * (double)(longest > 60 ? 60 : longest), x1 = x0 + 600, row = 16, y0 = 100;
    double y1 = y0 + row * (double)n, width = x1 + 80, height = y1 + 60, span = hi - lo;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"sans-serif\">\n",
            width, height, width, height);
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n", width, height);
    text(f, 20, 30, "start", "font-size=\"18\" font-weight=\"bold\"", title);
    text(f, 20, 52, "start", "font-size=\"12\" fill=\"#444\"", subtitle);
    for (int e = lo; e <= hi; e++) {
        double x = x0 + (x1 - x0) * (e - lo) / span;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x, y0 - 4, x, y1);
        snprintf(b, sizeof b, "1e%d", e);
        text(f, x, y0 - 10, "middle", "font-size=\"11\"", b);
        text(f, x, y1 + 16, "middle", "font-size=\"11\"", b);
    }
    text(f, (x0 + x1) / 2, 76, "middle", "font-size=\"12\"", axis);
    for (size_t i = 0; i < n; i++) {
        double v = values[i], y = y0 + row * (double)i, w = 0;
        if (isfinite(v) && v > 0) {
            double t = (log10(v) - lo) / span;
            w = (x1 - x0) * (t < 0 ? 0 : t > 1 ? 1 : t);
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\" font-family=\"monospace\">",
                x0 - 6, y + 11);
        esc(f, labels[i]);
        fprintf(f, "</text>\n<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"#4878b0\">",
                x0, y + 2, fin(w), row - 4);
        fputs("<title>", f);
        esc(f, labels[i]);
        fprintf(f, ": %s</title></rect>\n", num(b, 'g', 4, v));
        text(f, x0 + fin(w) + 4, y + 11, "start", "font-size=\"10\" fill=\"#444\"",
             isfinite(v) && v > 0 ? b : isfinite(v) ? "0" : "n/a");
    }
    fputs("</svg>\n", f);
    if (fflush(f) != 0 || ferror(f))
        return llq_err(LLQ_EIO, "bar chart: write failed: %s", strerror(errno ? errno : EIO));
    return 0;
}

int cli_svg_drift(FILE *f, const char *base, const char *quant, const llq_drift_result *r)
{
    char b[512], v1[32], v2[32], v3[32], v4[32], v5[32];
    if (!r->kld || r->n_scored == 0)
        return llq_err(LLQ_EINVAL, "drift chart: no per-position KL divergence (keep_kld not set)");
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"sans-serif\">\n",
            W, H, W, H);
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", W, H);
    text(f, PX0, 34, "start", "font-size=\"20\" font-weight=\"bold\"", "llq drift: quantized model against its base");
    fputs("<text x=\"90\" y=\"58\" font-size=\"13\">base: ", f);
    esc(f, base);
    fputs("</text>\n<text x=\"90\" y=\"76\" font-size=\"13\">quant: ", f);
    esc(f, quant);
    fputs("</text>\n", f);
    snprintf(b, sizeof b, "ppl base %s · ppl quant %s · Δppl %s %% · mean KLD %s · top-1 agreement %s %%",
             num(v1, 'f', 4, r->ppl_base.v), num(v2, 'f', 4, r->ppl_quant.v), num(v3, '+', 3, r->dppl_pct.v),
             num(v4, 'g', 4, r->kld_mean.v), num(v5, 'f', 2, r->top1.v));
    text(f, PX0, 104, "start", "font-size=\"14\" font-weight=\"bold\" fill=\"#222\"", b);
    snprintf(b, sizeof b, "%zu positions scored in %zu windows", r->n_scored, r->n_windows);
    text(f, PX0, 122, "start", "font-size=\"12\" fill=\"#555\"", b);
    layers_panel(f, r, 190, 420);
    kld_panel(f, r, 530, 760);
    fputs("</svg>\n", f);
    if (fflush(f) != 0 || ferror(f))
        return llq_err(LLQ_EIO, "drift chart: write failed: %s", strerror(errno ? errno : EIO));
    return 0;
}
