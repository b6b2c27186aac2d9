/* test_fuzz_regress.c — replays every committed fuzz input through the fuzz targets' own entry points
 * (tests/fuzz/fuzz_<t>.c, included here without their libFuzzer main): the regression inputs of
 * tests/fuzz/regress/<t>/ (each one crashed a parser once) and the seed corpora tests/fuzz/corpus/<t>/.
 * One Check test per input, so a crash (or an ASan/UBSan report under `make asan`) names its index;
 * the path is printed on stderr just before it runs. Run from the repo root. */
#include "harness.h"

#include <check.h>
#include <dirent.h>
#include <string.h>

#define FUZZ_NO_MAIN
#include "../fuzz/fuzz_llq.c"
#include "../fuzz/fuzz_spm.c"
#include "../fuzz/fuzz_tok.c"
#include "../fuzz/fuzz_pickle.c"
#include "../fuzz/fuzz_zip.c"
#include "../fuzz/fuzz_torch.c"
#include "../fuzz/fuzz_safetensors.c"
#include "../fuzz/fuzz_config.c"
#include "../fuzz/fuzz_hfjson.c"
#include "../fuzz/fuzz_tiktoken.c"
#include "../fuzz/fuzz_bpetext.c"
#include "../fuzz/fuzz_gguf.c"

typedef int (*fuzz_fn)(const uint8_t *, size_t);

static const struct {
    const char *name;
    fuzz_fn fn;
} targets[] = {
    {"llq", fuzz_llq},
    {"spm", fuzz_spm},
    {"tok", fuzz_tok},
    {"pickle", fuzz_pickle},
    {"zip", fuzz_zip},
    {"torch", fuzz_torch},
    {"safetensors", fuzz_safetensors},
    {"config", fuzz_config},
    {"hfjson", fuzz_hfjson},
    {"tiktoken", fuzz_tiktoken},
    {"bpetext", fuzz_bpetext},
    {"gguf", fuzz_gguf},
};
#define N_TARGETS (sizeof targets / sizeof targets[0])

#define MAX_INPUTS 4096
static struct {
    char path[512];
    fuzz_fn fn;
} inputs[MAX_INPUTS];
static int n_inputs, n_regress;

static int cmp_str(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

/* Adds every regular, non-hidden file of dir (sorted) for fn. */
static int scan(const char *dir, fuzz_fn fn)
{
    DIR *d = opendir(dir);
    int start = n_inputs;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) && n_inputs < MAX_INPUTS) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(inputs[n_inputs].path, sizeof inputs[n_inputs].path, "%s/%s", dir, e->d_name);
        inputs[n_inputs].fn = fn;
        n_inputs++;
    }
    closedir(d);
    qsort(inputs + start, (size_t)(n_inputs - start), sizeof inputs[0], cmp_str);
    return n_inputs - start;
}

START_TEST(replay)
{
    size_t n = 0;
    uint8_t *buf = tu_slurp(inputs[_i].path, &n);
    fprintf(stderr, "replay %s\n", inputs[_i].path);
    ck_assert_int_eq(inputs[_i].fn(buf, n), 0);
    free(buf);
}
END_TEST

/* Every target has a seed corpus; the inputs were found. */
START_TEST(corpora_present)
{
    for (size_t t = 0; t < N_TARGETS; t++) {
        char dir[256];
        snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", targets[t].name);
        DIR *d = opendir(dir);
        ck_assert_msg(d != NULL, "%s missing (run from the repo root)", dir);
        closedir(d);
    }
    ck_assert_int_gt(n_inputs, (int)N_TARGETS);
    ck_assert_int_ge(n_regress, 0);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("fuzz_regress");
    TCase *tc = tcase_create("replay");
    for (size_t t = 0; t < N_TARGETS; t++) {
        char dir[256];
        snprintf(dir, sizeof dir, "tests/fuzz/regress/%s", targets[t].name);
        n_regress += scan(dir, targets[t].fn);
    }
    for (size_t t = 0; t < N_TARGETS; t++) {
        char dir[256];
        snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", targets[t].name);
        scan(dir, targets[t].fn);
    }
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, corpora_present);
    if (n_inputs)
        tcase_add_loop_test(tc, replay, 0, n_inputs);
    suite_add_tcase(s, tc);
    return s;
}
