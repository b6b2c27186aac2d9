/* zip.h — internal: a read-only ZIP (and ZIP64) reader over a memory-mapped file, for torch.save archives.
 *
 * zip_open parses the central directory (end record searched backwards over at most 64 KiB + 22 bytes,
 * ZIP64 locator/record and extra fields honoured) and, for every entry, the local header that gives the
 * data offset. Every offset and size is checked against the file. Only methods 0 (stored) and 8
 * (deflate) are accepted; encrypted entries are refused. Nothing here prints.
 */
#ifndef LLQ_ZIP_H
#define LLQ_ZIP_H

#include <stddef.h>
#include <stdint.h>

#define ZIP_MAX_ENTRIES 1000000u
#define ZIP_MAX_NAME 4096u

typedef struct zip_entry {
    const char *name;   /* NUL-terminated copy, owned by the archive */
    uint16_t method;    /* 0 stored, 8 deflate */
    uint32_t crc;       /* CRC-32 from the central directory */
    uint64_t csize;     /* compressed size */
    uint64_t usize;     /* uncompressed size */
    uint64_t data_off;  /* absolute offset of the (compressed) data, from the local header */
} zip_entry;

typedef struct zip_archive {
    const uint8_t *base;  /* the mapping (not owned) */
    uint64_t size;
    zip_entry *e;         /* owned */
    size_t n;
    char *names;          /* owned: all names, NUL-separated */
    size_t *by_name;      /* owned: entry indices sorted by name (zip_find) */
} zip_archive;

/* Parses the archive in base[0..size). On success *z owns its tables (zip_close). On failure returns
 * LLQ_EFORMAT / LLQ_ELIMIT / LLQ_EUNSUPPORTED / LLQ_ENOMEM with a message (not prefixed by a path). */
int zip_open(zip_archive *z, const void *base, uint64_t size);
void zip_close(zip_archive *z);

/* Entry named exactly name, or NULL (binary search; with duplicate names, any of them). */
const zip_entry *zip_find(const zip_archive *z, const char *name);

/* Whole uncompressed contents of e. Stored: *out points into the mapping and *owned is NULL.
 * Deflated: inflated into a malloc'd buffer (*owned, freed by the caller), never more than e->usize bytes
 * (an entry inflating past its declared size is refused). check_crc: verify the CRC-32 (LLQ_ECRC). */
int zip_read(const zip_archive *z, const zip_entry *e, int check_crc, const void **out, void **owned);

#endif
