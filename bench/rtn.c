/* rtn.c — issue #5: RTN quantization throughput of the whole tool, end to end (`make bench`; figures only).
 *
 * Writes an f32 .llq of 8 matrices of 4096 x 4096 (537 MB, values roughly normal with 2 % outliers, like
 * bench/quant.c) into $LLQ_BENCH_DIR (default /dev/shm when writable, else /tmp), then runs
 * `llq-quantize --method rtn -t 2` on it (read the .llq, quantize, write the .llq, fsync) for q8 g32, q4 g32,
 * q4 g128 and q4a g32, each in a child process. Prints MB of f32 input per second wall and per CPU-second
 * (user + sys of the child, from wait4) for the whole run, the RTN part alone (the tool's own rtn_seconds:
 * wall time inside llq_quantize_tensor), peak RSS and the load average. Target: >= 1000 MB/s of f32 on 2
 * threads (llama-quantize f32 -> Q4_0 ~940 MB/s on this machine). The library-only figures (llq_quantize_tensor
 * on one matrix in memory) are in bench/quant.c. */
#include "llq/format.h"

#include "bench.h"

#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_MAT 8
#define DIM 4096

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t u32(void)
{
    return (uint32_t)(bench_xorshift(&rng) >> 32);
}

/* Returns 0 or -1 (message printed). */
static int make_input(const char *path)
{
    llq_writer *w = NULL;
    float *row = malloc(DIM * sizeof *row);
    int err = row ? llq_writer_open(&w, path, LLQ_W_FORCE) : -1;
    static const char *const names[4] = {"attention.wq", "attention.wk", "attention.wv", "attention.wo"};
    for (int m = 0; !err && m < N_MAT; m++) {
        char name[64];
        uint64_t dims[2] = {DIM, DIM};
        snprintf(name, sizeof name, "layers.%d.%s.weight", m / 4, names[m % 4]);
        err = llq_writer_begin(w, name, LLQ_F32, 2, dims, 0);
        for (int r = 0; !err && r < DIM; r++) {
            for (int k = 0; k < DIM; k++) {
                float s = 0;
                for (int j = 0; j < 4; j++)
                    s += (float)(u32() >> 8) / 16777216.0f - 0.5f;
                row[k] = s * (u32() % 50 == 0 ? 6.0f : 1.0f) * 0.02f;
            }
            err = llq_writer_write(w, row, DIM * sizeof *row);
        }
        if (!err)
            err = llq_writer_end(w);
    }
    if (!err)
        err = llq_writer_commit(w);
    if (err)
        fprintf(stderr, "bench_rtn: %s\n", row ? llq_errmsg() : "out of memory");
    llq_writer_free(w);
    free(row);
    return err ? -1 : 0;
}

/* Runs the tool once; prints one line. */
static void run(const char *tool, const char *in, const char *out, const char *type, const char *group)
{
    int fds[2];
    char json[8192];
    size_t len = 0;
    if (pipe(fds))
        return;
    const char *load = bench_loadavg();
    char load_copy[64];
    snprintf(load_copy, sizeof load_copy, "%s", load);
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(tool, tool, in, "-o", out, "--method", "rtn", "--type", type, "--group", group, "-t", "2", "--force",
              "--quiet", "--json", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    ssize_t k;
    while (len < sizeof json - 1 && (k = read(fds[0], json + len, sizeof json - 1 - len)) > 0)
        len += (size_t)k;
    json[len] = 0;
    close(fds[0]);
    int status = 0;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    double wall = bench_now() - t0;
    unlink(out);
    json_object *j = json_tokener_parse(json), *v;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !j) {
        printf("  %-4s g%-4s failed (status %d)\n", type, group, status);
        json_object_put(j);
        return;
    }
    double qsec = json_object_object_get_ex(j, "rtn_seconds", &v) ? json_object_get_double(v) : 0;
    double qmb = json_object_object_get_ex(j, "rtn_f32_bytes", &v) ? (double)json_object_get_int64(v) / 1e6 : 0;
    json_object_put(j);
    double mb = (double)N_MAT * DIM * DIM * 4 / 1e6;
    double cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
                 1e-6 * (double)ru.ru_stime.tv_usec;
    printf("  %-4s g%-4s end to end: %5.0f MB in %5.2f s = %5.0f MB/s wall | CPU %5.2f s = %5.0f MB per CPU-second | "
           "RTN part %5.0f MB/s wall | peak RSS %.0f MiB | load %s\n",
           type, group, mb, wall, mb / wall, cpu, mb / cpu, qsec > 0 ? qmb / qsec : 0, (double)ru.ru_maxrss / 1024,
           load_copy);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    (void)argc;
    char tool[1024], dir[256], in[300], out[300];
    char *self = strdup(argv[0]);
    snprintf(tool, sizeof tool, "%s/../llq-quantize", self ? dirname(self) : ".");
    free(self);
    if (access(tool, X_OK) != 0) {
        printf("bench_rtn: skipped, no %s (run `make` first)\n", tool);
        return 0;
    }
    const char *base = getenv("LLQ_BENCH_DIR");
    struct stat st;
    if (!base || !base[0])
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/llq-bench-rtn-XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("bench_rtn: mkdtemp");
        return 1;
    }
    snprintf(in, sizeof in, "%s/in.llq", dir);
    snprintf(out, sizeof out, "%s/out.llq", dir);
    printf("llq-quantize --method rtn -t 2, end to end (.llq in, .llq out, in %s), %d f32 matrices %d x %d; "
           "target >= 1000 MB/s of f32 (llama-quantize f32 -> Q4_0 ~940 MB/s); %ld CPUs online:\n",
           base, N_MAT, DIM, DIM, sysconf(_SC_NPROCESSORS_ONLN));
    fflush(stdout);
    if (make_input(in) == 0) {
        static const char *const cfg[4][2] = {{"q8", "32"}, {"q4", "32"}, {"q4", "128"}, {"q4a", "32"}};
        for (int c = 0; c < 4; c++)
            run(tool, in, out, cfg[c][0], cfg[c][1]);
    }
    unlink(in);
    rmdir(dir);
    return 0;
}
