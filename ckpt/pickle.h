/* pickle.h — internal: a symbolic pickle machine. It builds a tree of inert values from the opcodes torch
 * writes (protocols 2-5) and never calls anything: GLOBAL / STACK_GLOBAL must name an allow-listed symbol
 * (torch rebuild functions, storage classes, dtypes, collections.OrderedDict), otherwise parsing stops with
 * LLQ_EUNSAFE naming it. REDUCE / NEWOBJ produce PK_CALL nodes (callee + args) for the caller to interpret;
 * OrderedDict() becomes a plain PK_DICT. Hard caps on stack depth, marks, memo size, string length, opcodes.
 */
#ifndef LLQ_PICKLE_H
#define LLQ_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#define PK_MAX_STACK 100000u
#define PK_MAX_MARKS 10000u
#define PK_MAX_MEMO 4000000u
#define PK_MAX_STR (64u << 20)
#define PK_MAX_OPS 100000000u
#define PK_MAX_NODES 4000000u /* ~20 per tensor in torch pickles; ~110 bytes each */

enum pk_kind { PK_NONE, PK_BOOL, PK_INT, PK_FLOAT, PK_STR, PK_BYTES, PK_TUPLE, PK_LIST, PK_DICT, PK_SET,
               PK_GLOBAL, PK_PERSID, PK_CALL };

/* Allow-listed symbols. */
enum pk_global {
    PKG_ORDERED_DICT = 1,
    PKG_REBUILD_TENSOR_V2,   /* torch._utils._rebuild_tensor_v2 */
    PKG_REBUILD_PARAMETER,   /* torch._utils._rebuild_parameter (+ _with_state) */
    PKG_REBUILD_FROM_TYPE,   /* torch._tensor._rebuild_from_type_v2 */
    PKG_TENSOR_CLASS,        /* torch.Tensor, torch.nn.parameter.Parameter: inert type markers */
    PKG_STORAGE,             /* torch.<X>Storage; dtype in pk_val.dtype */
    PKG_DTYPE                /* torch.float32 etc.; dtype in pk_val.dtype */
};

typedef struct pk_val pk_val;
struct pk_val {
    uint8_t kind;          /* enum pk_kind */
    uint8_t global;        /* PK_GLOBAL: enum pk_global */
    int32_t dtype;         /* PK_GLOBAL storage/dtype: enum llq_src_dtype, else -1 */
    int64_t i;             /* PK_INT, PK_BOOL */
    double f;              /* PK_FLOAT */
    char *s;               /* PK_STR/PK_BYTES (NUL-terminated copy), PK_GLOBAL "module name" */
    size_t len;            /* string length */
    pk_val **items;        /* TUPLE/LIST/SET items; DICT: key0, val0, key1, val1, ... */
    size_t n, cap;         /* number of items (DICT: 2 x pairs) */
    pk_val *callee, *args, *state; /* PK_CALL: callee (a PK_GLOBAL), args (a PK_TUPLE), BUILD state or NULL;
                                      PK_PERSID: args = the persistent id */
    pk_val *next_alloc;    /* internal */
};

typedef struct pk_ctx pk_ctx;

/* Runs the pickle in buf[0..len) up to its STOP. *root is the result, *used the bytes consumed (STOP
 * included). *out owns every node (pk_free), also on failure (may be NULL then). Errors: LLQ_EFORMAT
 * (malformed/truncated), LLQ_EUNSAFE (GLOBAL off the allow-list), LLQ_ELIMIT (a cap), LLQ_EUNSUPPORTED
 * (opcode not handled), LLQ_ENOMEM; messages start with "pickle". */
int pk_parse(pk_ctx **out, pk_val **root, const uint8_t *buf, size_t len, size_t *used);
void pk_free(pk_ctx *c);

/* Looks up key (a string) in a PK_DICT; NULL if absent or d is not a dict. */
pk_val *pk_dict_get(const pk_val *d, const char *key);

#endif
