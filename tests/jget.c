/* jget — reads a --json output for the CLI tests (the scripts in tests/cli), so they need no interpreter beyond sh.
 *
 *   jget FILE [PATH ...]      FILE "-" is stdin; without PATH: exit 0 iff FILE is one JSON document
 *
 * PATH is a list of steps separated by '/', each applied to every value the previous steps selected:
 *   KEY        the member KEY of an object (keys may hold dots: summary/metadata/quant.keep)
 *   N          element N of an array (0-based)
 *   *          every element of an array, every member value of an object
 *   KEY=TEXT   the elements of an array that are objects whose member KEY prints as TEXT (tensors/name=x.weight)
 *   KEY=*      the elements of an array that are objects with a member KEY
 *   #          the length of an array, object or string
 *   @keys      the member names of an object, in order
 * Each selected value is printed on its own line: a string as its text, a number as an integer or with %.17g,
 * true/false/null as such, an object or array as compact JSON.
 * Exit status: 0 every PATH selected at least one value, 1 a PATH selected nothing or FILE is not JSON (one line on
 * stderr), 2 usage. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* text of a scalar or compact JSON of a container, into buf (for printing and for KEY=TEXT) */
static const char *text_of(json_object *v, char *buf, size_t n)
{
    switch (json_object_get_type(v)) {
    case json_type_null: return "null";
    case json_type_boolean: return json_object_get_boolean(v) ? "true" : "false";
    case json_type_int: snprintf(buf, n, "%lld", (long long)json_object_get_int64(v)); return buf;
    case json_type_double: snprintf(buf, n, "%.17g", json_object_get_double(v)); return buf;
    case json_type_string: return json_object_get_string(v);
    default: return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    }
}

static int is_index(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Applies the steps of path (from p on) to v; prints what remains when the path ends; counts it in *hits. */
static void walk(json_object *v, const char *p, size_t *hits)
{
    char step[4096], buf[64];
    if (!*p) {
        (*hits)++;
        puts(text_of(v, buf, sizeof buf));
        return;
    }
    size_t len = strcspn(p, "/");
    if (len >= sizeof step)
        return;
    memcpy(step, p, len);
    step[len] = 0;
    const char *rest = p[len] ? p + len + 1 : p + len;
    json_type t = json_object_get_type(v);
    char *eq = strchr(step, '=');
    if (!strcmp(step, "#")) {
        long long n = t == json_type_array    ? (long long)json_object_array_length(v)
                      : t == json_type_object ? (long long)json_object_object_length(v)
                      : t == json_type_string ? (long long)json_object_get_string_len(v)
                                              : -1;
        if (n >= 0 && !*rest) {
            (*hits)++;
            printf("%lld\n", n);
        }
    } else if (!strcmp(step, "@keys") && t == json_type_object && !*rest) {
        json_object_object_foreach(v, k, val) {
            (void)val;
            (*hits)++;
            puts(k);
        }
    } else if (!strcmp(step, "*") && t == json_type_array) {
        for (size_t i = 0; i < json_object_array_length(v); i++)
            walk(json_object_array_get_idx(v, i), rest, hits);
    } else if (!strcmp(step, "*") && t == json_type_object) {
        json_object_object_foreach(v, k, val) {
            (void)k;
            walk(val, rest, hits);
        }
    } else if (eq && t == json_type_array) {
        *eq = 0;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *e = json_object_array_get_idx(v, i), *m;
            char mb[64];
            if (json_object_object_get_ex(e, step, &m) && (!strcmp(eq + 1, "*") || !strcmp(text_of(m, mb, sizeof mb), eq + 1)))
                walk(e, rest, hits);
        }
    } else if (is_index(step) && t == json_type_array) {
        size_t i = strtoul(step, NULL, 10);
        if (i < json_object_array_length(v))
            walk(json_object_array_get_idx(v, i), rest, hits);
    } else if (t == json_type_object) {
        json_object *m;
        if (json_object_object_get_ex(v, step, &m))
            walk(m, rest, hits);
    }
}

/* the whole of f, NUL-terminated, or NULL */
static char *slurp(FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0, got;
    char *b = malloc(cap), *nb;
    while (b && (got = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            nb = realloc(b, cap *= 2);
            if (!nb)
                free(b);
            b = nb;
        }
    }
    if (b)
        b[n] = 0;
    *len = n;
    return b;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("usage: jget FILE [PATH ...]\n", stderr);
        return 2;
    }
    int is_stdin = !strcmp(argv[1], "-"), ok = 0, rc = 0;
    FILE *f = is_stdin ? stdin : fopen(argv[1], "rb");
    size_t len = 0;
    char *text = f ? slurp(f, &len) : NULL;
    if (f && !is_stdin)
        fclose(f);
    json_object *root = NULL;
    if (text) { /* exactly one document: parsed to its end, nothing but white space after it */
        json_tokener *tk = json_tokener_new();
        root = json_tokener_parse_ex(tk, text, (int)len + 1);
        ok = json_tokener_get_error(tk) == json_tokener_success &&
             strspn(text + json_tokener_get_parse_end(tk), " \t\r\n") == strlen(text + json_tokener_get_parse_end(tk));
        json_tokener_free(tk);
    }
    free(text);
    if (!ok) {
        fprintf(stderr, "jget: %s: not one JSON document\n", argv[1]);
        json_object_put(root);
        return 1;
    }
    for (int i = 2; i < argc; i++) {
        size_t hits = 0;
        walk(root, argv[i], &hits);
        if (!hits) {
            fprintf(stderr, "jget: %s: nothing at '%s'\n", argv[1], argv[i]);
            rc = 1;
        }
    }
    json_object_put(root);
    return rc;
}
