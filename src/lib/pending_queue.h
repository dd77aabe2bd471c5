/* The queue of delayed renames and deletes (NT's MoveFileEx(MOVEFILE_DELAY_UNTIL_REBOOT)):
 * a record file in the state directory, appended by `smssctl movefile`, read and applied at
 * boot by pending_apply.h. docs/RENAMES.md describes the format byte by byte.
 *
 * Record files (the queue and the applier's journal share the framing): an 8-byte magic,
 * then records, each
 *     u32 type | u32 payload length | payload | u32 CRC-32C of the bytes before | u32 total
 * little-endian, total = payload length + 16. A record is valid only when its type is known,
 * its lengths agree and its CRC matches, so a torn append (a crash in the middle of a write)
 * is recognised; the reader discards an invalid tail whole and reports it, and the next
 * append truncates it before writing. Invalid bytes followed by valid records are damage
 * (not a crash): reported, skipped up to the next valid record, never misread. The trailing total lets an
 * appender check the last record in O(1) instead of reading the whole file. */
#ifndef SMSS_PENDING_QUEUE_H
#define SMSS_PENDING_QUEUE_H
#include "buf.h"
#include "diag.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PENDING_QUEUE_FILE "pending.queue"
#define PENDING_DEFAULT_STATE_DIR "/var/lib/smss"

/* ---- Record framing ---- */

#define PREC_HEADER_LEN 8
#define PREC_OVERHEAD 16
#define PREC_MAX_PAYLOAD (64u << 20) /* a larger length field is corruption */

struct prec {
    uint32_t type;
    const uint8_t *payload;
    uint32_t len;
    uint64_t offset; /* of the record in the file */
    size_t index;    /* 0-based record number */
};

struct prec_scan_info {
    uint64_t valid_end; /* end of the last valid record (or of the header) */
    uint64_t discarded; /* bytes after valid_end: a torn append, discarded whole */
    size_t records;
    uint64_t skipped;   /* corrupt bytes between valid records (damage, not a crash) */
    uint64_t first_skip; /* offset of the first of them */
};

uint32_t prec_crc32c(uint32_t crc, const void *data, size_t n);
/* Append one framed record to out. 0, or -1 (ENOMEM, or EFBIG for an oversized payload). */
int prec_encode(struct buf *out, uint32_t type, const void *payload, size_t len);
/* Walk the records of a whole file image. types: the 0-terminated list of known types. The
 * callback returns 0 to go on, or -1 to stop (prec_scan then returns -1). Returns 0, or 1
 * when the header is not `magic` (nothing scanned). */
int prec_scan(const uint8_t *data, size_t size, const char magic[PREC_HEADER_LEN],
              const uint32_t *types, int (*fn)(void *ctx, const struct prec *r), void *ctx,
              struct prec_scan_info *info);
/* Under an exclusive lock the caller holds: make fd end with a valid record (truncating a
 * torn tail, writing the magic into an empty file), append `data` in one write and
 * fdatasync. A failed write is truncated away again. 0, or -1 with errno. *torn (optional)
 * gets the number of bytes truncated. EBADMSG: the file is not a record file of this magic. */
int prec_append_locked(int fd, const char magic[PREC_HEADER_LEN], const uint32_t *types,
                       const void *data, size_t len, uint64_t *torn);

/* Little-endian payload building and parsing. The reader latches its first error. */
int pq_put_u8(struct buf *b, uint8_t v);
int pq_put_u32(struct buf *b, uint32_t v);
int pq_put_u64(struct buf *b, uint64_t v);
int pq_put_str(struct buf *b, const char *s); /* u32 length + bytes (no NUL) */

struct pq_reader {
    const uint8_t *p;
    size_t n, off;
    bool bad;
};
uint8_t pq_get_u8(struct pq_reader *r);
uint32_t pq_get_u32(struct pq_reader *r);
uint64_t pq_get_u64(struct pq_reader *r);
/* A malloc'd NUL-terminated copy; NULL (and r->bad) on truncation, embedded NUL or ENOMEM. */
char *pq_get_str(struct pq_reader *r);

/* ---- The queue ---- */

enum {
    PQ_REPLACE = 1u << 0, /* NT's '!': replace an existing destination */
    PQ_DELETE = 1u << 1,  /* empty destination: delete the source */
};
#define PQ_KNOWN_FLAGS (PQ_REPLACE | PQ_DELETE)

struct pq_entry {
    uint32_t flags;
    char *source;      /* absolute Linux path */
    char *destination; /* absolute Linux path; "" for a delete */
    uint32_t uid;      /* who queued it */
    int64_t time;      /* when (seconds since the epoch) */
};

struct pq_list {
    struct pq_entry *v;
    size_t n, cap;
};
#define PQ_LIST_INIT {NULL, 0, 0}

int pq_list_push(struct pq_list *l, uint32_t flags, const char *source, const char *destination,
                 uint32_t uid, int64_t time);
void pq_list_free(struct pq_list *l);

/* How a new queue file is created (the state directory is created 0755 when missing). */
struct pq_create {
    mode_t mode; /* 0600, or 0660 with a group */
    gid_t gid;   /* (gid_t)-1: keep the creator's */
};

/* Append entries atomically and durably: open (creating it and fsyncing the directory when
 * new), flock, make sure the locked file is still the queue (the applier renames it away),
 * truncate a torn tail, one write, fdatasync. Concurrent appenders serialise on the lock and
 * never interleave. 0, or -1 with a diagnostic. */
int pq_append(const char *state_dir, const struct pq_entry *entries, size_t n,
              const struct pq_create *create, struct diags *d);
/* Same for an already opened (and flocked, checked) queue file descriptor. */
int pq_append_fd(int fd, const char *where, const struct pq_entry *entries, size_t n,
                 struct diags *d);

/* Read a queue file under a shared lock. A missing file is an empty queue (0). A torn tail
 * is a warning naming its offset and size; a CRC-valid record that does not decode is an
 * error naming its record number, and is skipped. 0, or -1 when the file cannot be read or
 * is not a queue file. */
int pq_read(const char *path, struct pq_list *out, struct diags *d);
/* Decode a whole queue image (no locking); `where` names it in diagnostics. */
int pq_parse(const uint8_t *data, size_t size, const char *where, struct pq_list *out,
             struct diags *d);

/* "state_dir/name", malloc'd; NULL on ENOMEM. */
char *pq_path(const char *state_dir, const char *name);
/* mkdir -p with mode 0755. 0, or -1 with errno. */
int pq_mkdirs(const char *path);

#endif
