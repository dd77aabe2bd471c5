#include "pending_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char queue_magic[PREC_HEADER_LEN] = {'S', 'M', 'S', 'S', 'P', 'Q', '1', '\n'};
#define PQ_TYPE_ENTRY 0x544e4551u /* "QENT" */
static const uint32_t queue_types[] = {PQ_TYPE_ENTRY, 0};

/* ---- CRC-32C (Castagnoli), table driven ---- */

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t prec_crc32c(uint32_t crc, const void *data, size_t n)
{
    if (crc_table[1] == 0)
        crc_init();
    const uint8_t *p = data;
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- little-endian helpers ---- */

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int pq_put_u8(struct buf *b, uint8_t v) { return buf_append(b, &v, 1); }

int pq_put_u32(struct buf *b, uint32_t v)
{
    uint8_t t[4];
    le32(t, v);
    return buf_append(b, t, 4);
}

int pq_put_u64(struct buf *b, uint64_t v)
{
    return pq_put_u32(b, (uint32_t)v) || pq_put_u32(b, (uint32_t)(v >> 32)) ? -1 : 0;
}

int pq_put_str(struct buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return pq_put_u32(b, (uint32_t)n) || buf_append(b, s ? s : "", n) ? -1 : 0;
}

static const uint8_t *take(struct pq_reader *r, size_t n)
{
    if (r->bad || r->n - r->off < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

uint8_t pq_get_u8(struct pq_reader *r)
{
    const uint8_t *p = take(r, 1);
    return p ? *p : 0;
}

uint32_t pq_get_u32(struct pq_reader *r)
{
    const uint8_t *p = take(r, 4);
    return p ? rd32(p) : 0;
}

uint64_t pq_get_u64(struct pq_reader *r)
{
    uint64_t lo = pq_get_u32(r);
    return lo | (uint64_t)pq_get_u32(r) << 32;
}

char *pq_get_str(struct pq_reader *r)
{
    uint32_t n = pq_get_u32(r);
    const uint8_t *p = take(r, n);
    if (!p || memchr(p, 0, n)) {
        r->bad = true;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->bad = true;
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* ---- framing ---- */

int prec_encode(struct buf *out, uint32_t type, const void *payload, size_t len)
{
    if (len > PREC_MAX_PAYLOAD) {
        errno = EFBIG;
        return -1;
    }
    if (buf_reserve(out, len + PREC_OVERHEAD))
        return -1;
    size_t start = out->len;
    uint8_t h[8];
    le32(h, type);
    le32(h + 4, (uint32_t)len);
    buf_append(out, h, 8);
    buf_append(out, payload, len);
    uint32_t crc = prec_crc32c(0, out->p + start, len + 8);
    le32(h, crc);
    le32(h + 4, (uint32_t)len + PREC_OVERHEAD);
    buf_append(out, h, 8);
    return 0;
}

static bool known_type(const uint32_t *types, uint32_t t)
{
    for (; *types; types++)
        if (*types == t)
            return true;
    return false;
}

/* The record at data[off..], or 0 when there is no valid one. Returns its total length. */
static size_t record_at(const uint8_t *data, size_t size, size_t off, const uint32_t *types)
{
    if (size - off < PREC_OVERHEAD)
        return 0;
    uint32_t type = rd32(data + off), len = rd32(data + off + 4);
    if (!known_type(types, type) || len > PREC_MAX_PAYLOAD || size - off - PREC_OVERHEAD < len)
        return 0;
    const uint8_t *t = data + off + 8 + len;
    if (rd32(t) != prec_crc32c(0, data + off, (size_t)len + 8) || rd32(t + 4) != len + PREC_OVERHEAD)
        return 0;
    return (size_t)len + PREC_OVERHEAD;
}

int prec_scan(const uint8_t *data, size_t size, const char magic[PREC_HEADER_LEN],
              const uint32_t *types, int (*fn)(void *ctx, const struct prec *r), void *ctx,
              struct prec_scan_info *info)
{
    memset(info, 0, sizeof *info);
    if (size < PREC_HEADER_LEN || memcmp(data, magic, PREC_HEADER_LEN) != 0)
        return 1;
    size_t off = PREC_HEADER_LEN, total;
    for (;;) {
        while ((total = record_at(data, size, off, types)) != 0) {
            struct prec r = {rd32(data + off), data + off + 8, rd32(data + off + 4), off, info->records};
            off += total;
            info->records++;
            if (fn && fn(ctx, &r) != 0)
                return -1;
        }
        info->valid_end = off;
        size_t next = off + 1;
        while (next + PREC_OVERHEAD <= size && record_at(data, size, next, types) == 0)
            next++;
        if (next + PREC_OVERHEAD > size)
            break;
        if (!info->skipped)
            info->first_skip = off;
        info->skipped += next - off;
        off = next;
    }
    info->discarded = size - info->valid_end;
    return 0;
}

static int pread_full(int fd, void *p, size_t n, off_t off)
{
    while (n) {
        ssize_t r = pread(fd, p, n, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            return -1;
        }
        p = (char *)p + r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

static int pwrite_full(int fd, const void *p, size_t n, off_t off)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p = (const char *)p + w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

/* Whether the last record of a file of `size` bytes is whole: reads only that record. */
static int tail_is_valid(int fd, uint64_t size, const uint32_t *types, bool *ok)
{
    *ok = false;
    if (size == PREC_HEADER_LEN) {
        *ok = true;
        return 0;
    }
    if (size < PREC_HEADER_LEN + PREC_OVERHEAD)
        return 0;
    uint8_t t[4];
    if (pread_full(fd, t, 4, (off_t)size - 4))
        return -1;
    uint32_t total = rd32(t);
    if (total < PREC_OVERHEAD || total > size - PREC_HEADER_LEN || total > PREC_MAX_PAYLOAD + PREC_OVERHEAD)
        return 0;
    uint8_t *rec = malloc(total);
    if (!rec)
        return -1;
    int rc = pread_full(fd, rec, total, (off_t)(size - total));
    if (rc == 0)
        *ok = record_at(rec, total, 0, types) == total;
    free(rec);
    return rc;
}

/* The valid end of a file whose tail is torn: a full scan. */
static int scan_valid_end(int fd, uint64_t size, const char *magic, const uint32_t *types,
                          uint64_t *end)
{
    uint8_t *all = malloc(size ? size : 1);
    if (!all)
        return -1;
    int rc = pread_full(fd, all, size, 0);
    if (rc == 0) {
        struct prec_scan_info info;
        if (prec_scan(all, size, magic, types, NULL, NULL, &info) == 1) {
            errno = EBADMSG;
            rc = -1;
        }
        *end = info.valid_end;
    }
    free(all);
    return rc;
}

/* A file shorter than the magic is a torn creation when it is a prefix of the magic. */
static bool torn_header(int fd, uint64_t size, const char *magic)
{
    char h[PREC_HEADER_LEN];
    if (pread_full(fd, h, size, 0))
        return false;
    for (uint64_t i = 0; i < size; i++)
        if (h[i] != magic[i] && h[i] != 0)
            return false;
    return true;
}

int prec_append_locked(int fd, const char magic[PREC_HEADER_LEN], const uint32_t *types,
                       const void *data, size_t len, uint64_t *torn)
{
    struct stat st;
    if (torn)
        *torn = 0;
    if (fstat(fd, &st))
        return -1;
    uint64_t size = (uint64_t)st.st_size, end = size;
    if (size > 0 && size < PREC_HEADER_LEN) {
        if (!torn_header(fd, size, magic)) {
            errno = EBADMSG;
            return -1;
        }
        end = 0;
    } else if (size >= PREC_HEADER_LEN) {
        bool ok;
        if (tail_is_valid(fd, size, types, &ok))
            return -1;
        if (!ok && scan_valid_end(fd, size, magic, types, &end))
            return -1;
        if (ok) {
            char h[PREC_HEADER_LEN];
            if (pread_full(fd, h, PREC_HEADER_LEN, 0))
                return -1;
            if (memcmp(h, magic, PREC_HEADER_LEN) != 0) {
                errno = EBADMSG;
                return -1;
            }
        }
    }
    if (end != size && ftruncate(fd, (off_t)end))
        return -1;
    if (torn)
        *torn = size - end;
    int rc = 0;
    if (end == 0)
        rc = pwrite_full(fd, magic, PREC_HEADER_LEN, 0), end = PREC_HEADER_LEN;
    if (rc == 0)
        rc = pwrite_full(fd, data, len, (off_t)end);
    if (rc == 0)
        rc = fdatasync(fd);
    if (rc) {
        int e = errno;
        if (ftruncate(fd, (off_t)(end == PREC_HEADER_LEN && size == 0 ? 0 : end)) == 0)
            fdatasync(fd);
        errno = e;
    }
    return rc;
}

/* ---- the queue ---- */

int pq_list_push(struct pq_list *l, uint32_t flags, const char *source, const char *destination,
                 uint32_t uid, int64_t time)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct pq_entry *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    struct pq_entry *e = &l->v[l->n];
    e->source = strdup(source);
    e->destination = strdup(destination ? destination : "");
    if (!e->source || !e->destination) {
        free(e->source);
        free(e->destination);
        errno = ENOMEM;
        return -1;
    }
    e->flags = flags;
    e->uid = uid;
    e->time = time;
    l->n++;
    return 0;
}

void pq_list_free(struct pq_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].source);
        free(l->v[i].destination);
    }
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

char *pq_path(const char *state_dir, const char *name)
{
    struct buf b = BUF_INIT;
    if (buf_printf(&b, "%s/%s", state_dir, name))
        return NULL;
    return buf_steal(&b);
}

int pq_mkdirs(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0755) && errno != EEXIST) {
                int e = errno;
                free(p);
                errno = e;
                return -1;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    free(p);
    struct stat st;
    if (stat(path, &st))
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int encode_entries(struct buf *out, const struct pq_entry *entries, size_t n)
{
    struct buf p = BUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct pq_entry *e = &entries[i];
        p.len = 0;
        rc = pq_put_u32(&p, e->flags) || pq_put_u32(&p, e->uid) ||
                     pq_put_u64(&p, (uint64_t)e->time) || pq_put_str(&p, e->source) ||
                     pq_put_str(&p, e->destination) || prec_encode(out, PQ_TYPE_ENTRY, p.p, p.len)
                 ? -1
                 : 0;
    }
    buf_free(&p);
    return rc;
}

int pq_append_fd(int fd, const char *where, const struct pq_entry *entries, size_t n,
                 struct diags *d)
{
    struct buf data = BUF_INIT;
    if (encode_entries(&data, entries, n)) {
        diag_add(d, DIAG_ERROR, where, "cannot encode the entry: %s (a path is too long?)",
                 strerror(errno));
        buf_free(&data);
        return -1;
    }
    uint64_t torn = 0;
    int rc = prec_append_locked(fd, queue_magic, queue_types, data.p, data.len, &torn);
    if (torn)
        diag_add(d, DIAG_WARNING, where,
                 "discarded %llu bytes of a torn append (an earlier writer was interrupted)",
                 (unsigned long long)torn);
    int e = errno;
    if (rc)
        diag_add(d, DIAG_ERROR, where, "cannot append to the queue: %s%s", strerror(e),
                 e == EBADMSG ? " (not a smss queue file: move it away)" : "; nothing was queued");
    buf_free(&data);
    errno = e;
    return rc;
}

/* Open and lock the queue file, retrying when the applier renamed it away meanwhile. */
static int open_locked_queue(int dirfd, const struct pq_create *create, bool *created)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        *created = false;
        int fd = openat(dirfd, PENDING_QUEUE_FILE, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno == ENOENT) {
            mode_t mode = create ? create->mode : 0600;
            fd = openat(dirfd, PENDING_QUEUE_FILE, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_CREAT | O_EXCL,
                        mode);
            if (fd < 0 && errno == EEXIST)
                continue;
            if (fd >= 0) {
                *created = true;
                if (create && create->gid != (gid_t)-1 && fchown(fd, (uid_t)-1, create->gid) == 0)
                    fchmod(fd, mode);
            }
        }
        if (fd < 0)
            return -1;
        struct stat a, b;
        if (flock(fd, LOCK_EX) || fstat(fd, &a)) {
            close(fd);
            return -1;
        }
        if (fstatat(dirfd, PENDING_QUEUE_FILE, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev && a.st_nlink > 0)
            return fd;
        close(fd); /* renamed away by the applier: open the new one */
    }
    errno = EAGAIN;
    return -1;
}

int pq_append(const char *state_dir, const struct pq_entry *entries, size_t n,
              const struct pq_create *create, struct diags *d)
{
    char *where = pq_path(state_dir, PENDING_QUEUE_FILE);
    if (!where)
        return -1;
    int rc = -1, dirfd = -1, fd = -1;
    bool created = false;
    /* The directory is made only when it is missing (the first operation ever). */
    dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0 && errno == ENOENT) {
        if (pq_mkdirs(state_dir)) {
            int e = errno;
            diag_add(d, DIAG_ERROR, state_dir, "cannot create the state directory: %s", strerror(e));
            errno = e;
            goto out;
        }
        dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (dirfd < 0 || (fd = open_locked_queue(dirfd, create, &created)) < 0) {
        int e = errno;
        diag_add(d, DIAG_ERROR, where, "cannot open the queue: %s%s", strerror(e),
                 e == EACCES ? " (queuing needs root or the configured API group)" : "");
        errno = e;
        goto out;
    }
    rc = pq_append_fd(fd, where, entries, n, d);
    if (rc == 0 && created && fsync(dirfd)) {
        diag_add(d, DIAG_ERROR, state_dir, "cannot fsync the state directory: %s", strerror(errno));
        rc = -1;
    }
out:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (dirfd >= 0)
        close(dirfd);
    free(where);
    errno = e;
    return rc;
}

struct parse_ctx {
    struct pq_list *out;
    const char *where;
    struct diags *d;
    int oom;
};

static int parse_entry(void *vctx, const struct prec *r)
{
    struct parse_ctx *c = vctx;
    struct pq_reader rd = {r->payload, r->len, 0, false};
    uint32_t flags = pq_get_u32(&rd), uid = pq_get_u32(&rd);
    int64_t time = (int64_t)pq_get_u64(&rd);
    char *src = pq_get_str(&rd), *dst = pq_get_str(&rd);
    bool ok = !rd.bad && rd.off == rd.n && src[0] == '/' && !(flags & ~PQ_KNOWN_FLAGS) &&
              ((flags & PQ_DELETE) ? dst[0] == 0 : dst[0] == '/');
    if (!ok)
        diag_add(c->d, DIAG_ERROR, c->where,
                 "record %zu at offset %llu: an entry that does not decode (bad flags or "
                 "paths); skipped",
                 r->index + 1, (unsigned long long)r->offset);
    else if (pq_list_push(c->out, flags, src, dst, uid, time))
        c->oom = 1;
    free(src);
    free(dst);
    return c->oom ? -1 : 0;
}

int pq_parse(const uint8_t *data, size_t size, const char *where, struct pq_list *out,
             struct diags *d)
{
    if (size == 0)
        return 0;
    struct parse_ctx c = {out, where, d, 0};
    struct prec_scan_info info;
    int rc = prec_scan(data, size, queue_magic, queue_types, parse_entry, &c, &info);
    if (rc == 1) {
        diag_add(d, DIAG_ERROR, where, "not a smss queue file (bad magic); move it away");
        return -1;
    }
    if (c.oom) {
        diag_add(d, DIAG_ERROR, where, "out of memory reading the queue");
        return -1;
    }
    if (info.skipped)
        diag_add(d, DIAG_ERROR, where,
                 "offset %llu: %llu damaged bytes between valid records skipped (the disk or "
                 "someone else changed the file; an entry may be lost: check with smssctl pending)",
                 (unsigned long long)info.first_skip, (unsigned long long)info.skipped);
    if (info.discarded)
        diag_add(d, DIAG_WARNING, where,
                 "offset %llu: %llu bytes of a torn append discarded (a writer was interrupted; "
                 "that entry was never queued)",
                 (unsigned long long)info.valid_end, (unsigned long long)info.discarded);
    return 0;
}

int pq_read(const char *path, struct pq_list *out, struct diags *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        diag_add(d, DIAG_ERROR, path, "cannot open the queue: %s", strerror(errno));
        return -1;
    }
    struct buf b = BUF_INIT;
    int rc = flock(fd, LOCK_SH);
    if (rc == 0) {
        char chunk[65536];
        ssize_t r;
        while ((r = read(fd, chunk, sizeof chunk)) > 0 || (r < 0 && errno == EINTR))
            if (r > 0 && buf_append(&b, chunk, (size_t)r)) {
                r = -1;
                break;
            }
        rc = r < 0 ? -1 : 0;
    }
    if (rc)
        diag_add(d, DIAG_ERROR, path, "cannot read the queue: %s", strerror(errno));
    else
        rc = pq_parse((const uint8_t *)b.p, b.len, path, out, d);
    buf_free(&b);
    close(fd);
    return rc;
}
