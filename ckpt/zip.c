/* zip.c — central-directory ZIP/ZIP64 reader over a mapping; stored entries in place, deflate via zlib. */
#include "zip.h"

#include "llq/llq.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_Z64_LOC 0x07064b50u
#define SIG_Z64_EOCD 0x06064b50u
#define EOCD_SIZE 22u
#define MAX_COMMENT 65535u
#define MAX_DEFLATE_RATIO 1032u /* deflate cannot expand more than ~1032:1 */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* 1 if [off, off+len) lies inside [0, limit). */
static int inside(uint64_t off, uint64_t len, uint64_t limit)
{
    uint64_t end;
    return llq_add_u64(&end, off, len) == 0 && end <= limit;
}

/* Finds the end-of-central-directory record: last signature whose comment reaches the end of the file. */
static int find_eocd(const uint8_t *b, uint64_t size, uint64_t *pos)
{
    if (size < EOCD_SIZE)
        return llq_err(LLQ_EFORMAT, "zip: file too small (%llu bytes) for an end-of-central-directory record",
                       (unsigned long long)size);
    uint64_t lo = size - EOCD_SIZE > MAX_COMMENT ? size - EOCD_SIZE - MAX_COMMENT : 0;
    for (uint64_t p = size - EOCD_SIZE + 1; p-- > lo;) {
        if (rd32(b + p) == SIG_EOCD && p + EOCD_SIZE + rd16(b + p + 20) == size) {
            *pos = p;
            return 0;
        }
    }
    return llq_err(LLQ_EFORMAT, "zip: no end-of-central-directory record (truncated or not a zip)");
}

/* Reads the ZIP64 extra field (id 1) of a central entry for the fields saturated in the 32-bit header. */
static int zip64_extra(const uint8_t *ex, uint32_t exlen, uint64_t *usize, uint64_t *csize, uint64_t *lho,
                       const char *name)
{
    int need_u = *usize == 0xffffffffu, need_c = *csize == 0xffffffffu, need_o = *lho == 0xffffffffu;
    uint32_t i = 0;
    while (i + 4 <= exlen) {
        uint16_t id = rd16(ex + i), len = rd16(ex + i + 2);
        if ((uint32_t)len > exlen - i - 4)
            return llq_err(LLQ_EFORMAT, "zip: entry '%s': extra field overruns its header", name);
        if (id == 1) {
            const uint8_t *f = ex + i + 4;
            uint32_t k = 0;
            if (need_u) { if (k + 8 > len) goto short_; *usize = rd64(f + k); k += 8; need_u = 0; }
            if (need_c) { if (k + 8 > len) goto short_; *csize = rd64(f + k); k += 8; need_c = 0; }
            if (need_o) { if (k + 8 > len) goto short_; *lho = rd64(f + k); k += 8; need_o = 0; }
        }
        i += 4u + len;
    }
    if (need_u || need_c || need_o)
        return llq_err(LLQ_EFORMAT, "zip: entry '%s': 0xffffffff size/offset without a ZIP64 extra field", name);
    return 0;
short_:
    return llq_err(LLQ_EFORMAT, "zip: entry '%s': ZIP64 extra field too short", name);
}

static void printable(char *dst, size_t cap, const uint8_t *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++)
        dst[k++] = (s[i] >= 32 && s[i] < 127) ? (char)s[i] : '?';
    dst[k] = 0;
}

static _Thread_local const zip_archive *sort_z; /* qsort has no context argument */

static int cmp_idx(const void *a, const void *b)
{
    return strcmp(sort_z->e[*(const size_t *)a].name, sort_z->e[*(const size_t *)b].name);
}

int zip_open(zip_archive *z, const void *base, uint64_t size)
{
    const uint8_t *b = base;
    int err = 0;
    memset(z, 0, sizeof *z);
    z->base = b;
    z->size = size;

    uint64_t eocd = 0;
    if ((err = find_eocd(b, size, &eocd)))
        goto done;
    const uint8_t *e = b + eocd;
    uint64_t n = rd16(e + 10), cd_size = rd32(e + 12), cd_off = rd32(e + 16);
    uint64_t cd_limit = eocd; /* the central directory ends before the (zip64) end records */
    if (rd16(e + 4) != 0 || rd16(e + 6) != 0 || rd16(e + 8) != rd16(e + 10)) {
        err = llq_err(LLQ_EUNSUPPORTED, "zip: multi-disk archives are not supported");
        goto done;
    }
    if (eocd >= 20 && rd32(b + eocd - 20) == SIG_Z64_LOC) {
        uint64_t r = rd64(b + eocd - 20 + 8);
        if (!inside(r, 56, eocd - 20) || rd32(b + r) != SIG_Z64_EOCD) {
            err = llq_err(LLQ_EFORMAT, "zip: ZIP64 locator points to offset %llu, not a ZIP64 end record",
                          (unsigned long long)r);
            goto done;
        }
        if (rd32(b + r + 16) != 0 || rd32(b + r + 20) != 0 || rd64(b + r + 24) != rd64(b + r + 32)) {
            err = llq_err(LLQ_EUNSUPPORTED, "zip: multi-disk archives are not supported");
            goto done;
        }
        n = rd64(b + r + 32);
        cd_size = rd64(b + r + 40);
        cd_off = rd64(b + r + 48);
        cd_limit = r;
    }
    if (n > ZIP_MAX_ENTRIES) {
        err = llq_err(LLQ_ELIMIT, "zip: %llu entries (limit %u)", (unsigned long long)n, ZIP_MAX_ENTRIES);
        goto done;
    }
    if (!inside(cd_off, cd_size, cd_limit)) {
        err = llq_err(LLQ_EFORMAT, "zip: central directory (offset %llu, %llu bytes) lies outside the file (%llu bytes)",
                      (unsigned long long)cd_off, (unsigned long long)cd_size, (unsigned long long)size);
        goto done;
    }
    if (n > cd_size / 46) {
        err = llq_err(LLQ_EFORMAT, "zip: %llu entries cannot fit a %llu-byte central directory", (unsigned long long)n,
                      (unsigned long long)cd_size);
        goto done;
    }
    /* Names are at most the central directory size in total. */
    z->e = calloc(n ? n : 1, sizeof *z->e);
    z->names = malloc(cd_size + 1);
    if (!z->e || !z->names) {
        err = llq_err(LLQ_ENOMEM, "zip: out of memory for %llu entries", (unsigned long long)n);
        goto done;
    }
    uint64_t p = cd_off, cd_end = cd_off + cd_size, name_used = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (!inside(p, 46, cd_end) || rd32(b + p) != SIG_CENTRAL) {
            err = llq_err(LLQ_EFORMAT, "zip: central directory entry %llu of %llu is missing or corrupt",
                          (unsigned long long)i, (unsigned long long)n);
            goto done;
        }
        const uint8_t *c = b + p;
        uint32_t nlen = rd16(c + 28), xlen = rd16(c + 30), clen = rd16(c + 32);
        if (!inside(p + 46, (uint64_t)nlen + xlen + clen, cd_end)) {
            err = llq_err(LLQ_EFORMAT, "zip: central directory entry %llu overruns the directory", (unsigned long long)i);
            goto done;
        }
        char shown[128];
        printable(shown, sizeof shown, c + 46, nlen);
        if (nlen == 0 || nlen > ZIP_MAX_NAME || memchr(c + 46, 0, nlen)) {
            err = llq_err(LLQ_EFORMAT, "zip: entry %llu has an invalid name '%s'", (unsigned long long)i, shown);
            goto done;
        }
        zip_entry *en = &z->e[i];
        uint16_t flags = rd16(c + 8);
        en->method = rd16(c + 10);
        en->crc = rd32(c + 16);
        en->csize = rd32(c + 20);
        en->usize = rd32(c + 24);
        uint64_t lho = rd32(c + 42);
        if ((err = zip64_extra(c + 46 + nlen, xlen, &en->usize, &en->csize, &lho, shown)))
            goto done;
        if (flags & 1) {
            err = llq_err(LLQ_EUNSUPPORTED, "zip: entry '%s' is encrypted", shown);
            goto done;
        }
        if (en->method != 0 && en->method != 8) {
            err = llq_err(LLQ_EUNSUPPORTED, "zip: entry '%s' uses compression method %u (only stored and deflate)",
                          shown, en->method);
            goto done;
        }
        if (en->method == 0 && en->csize != en->usize) {
            err = llq_err(LLQ_EFORMAT, "zip: stored entry '%s' has compressed size %llu != size %llu", shown,
                          (unsigned long long)en->csize, (unsigned long long)en->usize);
            goto done;
        }
        uint64_t bound;
        if (en->method == 8 && (llq_mul_u64(&bound, en->csize, MAX_DEFLATE_RATIO) || en->usize > bound + 1024)) {
            err = llq_err(LLQ_ELIMIT, "zip: entry '%s' claims %llu bytes from %llu compressed (zip bomb refused)",
                          shown, (unsigned long long)en->usize, (unsigned long long)en->csize);
            goto done;
        }
        /* Local header: its own name/extra lengths give the data offset. */
        if (!inside(lho, 30, cd_off) || rd32(b + lho) != SIG_LOCAL) {
            err = llq_err(LLQ_EFORMAT, "zip: entry '%s': local header offset %llu is outside the file or corrupt",
                          shown, (unsigned long long)lho);
            goto done;
        }
        uint32_t lnlen = rd16(b + lho + 26), lxlen = rd16(b + lho + 28);
        if (!inside(lho + 30, (uint64_t)lnlen + lxlen, cd_off) || lnlen != nlen ||
            memcmp(b + lho + 30, c + 46, nlen) != 0) {
            err = llq_err(LLQ_EFORMAT, "zip: entry '%s': local header does not match the central directory", shown);
            goto done;
        }
        en->data_off = lho + 30 + lnlen + lxlen;
        if (!inside(en->data_off, en->csize, cd_off)) {
            err = llq_err(LLQ_EFORMAT, "zip: entry '%s' data (offset %llu, %llu bytes) runs past the end of the data area",
                          shown, (unsigned long long)en->data_off, (unsigned long long)en->csize);
            goto done;
        }
        memcpy(z->names + name_used, c + 46, nlen);
        z->names[name_used + nlen] = 0;
        name_used += nlen + 1;
        p += 46 + (uint64_t)nlen + xlen + clen;
        z->n = i + 1;
    }
    /* Names were copied with offsets; fix pointers now that names will not move. */
    {
        uint64_t off = 0;
        for (size_t i = 0; i < z->n; i++) {
            z->e[i].name = z->names + off;
            off += strlen(z->names + off) + 1;
        }
    }
    if (!(z->by_name = malloc((z->n ? z->n : 1) * sizeof *z->by_name))) {
        err = llq_err(LLQ_ENOMEM, "zip: out of memory");
        goto done;
    }
    for (size_t i = 0; i < z->n; i++)
        z->by_name[i] = i;
    sort_z = z;
    if (z->n > 1)
        qsort(z->by_name, z->n, sizeof *z->by_name, cmp_idx);
    sort_z = NULL;
done:
    if (err)
        zip_close(z);
    return err;
}

void zip_close(zip_archive *z)
{
    if (!z)
        return;
    free(z->e);
    free(z->names);
    free(z->by_name);
    z->e = NULL;
    z->names = NULL;
    z->by_name = NULL;
    z->n = 0;
}

const zip_entry *zip_find(const zip_archive *z, const char *name)
{
    size_t lo = 0, hi = z->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(z->e[z->by_name[mid]].name, name);
        if (c == 0)
            return &z->e[z->by_name[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int inflate_entry(const zip_archive *z, const zip_entry *e, uint8_t *dst)
{
    z_stream st;
    memset(&st, 0, sizeof st);
    if (inflateInit2(&st, -MAX_WBITS) != Z_OK)
        return llq_err(LLQ_ENOMEM, "zip: inflateInit failed");
    const uint8_t *src = z->base + e->data_off;
    uint64_t in_left = e->csize, out_done = 0;
    int err = 0, zr = Z_OK;
    uint8_t extra;
    while (zr != Z_STREAM_END) {
        if (st.avail_in == 0 && in_left > 0) {
            uInt k = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
            st.next_in = (Bytef *)(uintptr_t)src;
            st.avail_in = k;
            src += k;
            in_left -= k;
        }
        uint64_t out_left = e->usize - out_done;
        int probing = out_left == 0; /* output full: one spare byte detects data past the declared size */
        st.next_out = probing ? &extra : dst + out_done;
        st.avail_out = probing ? 1 : (out_left > UINT_MAX ? UINT_MAX : (uInt)out_left);
        uInt before = st.avail_out;
        zr = inflate(&st, Z_NO_FLUSH);
        uint64_t produced = before - st.avail_out;
        if (probing && produced) {
            err = llq_err(LLQ_ELIMIT, "zip: entry '%s' inflates past its declared size %llu (zip bomb refused)", e->name,
                          (unsigned long long)e->usize);
            goto done;
        }
        out_done += produced;
        if (zr == Z_STREAM_END)
            break;
        if (zr != Z_OK && !(zr == Z_BUF_ERROR && (in_left > 0 || st.avail_in > 0))) {
            err = llq_err(LLQ_EFORMAT, "zip: entry '%s': corrupt deflate data (%s)", e->name,
                          zr == Z_BUF_ERROR ? "truncated" : (st.msg ? st.msg : "error"));
            goto done;
        }
    }
    if (out_done != e->usize)
        err = llq_err(LLQ_EFORMAT, "zip: entry '%s' inflates to %llu bytes, declared %llu", e->name,
                      (unsigned long long)out_done, (unsigned long long)e->usize);
done:
    inflateEnd(&st);
    return err;
}

int zip_read(const zip_archive *z, const zip_entry *e, int check_crc, const void **out, void **owned)
{
    *out = NULL;
    *owned = NULL;
    const uint8_t *data = z->base + e->data_off;
    uint8_t *buf = NULL;
    int err = 0;
    if (e->method == 8) {
        if (e->usize > SIZE_MAX - 1 || !(buf = malloc(e->usize ? e->usize : 1)))
            return llq_err(LLQ_ENOMEM, "zip: entry '%s': cannot allocate %llu bytes", e->name,
                           (unsigned long long)e->usize);
        if ((err = inflate_entry(z, e, buf)))
            goto done;
        data = buf;
    }
    if (check_crc) {
        uint32_t c = llq_crc32(0, data, e->usize);
        if (c != e->crc) {
            err = llq_err(LLQ_ECRC, "zip: entry '%s': CRC-32 %08x does not match the recorded %08x", e->name, c, e->crc);
            goto done;
        }
    }
    *out = data;
    *owned = buf;
    buf = NULL;
done:
    free(buf);
    return err;
}
