/* convert.c — llq-convert throughput and peak memory on synthetic LLaMA checkpoints of >= 1 GB (issue #3).
 *
 * Writes a checkpoint (random weights) into $LLQ_BENCH_DIR (default /dev/shm when writable, else /tmp; 2.7 GB
 * free needed): Hugging Face layout (config.json + model.safetensors) in f32, bf16 and f16, then a 2-shard Meta
 * layout in bf16. Converts each in a child process so that its peak RSS and CPU time (wait4) are its own.
 * Each run prints: source MB/s wall (warm page cache: the file was just written), MB per CPU-second (user + sys
 * of the child: what an idle core does), the split between streaming the data and committing (fsync + rename),
 * peak RSS against the bound 2 x largest tensor + 64 MB, and the load average when it started. The same-dtype
 * runs are the target (>= 1000 MB/s wall, summed up at the end); dtype-changing runs are for information.
 * When tests/make_fixtures.py --bench has made a real torch zip checkpoint ($LLQ_BENCH_DATA, default
 * build/bench-data), it is converted too (its zip CRCs checked in the same pass as the copy).
 * Everything it writes is removed at the end. Figures only: never fails on speed. */
#include "../tests/unit/st_write.h"
#include "llq/ckpt.h"
#include "llq/convert.h"

#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DIM 2048
#define MAX_LAYERS 8
#define HEADS 16
#define FFN 5504
#define VOCAB 32000

static uint64_t rng = 88172645463325252ull;
static int layers; /* of the checkpoint being made: 4 in f32, 8 in 16-bit types (both >= 1 GB) */

/* ctx: the safetensors dtype name. Values in +-0.1 (16-bit types: two per 4 bytes). */
static void fill(void *ctx, void *buf, size_t n)
{
    const char *dtype = ctx;
    uint8_t *p = buf;
    for (size_t i = 0; i + 4 <= n; i += 4) {
        bench_xorshift(&rng);
        float f = (float)((double)(rng >> 40) / 16777216.0 - 0.5) * 0.2f;
        uint16_t h[2];
        if (!strcmp(dtype, "F32")) {
            memcpy(p + i, &f, 4);
            continue;
        }
        for (int k = 0; k < 2; k++, f *= -0.5f)
            h[k] = dtype[0] == 'B' ? llq_f32_to_bf16(f) : llq_f32_to_f16(f);
        memcpy(p + i, h, 4);
    }
}

static void write_config(const char *dir, int meta)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, meta ? "params.json" : "config.json");
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    if (meta)
        fprintf(f, "{\"dim\": %d, \"n_layers\": %d, \"n_heads\": %d, \"vocab_size\": %d, \"hidden_dim\": %d, "
                   "\"norm_eps\": 1e-05}\n", DIM, layers, HEADS, VOCAB, FFN);
    else
        fprintf(f, "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": %d, "
                   "\"intermediate_size\": %d, \"num_hidden_layers\": %d, \"num_attention_heads\": %d, "
                   "\"vocab_size\": %d, \"rms_norm_eps\": 1e-05, \"max_position_embeddings\": 2048}\n",
                DIM, FFN, layers, HEADS, VOCAB);
    fclose(f);
}

/* Writes a random checkpoint into dir: shards == 0 gives the Hugging Face layout (config.json + model.safetensors),
 * shards >= 1 Meta's (params.json + consolidated.NN.pth cut as Meta's model parallelism cuts them; the files hold
 * safetensors bytes, which the readers detect). Returns the tensor bytes, sets *largest (whole tensors). */
static uint64_t make_checkpoint(const char *dir, const char *dtype, int shards, uint64_t *largest)
{
    static char names[3 + 9 * MAX_LAYERS][96];
    static const char *const hf[9] = {"input_layernorm", "self_attn.q_proj", "self_attn.k_proj",
                                      "self_attn.v_proj", "self_attn.o_proj", "post_attention_layernorm",
                                      "mlp.gate_proj", "mlp.down_proj", "mlp.up_proj"};
    static const char *const meta[9] = {"attention_norm", "attention.wq", "attention.wk", "attention.wv",
                                        "attention.wo", "ffn_norm", "feed_forward.w1", "feed_forward.w2",
                                        "feed_forward.w3"};
    static const int split[9] = {-1, 0, 0, 0, 1, -1, 0, 1, 0};
    st_tensor t[3 + 9 * MAX_LAYERS];
    int tsplit[3 + 9 * MAX_LAYERS];
    size_t n = 0;
    uint64_t total = 0;
    char path[1024];
    int parts = shards ? shards : 1;
    write_config(dir, shards > 0);
    tsplit[n] = 1;
    t[n++] = (st_tensor){shards ? "tok_embeddings.weight" : "model.embed_tokens.weight", dtype, 2, {VOCAB, DIM}, NULL};
    for (int l = 0; l < layers; l++) {
        for (int k = 0; k < 9; k++) {
            if (shards)
                snprintf(names[n], sizeof names[n], "layers.%d.%s.weight", l, meta[k]);
            else
                snprintf(names[n], sizeof names[n], "model.layers.%d.%s.weight", l, hf[k]);
            uint64_t d0 = k == 0 || k == 5 ? DIM : k == 6 || k == 8 ? FFN : DIM, d1 = k == 7 ? FFN : DIM;
            tsplit[n] = split[k];
            t[n] = (st_tensor){names[n], dtype, k == 0 || k == 5 ? 1 : 2, {d0, k == 0 || k == 5 ? 0 : d1}, NULL};
            n++;
        }
    }
    tsplit[n] = -1;
    t[n++] = (st_tensor){shards ? "norm.weight" : "model.norm.weight", dtype, 1, {DIM, 0}, NULL};
    tsplit[n] = 0;
    t[n++] = (st_tensor){shards ? "output.weight" : "lm_head.weight", dtype, 2, {VOCAB, DIM}, NULL};
    static uint8_t ones[DIM * 4]; /* 1-D tensors: the same bytes in every shard (they are replicated) */
    memset(ones, 0x3f, sizeof ones);
    *largest = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].n_dims == 1)
            t[i].data = ones;
        total += st_nbytes(&t[i]);
        if (st_nbytes(&t[i]) > *largest)
            *largest = st_nbytes(&t[i]);
        if (tsplit[i] >= 0 && t[i].n_dims == 2)
            t[i].dims[tsplit[i]] /= (uint64_t)parts;
    }
    for (int s = 0; s < parts; s++) {
        if (shards)
            snprintf(path, sizeof path, "%s/consolidated.%02d.pth", dir, s);
        else
            snprintf(path, sizeof path, "%s/model.safetensors", dir);
        if (st_write(path, t, n, fill, (void *)(uintptr_t)dtype))
            return 0;
    }
    return total;
}

static void remove_checkpoint(const char *dir)
{
    static const char *const files[] = {"config.json", "params.json", "model.safetensors", "consolidated.00.pth",
                                        "consolidated.01.pth"};
    char p[1024];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
}

static double t_streamed;
static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    (void)ctx;
    if (done == total)
        t_streamed = bench_now();
}

/* Converts in a child; prints one line; returns MB/s wall and sets *per_cpu (MB per CPU-second), or -1. */
static const char *out_dir; /* where the .llq goes: the temp directory */

static double run(const char *dir, const char *label, uint32_t dtype, uint64_t src_bytes, uint64_t largest,
                  double *per_cpu)
{
    char out[1024];
    int fds[2];
    double load[3] = {-1, -1, -1};
    getloadavg(load, 3);
    snprintf(out, sizeof out, "%s/bench.llq", out_dir);
    if (pipe(fds))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        llq_convert_opts o = {0};
        llq_convert_report rep;
        double r[3] = {-1, 0, 0};
        o.src = dir;
        o.out = out;
        o.dtype = dtype;
        o.flags = LLQ_CONVERT_FORCE | LLQ_CONVERT_NO_TOKENIZER;
        o.progress = on_progress;
        double t0 = bench_now();
        if (llq_convert(&o, &rep) == 0) {
            r[0] = rep.seconds;
            r[1] = t_streamed - t0;
            r[2] = (double)rep.bytes_out;
        } else {
            fprintf(stderr, "bench_convert: %s\n", llq_errmsg());
        }
        if (write(fds[1], r, sizeof r) != (ssize_t)sizeof r)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    double r[3] = {-1, 0, 0};
    if (read(fds[0], r, sizeof r) != (ssize_t)sizeof r)
        r[0] = -1;
    close(fds[0]);
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    unlink(out);
    if (r[0] < 0) {
        printf("%-34s failed\n", label);
        return -1;
    }
    double mb = (double)src_bytes / 1e6, rss = (double)ru.ru_maxrss / 1024.0;
    double cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
                 1e-6 * (double)ru.ru_stime.tv_usec;
    double bound = 2.0 * (double)largest / 1048576.0 + 64;
    printf("%-34s %5.0f MB -> %5.0f MB in %5.2f s = %5.0f MB/s wall | CPU %5.2f s = %5.0f MB per CPU-second | "
           "peak RSS %3.0f MiB (bound %3.0f MiB%s) | streaming %.2f s, commit+fsync %.2f s | load %.2f\n",
           label, mb, r[2] / 1e6, r[0], mb / r[0], cpu, mb / cpu, rss, bound, rss <= bound ? ", ok" : ", EXCEEDED",
           r[1], r[0] - r[1], load[0]);
    fflush(stdout);
    *per_cpu = mb / cpu;
    return mb / r[0];
}

/* Context: plain write() of n bytes into dir (no fsync) and read() of the checkpoint, warm. */
static void baseline(const char *dir, uint64_t n)
{
    char p[1024];
    static char buf[4 << 20];
    memset(buf, 1, sizeof buf);
    snprintf(p, sizeof p, "%s/raw.bin", dir);
    FILE *f = fopen(p, "wb");
    if (!f)
        return;
    double t0 = bench_now();
    for (uint64_t o = 0; o < n; o += sizeof buf)
        if (fwrite(buf, 1, sizeof buf, f) != sizeof buf)
            break;
    fclose(f);
    double tw = bench_now() - t0;
    unlink(p);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    f = fopen(p, "rb");
    if (!f)
        return;
    t0 = bench_now();
    while (fread(buf, 1, sizeof buf, f) == sizeof buf)
        ;
    fclose(f);
    printf("for context, plain file I/O in %s: write() %.0f MB/s, read() of the checkpoint %.0f MB/s\n", dir, (double)n / 1e6 / tw,
           (double)n / 1e6 / (bench_now() - t0));
}

/* A real torch zip, when tests/make_fixtures.py --bench made one ($LLQ_BENCH_DATA, default build/bench-data):
 * Meta consolidated.00.pth, f32, 1.03 GB, stored zip entries (their CRC checked in the same pass as the copy). */
static void pth_checkpoint(void)
{
    const char *bd = getenv("LLQ_BENCH_DATA") ? getenv("LLQ_BENCH_DATA") : "build/bench-data";
    char dir[1024], path[1100];
    llq_src *s;
    snprintf(dir, sizeof dir, "%s/meta", bd);
    snprintf(path, sizeof path, "%s/consolidated.00.pth", dir);
    if (access(path, R_OK) != 0 || llq_src_open(&s, path) != 0) {
        printf("torch zip checkpoint: skipped, no %s (make it: /usr/bin/python3 tests/make_fixtures.py --bench %s)\n",
               path, bd);
        return;
    }
    uint64_t total = 0, largest = 0;
    for (size_t i = 0; i < llq_src_count(s); i++) {
        total += llq_src_at(s, i)->nbytes;
        largest = llq_src_at(s, i)->nbytes > largest ? llq_src_at(s, i)->nbytes : largest;
    }
    llq_src_close(s);
    printf("torch zip checkpoint %s: %.2f GB, largest tensor %.0f MB\n", path, (double)total / 1e9, (double)largest / 1e6);
    double dummy;
    run(dir, "f32 -> f32, Meta .pth (zip)", LLQ_CONVERT_KEEP, total, largest, &dummy);
}

int main(void)
{
    const char *base = getenv("LLQ_BENCH_DIR");
    char dir[256];
    struct stat st;
    if (!base || !base[0]) /* tmpfs when there is one: measures the converter rather than the disk */
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/llq-bench-convert-XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("bench_convert: mkdtemp");
        return 1;
    }
    out_dir = dir;
    static const struct {
        const char *dtype;
        int shards, layers;
    } ck[4] = {{"F32", 0, 4}, {"BF16", 0, 8}, {"F16", 0, 8}, {"BF16", 2, 8}};
    double wall[3] = {-1, -1, -1}, cpu[3] = {-1, -1, -1}, dummy;
    printf("llq-convert on synthetic checkpoints; load average at start %s; %ld CPUs online\n", bench_loadavg(),
           sysconf(_SC_NPROCESSORS_ONLN));
    for (int k = 0; k < 4; k++) {
        uint64_t largest;
        double t0 = bench_now();
        layers = ck[k].layers;
        uint64_t bytes = make_checkpoint(dir, ck[k].dtype, ck[k].shards, &largest);
        if (!bytes) {
            perror("bench_convert: writing the checkpoint");
            break;
        }
        printf("synthetic %s checkpoint (%s, dim %d, %d layers, ffn %d, vocab %d): %.2f GB, largest tensor %.0f MB; "
               "written in %.1f s\n",
               ck[k].shards ? "Meta 2-shard" : "HF safetensors", ck[k].dtype, DIM, layers, FFN, VOCAB,
               (double)bytes / 1e9, (double)largest / 1e6, bench_now() - t0);
        fflush(stdout);
        if (k == 0) {
            baseline(dir, bytes);
            run(dir, "f32 -> f32 (1st run)", LLQ_CONVERT_KEEP, bytes, largest, &dummy);
            wall[0] = run(dir, "f32 -> f32 (same dtype)", LLQ_CONVERT_KEEP, bytes, largest, &cpu[0]);
            run(dir, "f32 -> bf16 (dtype change, info)", LLQ_BF16, bytes, largest, &dummy);
            run(dir, "f32 -> f16 (dtype change, info)", LLQ_F16, bytes, largest, &dummy);
        } else if (k == 1) {
            wall[1] = run(dir, "bf16 -> bf16 (same dtype)", LLQ_CONVERT_KEEP, bytes, largest, &cpu[1]);
            run(dir, "bf16 -> f32 (dtype change, info)", LLQ_F32, bytes, largest, &dummy);
        } else if (k == 2) {
            wall[2] = run(dir, "f16 -> f16 (same dtype)", LLQ_CONVERT_KEEP, bytes, largest, &cpu[2]);
        } else {
            run(dir, "bf16 -> bf16, 2 Meta shards joined", LLQ_CONVERT_KEEP, bytes, largest, &dummy);
        }
        remove_checkpoint(dir);
    }
    pth_checkpoint();
    printf("same-dtype conversion, target >= 1000 MB/s wall (warm cache): f32 %.0f, bf16 %.0f, f16 %.0f MB/s wall; "
           "%.0f, %.0f, %.0f MB per CPU-second; load average now %s\n",
           wall[0], wall[1], wall[2], cpu[0], cpu[1], cpu[2], bench_loadavg());
    rmdir(dir);
    return 0;
}
