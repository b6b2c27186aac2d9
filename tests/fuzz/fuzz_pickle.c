/* fuzz_pickle.c — the symbolic pickle machine (ckpt/pickle.c, internal API): pk_parse on the bytes, then
 * a bounded walk of the value tree it returns (every node reachable must be readable; memo sharing makes it
 * a DAG, so the walk has a node budget) and a dict lookup, then pk_free. */
#include "fuzz_util.h"

#include <string.h>

#include "../../ckpt/pickle.h"

static size_t walk_budget;

static void walk(const pk_val *v, int depth)
{
    if (!v || depth > 64 || walk_budget == 0)
        return;
    walk_budget--;
    FUZZ_ASSERT(v->kind <= PK_CALL);
    if (v->s)
        fuzz_touch(v->s, v->len + 1); /* NUL-terminated copy */
    for (size_t i = 0; i < v->n; i++)
        walk(v->items[i], depth + 1);
    walk(v->callee, depth + 1);
    walk(v->args, depth + 1);
    walk(v->state, depth + 1);
}

static int fuzz_pickle(const uint8_t *data, size_t size)
{
    pk_ctx *c = NULL;
    pk_val *root = NULL;
    size_t used = 0;
    if (pk_parse(&c, &root, data, size, &used) == 0) {
        FUZZ_ASSERT(used >= 1 && used <= size && data[used - 1] == '.');
        walk_budget = 100000;
        walk(root, 0);
        (void)pk_dict_get(root, "state_dict");
    }
    pk_free(c);
    return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_pickle(data, size); }
#endif
