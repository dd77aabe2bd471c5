/* Applying delayed renames and deletes at boot, exactly once. See pending_apply.h for the
 * contract and docs/RENAMES.md for the journal and its crash analysis.
 *
 * State files in the state directory:
 *   pending.queue             appended by smssctl (pending_queue.h)
 *   pending.taken             the queue this boot took (renamed under the queue lock)
 *   pending.journal           the plan's header (registry pairs, their hash) and then, per
 *                             batch, an intent record before and a completion record after
 *   pending.last-boot         the report of the last boot
 *   pending.registry-applied  hashes of registry pair sets already applied */
#include "pending_apply.h"

#include "log.h"
#include "pending_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char journal_magic[PREC_HEADER_LEN] = {'S', 'M', 'S', 'S', 'P', 'J', '1', '\n'};
#define J_HEADER 0x5244484au /* "JHDR" */
#define J_INTENT 0x544e494au /* "JINT" */
#define J_DONE 0x4e4f444au   /* "JDON" */
static const uint32_t journal_types[] = {J_HEADER, J_INTENT, J_DONE, 0};

#define JOURNAL_TMP "pending.journal.tmp"
#define REPORT_TMP "pending.last-boot.tmp"
#define DEFAULT_BATCH 65536
#define DIRCACHE 64
#define SYNC_MAX 16

/* How an operation is carried out (decided when its batch is planned). */
enum kind { K_NONE, K_SKIP, K_FAIL, K_RENAME, K_DELETE, K_XFS };

/* Why an operation failed or was skipped; the text is what the report says. */
enum reason {
    R_NONE, R_UNMAPPABLE, R_PROTECTED, R_DIR, R_EXISTS, R_NOTEMPTY, R_NOSOURCE, R_XDEV_DIR,
    R_XDEV_SPECIAL, R_COPY, R_UNLINK_SRC, R_CHANGED, R_BADPATH, R_COUNT
};
static const char *const reason_text[R_COUNT] = {
    [R_NONE] = "",
    [R_UNMAPPABLE] = "the NT path is not mappable",
    [R_PROTECTED] = "a protected path (ProtectedPaths); set AllowProtectedRenames to 1 to allow it",
    [R_DIR] = "a directory of the path cannot be opened without following a symbolic link",
    [R_EXISTS] = "the destination exists and replace-existing was not asked",
    [R_NOTEMPTY] = "the directory is not empty",
    [R_NOSOURCE] = "the source does not exist",
    [R_XDEV_DIR] = "a directory cannot be moved across filesystems",
    [R_XDEV_SPECIAL] = "only regular files and symbolic links can be moved across filesystems",
    [R_COPY] = "copying across filesystems failed; the source is untouched",
    [R_UNLINK_SRC] = "copied to the destination, but the source could not be removed",
    [R_CHANGED] = "the path changed outside smss since the operation was planned",
    [R_BADPATH] = "not an absolute path to a file (empty, '.' or '..' name)",
};

/* What a path held: its file type (0 = nothing) and inode number. */
struct pre {
    uint8_t type; /* S_IFMT >> 12 */
    uint64_t ino;
};

struct op {
    enum pending_origin origin;
    uint32_t flags;
    char *src, *dst;   /* Linux paths; src NULL when unmappable */
    char *nt_src, *nt_dst, *why; /* registry text and the mapping's reason */
    /* planned */
    uint8_t kind, reason;
    int32_t err;
    struct pre pre_s, pre_d;
    bool force_xfs;
    /* outcome */
    bool has_outcome, resumed;
    uint8_t outcome;
};

struct dirent_c {
    char *path;
    int fd;
    dev_t dev;
    uint64_t mnt;
};

struct applier {
    const char *state_dir;
    int sdfd, jfd;
    const struct pending_options *opt;
    struct ntpath_rules default_rules;
    struct strlist prot; /* expanded protected paths */
    /* the plan */
    struct op *ops;
    size_t n, nqueue, next;
    bool has_reg;
    uint8_t reghash[16];
    uint64_t jid;
    struct buf jpending; /* journal records not yet written */
    struct dirent_c dc[DIRCACHE];
    size_t dc_next;
    int syncfd[SYNC_MAX];
    dev_t syncdev[SYNC_MAX];
    size_t nsync;
    bool sync_all;
    struct pending_report *rep;
};

/* ---- small helpers ---- */

static int fault(struct applier *a, enum pending_step s, const char *what)
{
    if (!a->opt || !a->opt->fault)
        return 0;
    int e = a->opt->fault(a->opt->fault_ctx, s, what);
    if (e)
        errno = e;
    return e ? -1 : 0;
}

static struct pre pre_of(const struct stat *st)
{
    return (struct pre){(uint8_t)((st->st_mode & S_IFMT) >> 12), (uint64_t)st->st_ino};
}

static struct pre stat_at(int dirfd, const char *name)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
        return (struct pre){0, 0};
    return pre_of(&st);
}

static bool same(struct pre a, struct pre b) { return a.type == b.type && (a.type == 0 || a.ino == b.ino); }

static const char *base_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static bool valid_path(const char *p)
{
    if (!p || p[0] != '/')
        return false;
    const char *b = base_of(p);
    return *b && strcmp(b, ".") && strcmp(b, "..");
}

static int write_full(int fd, const void *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p = (const char *)p + w;
        n -= (size_t)w;
    }
    return 0;
}

static int fsync_fd(struct applier *a, int fd, const char *what)
{
    return fault(a, PSTEP_FSYNC, what) || fsync(fd) ? -1 : 0;
}

static int unlink_state(struct applier *a, const char *name)
{
    if (fault(a, PSTEP_UNLINK, name))
        return -1;
    return unlinkat(a->sdfd, name, 0) && errno != ENOENT ? -1 : 0;
}

static bool state_exists(struct applier *a, const char *name)
{
    struct stat st;
    return fstatat(a->sdfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

const char *pending_outcome_name(enum pending_outcome o)
{
    return o == PENDING_DONE ? "done" : o == PENDING_FAILED ? "failed" : "skipped";
}

/* ---- protected paths ---- */

static char *expand_system_root(const char *e, const char *system_root)
{
    struct buf b = BUF_INIT;
    const char *tag = "%SystemRoot%";
    while (*e) {
        if (strncasecmp(e, tag, strlen(tag)) == 0) {
            buf_puts(&b, system_root ? system_root : "");
            e += strlen(tag);
        } else {
            buf_putc(&b, *e++);
        }
    }
    while (b.len > 1 && b.p[b.len - 1] == '/')
        b.p[--b.len] = 0;
    return b.p ? buf_steal(&b) : strdup("");
}

static bool under(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n == 0)
        return false;
    if (strcmp(root, "/") == 0)
        return true;
    return strncmp(path, root, n) == 0 && (path[n] == 0 || path[n] == '/');
}

/* Each entry expanded, and also its canonical form when that differs. */
static void protset_build(struct strlist *out, const struct strlist *in, const char *system_root)
{
    for (size_t i = 0; in && i < in->n; i++) {
        char *e = expand_system_root(in->v[i], system_root);
        if (!e || e[0] != '/') {
            free(e);
            continue;
        }
        char *r = realpath(e, NULL);
        if (r && strcmp(r, e) != 0)
            strlist_push_owned(out, r);
        else
            free(r);
        strlist_push_owned(out, e);
    }
}

static bool protset_match(const struct strlist *set, const char *path)
{
    for (size_t i = 0; path && i < set->n; i++)
        if (under(path, set->v[i]))
            return true;
    return false;
}

bool pending_path_protected(const char *path, const struct strlist *protected_paths,
                            const char *system_root)
{
    struct strlist set = STRLIST_INIT;
    protset_build(&set, protected_paths, system_root);
    bool r = protset_match(&set, path);
    strlist_free(&set);
    return r;
}

/* ---- the registry pairs' identity ---- */

static void hash128(const struct sm_rename *r, size_t n, uint8_t out[16])
{
    unsigned __int128 h = ((unsigned __int128)0x6c62272e07bb0142ull << 64) | 0x62b821756295c58dull;
    const unsigned __int128 prime = ((unsigned __int128)0x0000000001000000ull << 64) | 0x000000000000013Bull;
    for (size_t i = 0; i < n; i++) {
        const char *parts[3] = {r[i].replace ? "!" : "-", r[i].source ? r[i].source : "",
                                r[i].destination ? r[i].destination : ""};
        for (int k = 0; k < 3; k++) {
            for (const char *p = parts[k];; p++) {
                h ^= (uint8_t)*p;
                h *= prime;
                if (!*p)
                    break;
            }
        }
    }
    for (int i = 0; i < 16; i++)
        out[i] = (uint8_t)(h >> (8 * (15 - i)));
}

static void hash_hex(const uint8_t h[16], char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static bool hash_recorded(int sdfd, const uint8_t h[16])
{
    char hex[33], line[128];
    hash_hex(h, hex);
    int fd = openat(sdfd, PENDING_REGISTRY_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return false;
    }
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strncmp(line, hex, 32) == 0 && (line[32] == '\n' || line[32] == ' ' || !line[32]);
    fclose(f);
    return found;
}

bool pending_registry_applied(const char *state_dir, const struct sm_rename *renames, size_t n)
{
    uint8_t h[16];
    hash128(renames, n, h);
    int fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool r = hash_recorded(fd, h);
    close(fd);
    return r;
}

static int record_hash(struct applier *a)
{
    if (!a->has_reg || hash_recorded(a->sdfd, a->reghash))
        return 0;
    char hex[33], line[80];
    hash_hex(a->reghash, hex);
    int n = snprintf(line, sizeof line, "%s %lld\n", hex, (long long)time(NULL));
    bool is_new = !state_exists(a, PENDING_REGISTRY_FILE);
    if (fault(a, PSTEP_CREATE, PENDING_REGISTRY_FILE))
        return -1;
    int fd = openat(a->sdfd, PENDING_REGISTRY_FILE, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return -1;
    int rc = fault(a, PSTEP_WRITE, PENDING_REGISTRY_FILE) || write_full(fd, line, (size_t)n) ||
             fault(a, PSTEP_FSYNC, PENDING_REGISTRY_FILE) || fdatasync(fd) ? -1 : 0;
    close(fd);
    if (rc == 0 && is_new)
        rc = fsync_fd(a, a->sdfd, a->state_dir);
    return rc;
}

/* ---- the plan ---- */

static void op_free(struct op *o)
{
    free(o->src);
    free(o->dst);
    free(o->nt_src);
    free(o->nt_dst);
    free(o->why);
}

static void plan_free(struct applier *a)
{
    for (size_t i = 0; i < a->n; i++)
        op_free(&a->ops[i]);
    free(a->ops);
    a->ops = NULL;
    a->n = a->nqueue = a->next = 0;
    a->has_reg = false;
}

static int plan_alloc(struct applier *a, size_t n)
{
    a->ops = calloc(n ? n : 1, sizeof *a->ops);
    return a->ops ? 0 : -1;
}

/* The queue entries of pending.taken, as ops[0 .. nqueue). */
static int plan_queue(struct applier *a, const struct pq_list *q)
{
    for (size_t i = 0; i < q->n; i++) {
        struct op *o = &a->ops[i];
        o->origin = PENDING_FROM_QUEUE;
        o->flags = q->v[i].flags;
        o->src = strdup(q->v[i].source);
        o->dst = strdup(q->v[i].destination);
        if (!o->src || !o->dst)
            return -1;
    }
    return 0;
}

/* A mapped path made canonical in its directory part, so the applier can refuse every
 * symbolic link it meets without refusing the ones the system is built with. */
static char *canonical_parent(char *path)
{
    char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return path;
    *slash = 0;
    char *dir = realpath(path, NULL);
    *slash = '/';
    if (!dir)
        return path;
    struct buf b = BUF_INIT;
    buf_printf(&b, "%s%s%s", strcmp(dir, "/") ? dir : "", "/", slash + 1);
    free(dir);
    if (!b.p)
        return path;
    free(path);
    return buf_steal(&b);
}

static int map_registry_op(struct applier *a, struct op *o, const struct sm_rename *r)
{
    const struct ntpath_rules *rules = a->opt && a->opt->ntpath ? a->opt->ntpath : &a->default_rules;
    const char *why = NULL;
    o->origin = PENDING_FROM_REGISTRY;
    o->flags = (r->replace ? PQ_REPLACE : 0) | (r->destination && r->destination[0] ? 0 : PQ_DELETE);
    o->nt_src = strdup(r->source ? r->source : "");
    o->nt_dst = strdup(r->destination ? r->destination : "");
    if (!o->nt_src || !o->nt_dst)
        return -1;
    char *s = NULL, *d = NULL;
    if (ntpath_to_linux(rules, o->nt_src, &s, &why) == 0 &&
        ((o->flags & PQ_DELETE) || ntpath_to_linux(rules, o->nt_dst, &d, &why) == 0)) {
        o->src = canonical_parent(s);
        o->dst = d ? canonical_parent(d) : strdup("");
        return o->dst ? 0 : -1;
    }
    free(s);
    if (!why)
        return -1;
    o->why = strdup(why);
    return o->why ? 0 : -1;
}

/* ---- journal encoding ---- */

static int encode_header(struct applier *a, struct buf *out)
{
    struct buf p = BUF_INIT;
    int rc = pq_put_u64(&p, a->jid) || pq_put_u32(&p, (uint32_t)a->nqueue) ||
             pq_put_u8(&p, a->has_reg) || buf_append(&p, a->reghash, 16) ||
             pq_put_u32(&p, (uint32_t)(a->n - a->nqueue));
    for (size_t i = a->nqueue; i < a->n && !rc; i++) {
        struct op *o = &a->ops[i];
        rc = pq_put_u32(&p, o->flags) || pq_put_str(&p, o->nt_src) || pq_put_str(&p, o->nt_dst) ||
             pq_put_str(&p, o->src) || pq_put_str(&p, o->dst) || pq_put_str(&p, o->why);
    }
    rc = rc || buf_append(out, journal_magic, PREC_HEADER_LEN) || prec_encode(out, J_HEADER, p.p, p.len);
    buf_free(&p);
    return rc ? -1 : 0;
}

static int encode_intent(struct applier *a, size_t first, size_t count)
{
    struct buf p = BUF_INIT;
    int rc = pq_put_u32(&p, (uint32_t)first) || pq_put_u32(&p, (uint32_t)count) ||
             buf_reserve(&p, count * 23);
    for (size_t i = first; i < first + count && !rc; i++) {
        struct op *o = &a->ops[i];
        rc = pq_put_u8(&p, o->kind) || pq_put_u8(&p, o->reason) || pq_put_u32(&p, (uint32_t)o->err) ||
             pq_put_u8(&p, o->pre_s.type) || pq_put_u64(&p, o->pre_s.ino) ||
             pq_put_u8(&p, o->pre_d.type) || pq_put_u64(&p, o->pre_d.ino);
    }
    rc = rc || prec_encode(&a->jpending, J_INTENT, p.p, p.len);
    buf_free(&p);
    return rc ? -1 : 0;
}

static int encode_done(struct applier *a, size_t first, size_t count)
{
    struct buf p = BUF_INIT;
    int rc = pq_put_u32(&p, (uint32_t)first) || pq_put_u32(&p, (uint32_t)count) ||
             buf_reserve(&p, count * 7);
    for (size_t i = first; i < first + count && !rc; i++) {
        struct op *o = &a->ops[i];
        rc = pq_put_u8(&p, o->outcome) || pq_put_u8(&p, o->reason) ||
             pq_put_u32(&p, (uint32_t)o->err) || pq_put_u8(&p, o->resumed);
    }
    rc = rc || prec_encode(&a->jpending, J_DONE, p.p, p.len);
    buf_free(&p);
    return rc ? -1 : 0;
}

/* Write what is pending to the journal and make it durable. */
static int journal_flush(struct applier *a)
{
    if (a->jpending.len == 0)
        return 0;
    int rc = fault(a, PSTEP_WRITE, PENDING_JOURNAL_FILE) ||
             write_full(a->jfd, a->jpending.p, a->jpending.len) ||
             fault(a, PSTEP_FSYNC, PENDING_JOURNAL_FILE) || fdatasync(a->jfd) ? -1 : 0;
    a->jpending.len = 0;
    return rc;
}

/* ---- journal decoding ---- */

struct jload {
    struct applier *a;
    bool header, bad;
    size_t intent_first, intent_count;
    struct pq_list *queue;
};

static int load_header(struct jload *l, struct pq_reader *r)
{
    struct applier *a = l->a;
    a->jid = pq_get_u64(r);
    a->nqueue = pq_get_u32(r);
    a->has_reg = pq_get_u8(r) != 0;
    for (int i = 0; i < 16; i++)
        a->reghash[i] = pq_get_u8(r);
    size_t nreg = pq_get_u32(r);
    if (r->bad || nreg > PREC_MAX_PAYLOAD || l->queue->n > a->nqueue ||
        (l->queue->n && a->nqueue != l->queue->n))
        return -1; /* no taken queue at all is checked by load_plan */
    a->n = a->nqueue + nreg;
    if (plan_alloc(a, a->n) || plan_queue(a, l->queue))
        return -1;
    for (size_t i = a->nqueue; i < a->n; i++) {
        struct op *o = &a->ops[i];
        o->origin = PENDING_FROM_REGISTRY;
        o->flags = pq_get_u32(r);
        o->nt_src = pq_get_str(r);
        o->nt_dst = pq_get_str(r);
        o->src = pq_get_str(r);
        o->dst = pq_get_str(r);
        o->why = pq_get_str(r);
        if (r->bad)
            return -1;
        if (o->why[0] == 0) {
            free(o->why);
            o->why = NULL;
        } else {
            free(o->src);
            o->src = NULL;
        }
    }
    return 0;
}

static int load_range(struct jload *l, struct pq_reader *r, size_t *first, size_t *count)
{
    *first = pq_get_u32(r);
    *count = pq_get_u32(r);
    return r->bad || *first > l->a->n || *count > l->a->n - *first ? -1 : 0;
}

static int load_record(void *ctx, const struct prec *rec)
{
    struct jload *l = ctx;
    struct applier *a = l->a;
    struct pq_reader r = {rec->payload, rec->len, 0, false};
    size_t first, count;
    if (!l->header) {
        if (rec->type != J_HEADER || load_header(l, &r))
            return l->bad = true, -1;
        l->header = true;
        return 0;
    }
    if (rec->type == J_HEADER || load_range(l, &r, &first, &count))
        return l->bad = true, -1;
    for (size_t i = first; i < first + count; i++) {
        struct op *o = &a->ops[i];
        if (rec->type == J_INTENT) {
            o->kind = pq_get_u8(&r);
            o->reason = pq_get_u8(&r);
            o->err = (int32_t)pq_get_u32(&r);
            o->pre_s.type = pq_get_u8(&r);
            o->pre_s.ino = pq_get_u64(&r);
            o->pre_d.type = pq_get_u8(&r);
            o->pre_d.ino = pq_get_u64(&r);
        } else {
            o->outcome = pq_get_u8(&r);
            o->reason = pq_get_u8(&r);
            o->err = (int32_t)pq_get_u32(&r);
            o->resumed = pq_get_u8(&r) != 0;
            o->has_outcome = true;
        }
    }
    if (r.bad || r.off != r.n)
        return l->bad = true, -1;
    if (rec->type == J_INTENT) {
        l->intent_first = first;
        l->intent_count = count;
    }
    return 0;
}

/* ---- directories ---- */

static int open_dir_nofollow(const char *path)
{
    struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    if (fd >= 0 || errno != ENOSYS)
        return (int)fd;
    /* Kernels before 5.6: walk the components, refusing every symbolic link. */
    int dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char *copy = strdup(path), *save = NULL;
    for (char *c = copy ? strtok_r(copy, "/", &save) : NULL; c && dfd >= 0;
         c = strtok_r(NULL, "/", &save)) {
        int next = openat(dfd, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        if (next < 0 && errno == ENOTDIR && fstatat(dfd, c, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode))
            errno = ELOOP; /* what openat2 says of a symbolic link on the way */
        int err = errno;
        close(dfd);
        dfd = next;
        errno = err;
    }
    free(copy);
    return dfd;
}

static uint64_t mount_id(int fd)
{
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID))
        return sx.stx_mnt_id;
    return 0;
}

/* The directory part of path, opened without following symbolic links (cached). */
static struct dirent_c *dir_of(struct applier *a, const char *path, const struct dirent_c *keep)
{
    size_t len = (size_t)(base_of(path) - path);
    if (len > 1)
        len--; /* drop the '/' before the name, except for the root */
    for (size_t i = 0; i < DIRCACHE; i++) {
        struct dirent_c *e = &a->dc[i];
        if (e->path && strlen(e->path) == len && memcmp(e->path, path, len) == 0)
            return e;
    }
    if (&a->dc[a->dc_next] == keep)
        a->dc_next = (a->dc_next + 1) % DIRCACHE;
    struct dirent_c *e = &a->dc[a->dc_next];
    a->dc_next = (a->dc_next + 1) % DIRCACHE;
    if (e->path) {
        close(e->fd);
        free(e->path);
        e->path = NULL;
    }
    char *dir = strndup(path, len);
    if (!dir)
        return NULL;
    int fd = open_dir_nofollow(dir);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        free(dir);
        errno = err;
        return NULL;
    }
    *e = (struct dirent_c){dir, fd, st.st_dev, mount_id(fd)};
    return e;
}

static void dir_cache_clear(struct applier *a)
{
    for (size_t i = 0; i < DIRCACHE; i++)
        if (a->dc[i].path) {
            close(a->dc[i].fd);
            free(a->dc[i].path);
            a->dc[i].path = NULL;
        }
}

/* Remember a filesystem to syncfs at the end of the batch. */
static void sync_note(struct applier *a, const struct dirent_c *d)
{
    for (size_t i = 0; i < a->nsync; i++)
        if (a->syncdev[i] == d->dev)
            return;
    if (a->nsync == SYNC_MAX || (a->syncfd[a->nsync] = dup(d->fd)) < 0) {
        a->sync_all = true;
        return;
    }
    a->syncdev[a->nsync++] = d->dev;
}

static int sync_noted(struct applier *a)
{
    int rc = 0;
    for (size_t i = 0; i < a->nsync; i++) {
        if (rc == 0 && (fault(a, PSTEP_FSYNC, "syncfs") || syncfs(a->syncfd[i])))
            rc = -1;
        close(a->syncfd[i]);
    }
    a->nsync = 0;
    if (a->sync_all && rc == 0 && fault(a, PSTEP_FSYNC, "sync") == 0)
        sync();
    a->sync_all = false;
    return rc;
}

/* ---- a batch of independent paths ---- */

struct pathset {
    const char **key;
    uint32_t *len;
    uint8_t *tag; /* 1 = touched, 2 = an ancestor of a touched path, 3 = both */
    size_t cap, n;
};

static uint64_t hash_str(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static size_t ps_slot(const struct pathset *s, const char *k, size_t n)
{
    size_t i = hash_str(k, n) & (s->cap - 1);
    while (s->key[i] && !(s->len[i] == n && memcmp(s->key[i], k, n) == 0))
        i = (i + 1) & (s->cap - 1);
    return i;
}

static uint8_t ps_get(const struct pathset *s, const char *k, size_t n)
{
    return s->cap ? s->tag[ps_slot(s, k, n)] : 0;
}

static int ps_add(struct pathset *s, const char *k, size_t n, uint8_t tag)
{
    if ((s->n + 1) * 2 > s->cap) {
        struct pathset g = {0};
        g.cap = s->cap ? s->cap * 2 : 1024;
        g.key = calloc(g.cap, sizeof *g.key);
        g.len = calloc(g.cap, sizeof *g.len);
        g.tag = calloc(g.cap, 1);
        if (!g.key || !g.len || !g.tag) {
            free(g.key), free(g.len), free(g.tag);
            return -1;
        }
        for (size_t i = 0; i < s->cap; i++)
            if (s->key[i]) {
                size_t j = ps_slot(&g, s->key[i], s->len[i]);
                g.key[j] = s->key[i], g.len[j] = s->len[i], g.tag[j] = s->tag[i];
                g.n++;
            }
        free(s->key), free(s->len), free(s->tag);
        *s = g;
    }
    size_t i = ps_slot(s, k, n);
    if (!s->key[i]) {
        s->key[i] = k, s->len[i] = (uint32_t)n;
        s->n++;
    }
    s->tag[i] |= tag;
    return 0;
}

static void ps_free(struct pathset *s)
{
    free(s->key), free(s->len), free(s->tag);
    memset(s, 0, sizeof *s);
}

/* Whether path is touched, an ancestor of a touched path, or below a touched path. */
static bool ps_conflicts(const struct pathset *s, const char *p)
{
    size_t n = strlen(p);
    if (ps_get(s, p, n))
        return true;
    for (size_t i = n; i > 1; i--)
        if (p[i - 1] == '/' && (ps_get(s, p, i - 1) & 1))
            return true;
    return false;
}

static int ps_touch(struct pathset *s, const char *p)
{
    size_t n = strlen(p);
    if (ps_add(s, p, n, 1))
        return -1;
    for (size_t i = n; i > 1; i--)
        if (p[i - 1] == '/' && ps_add(s, p, i - 1, 2))
            return -1;
    return ps_add(s, "/", 1, 2);
}

/* Decide how op runs and what its paths hold now. Returns 0 to include it in the batch,
 * 1 to end the batch before it (its paths depend on the batch's), 2 to include it and end
 * the batch (a move across filesystems runs alone). */
static int plan_op(struct applier *a, struct op *o, struct pathset *ps, size_t in_batch)
{
    bool del = o->flags & PQ_DELETE;
    o->kind = K_NONE, o->reason = R_NONE, o->err = 0;
    o->pre_s = o->pre_d = (struct pre){0, 0};
    if (!o->src) {
        o->kind = K_SKIP, o->reason = R_UNMAPPABLE;
        return 0;
    }
    if (!valid_path(o->src) || (!del && !valid_path(o->dst))) {
        o->kind = K_FAIL, o->reason = R_BADPATH, o->err = EINVAL;
        return 0;
    }
    if (!a->opt || !a->opt->allow_protected_renames) {
        if (protset_match(&a->prot, o->src) || (!del && protset_match(&a->prot, o->dst))) {
            o->kind = K_SKIP, o->reason = R_PROTECTED, o->err = EPERM;
            return 0;
        }
    }
    if (in_batch && (ps_conflicts(ps, o->src) || (!del && ps_conflicts(ps, o->dst))))
        return 1;
    struct dirent_c *sd = dir_of(a, o->src, NULL), *dd = NULL;
    if (sd && !del)
        dd = dir_of(a, o->dst, sd);
    if (!sd || (!del && !dd)) {
        o->kind = K_FAIL, o->err = errno;
        o->reason = errno == ELOOP ? R_DIR : R_NONE;
        return 0;
    }
    bool xfs = !del && (o->force_xfs || sd->dev != dd->dev || (sd->mnt && dd->mnt && sd->mnt != dd->mnt));
    if (xfs && in_batch)
        return 1;
    o->pre_s = stat_at(sd->fd, base_of(o->src));
    if (xfs) /* only a move across filesystems looks at what its destination held */
        o->pre_d = stat_at(dd->fd, base_of(o->dst));
    o->kind = del ? K_DELETE : xfs ? K_XFS : K_RENAME;
    if (ps_touch(ps, o->src) || (!del && ps_touch(ps, o->dst)))
        return -1;
    return xfs ? 2 : 0;
}

/* ---- executing one operation ---- */

static void set_outcome(struct op *o, enum pending_outcome out, int err, enum reason why)
{
    o->outcome = (uint8_t)out;
    o->err = err;
    o->reason = (uint8_t)why;
    o->has_outcome = true;
}

static enum reason reason_for(int err, const struct op *o)
{
    switch (err) {
    case EEXIST:
        return R_EXISTS;
    case ENOTEMPTY:
        return R_NOTEMPTY;
    case ELOOP:
        return R_DIR;
    case ENOENT:
        return o->pre_s.type == 0 ? R_NOSOURCE : R_NONE;
    default:
        return R_NONE;
    }
}

static int do_rename(struct applier *a, int sfd, const char *s, int dfd, const char *d,
                     bool replace)
{
    if (fault(a, PSTEP_RENAME, s))
        return -1;
    int r = renameat2(sfd, s, dfd, d, replace ? 0 : RENAME_NOREPLACE);
    if (r && errno == EINVAL && !replace) {
        /* A filesystem without RENAME_NOREPLACE: at boot nothing else creates d. */
        struct stat st;
        if (fstatat(dfd, d, &st, AT_SYMLINK_NOFOLLOW) == 0)
            return errno = EEXIST, -1;
        r = renameat(sfd, s, dfd, d);
    }
    return r;
}

/* 0 done; -1 failed (outcome set); 1 across filesystems after all (EXDEV). */
static int exec_rename(struct applier *a, struct op *o)
{
    struct dirent_c *dd = dir_of(a, o->dst, NULL), *sd = dd ? dir_of(a, o->src, dd) : NULL;
    if (!sd || !dd)
        return set_outcome(o, PENDING_FAILED, errno, errno == ELOOP ? R_DIR : R_NONE), -1;
    if (do_rename(a, sd->fd, base_of(o->src), dd->fd, base_of(o->dst), o->flags & PQ_REPLACE)) {
        if (errno == EXDEV)
            return 1;
        return set_outcome(o, PENDING_FAILED, errno, reason_for(errno, o)), -1;
    }
    sync_note(a, dd);
    set_outcome(o, PENDING_DONE, 0, R_NONE);
    return 0;
}

static int exec_delete(struct applier *a, struct op *o)
{
    struct dirent_c *sd = dir_of(a, o->src, NULL);
    if (!sd)
        return set_outcome(o, PENDING_FAILED, errno, errno == ELOOP ? R_DIR : R_NONE), -1;
    bool dir = (o->pre_s.type << 12) == S_IFDIR;
    if (fault(a, PSTEP_UNLINK, o->src) || unlinkat(sd->fd, base_of(o->src), dir ? AT_REMOVEDIR : 0)) {
        if (errno == EEXIST)
            errno = ENOTEMPTY;
        return set_outcome(o, PENDING_FAILED, errno, reason_for(errno, o)), -1;
    }
    sync_note(a, sd);
    set_outcome(o, PENDING_DONE, 0, R_NONE);
    return 0;
}

/* ---- moving across filesystems ---- */

static void tmp_name(const struct applier *a, size_t index, char out[64])
{
    snprintf(out, 64, ".smss-pending.%016llx.%zu", (unsigned long long)a->jid, index);
}

static int copy_data(struct applier *a, int in, int out, const char *what)
{
    bool plain = false;
    char chunk[1 << 16];
    for (;;) {
        if (fault(a, PSTEP_WRITE, what))
            return -1;
        ssize_t n;
        if (!plain) {
            n = copy_file_range(in, NULL, out, NULL, 1 << 24, 0);
            if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
                plain = true;
                continue;
            }
        } else {
            n = read(in, chunk, sizeof chunk);
            if (n > 0 && write_full(out, chunk, (size_t)n))
                return -1;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return (int)n;
    }
}

/* Copy the source to tmp beside the destination, durable. 0, or -1 with errno. */
static int copy_to_tmp(struct applier *a, struct op *o, int sfd, int dfd, const char *tmp,
                       enum reason *why)
{
    const char *s = base_of(o->src);
    uint8_t t = o->pre_s.type;
    *why = R_COPY;
    if ((t << 12) == S_IFDIR)
        return *why = R_XDEV_DIR, errno = EXDEV, -1;
    if ((t << 12) == S_IFLNK) {
        char target[PATH_MAX + 1];
        ssize_t n = readlinkat(sfd, s, target, PATH_MAX);
        if (n < 0)
            return -1;
        target[n] = 0;
        return fault(a, PSTEP_CREATE, tmp) || symlinkat(target, dfd, tmp) ? -1 : 0;
    }
    if ((t << 12) != S_IFREG)
        return *why = t ? R_XDEV_SPECIAL : R_NOSOURCE, errno = t ? EXDEV : ENOENT, -1;
    int in = openat(sfd, s, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (in < 0 || fstat(in, &st) || (uint64_t)st.st_ino != o->pre_s.ino) {
        if (in >= 0)
            close(in), *why = R_CHANGED, errno = ESTALE;
        return -1;
    }
    int out = -1, rc = fault(a, PSTEP_CREATE, tmp);
    if (rc == 0 && (out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        rc = -1;
    if (rc == 0) {
        struct timespec times[2] = {st.st_atim, st.st_mtim};
        rc = copy_data(a, in, out, o->src);
        if (rc == 0 && fchown(out, st.st_uid, st.st_gid) && errno != EPERM)
            rc = -1;
        if (rc == 0)
            rc = fchmod(out, st.st_mode & 07777) || futimens(out, times) ||
                 fsync_fd(a, out, tmp) ? -1 : 0;
    }
    int e = errno;
    close(in);
    if (out >= 0)
        close(out);
    errno = e;
    return rc;
}

/* The last step: the destination is in place and durable; remove the source. */
static void xfs_finish(struct applier *a, struct op *o, int sfd)
{
    if (fault(a, PSTEP_UNLINK, o->src) || unlinkat(sfd, base_of(o->src), 0) ||
        fsync_fd(a, sfd, o->src))
        set_outcome(o, PENDING_FAILED, errno, R_UNLINK_SRC);
    else
        set_outcome(o, PENDING_DONE, 0, R_NONE);
}

static void exec_xfs(struct applier *a, struct op *o, size_t index, bool resuming)
{
    struct dirent_c *dd = dir_of(a, o->dst, NULL);
    int dfd = dd ? dup(dd->fd) : -1;
    struct dirent_c *sd = dfd >= 0 ? dir_of(a, o->src, dd) : NULL;
    if (!sd) {
        set_outcome(o, PENDING_FAILED, errno, errno == ELOOP ? R_DIR : R_NONE);
        if (dfd >= 0)
            close(dfd);
        return;
    }
    char tmp[64];
    tmp_name(a, index, tmp);
    struct stat st;
    if (fstatat(dfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 && !fault(a, PSTEP_UNLINK, tmp))
        unlinkat(dfd, tmp, 0); /* a copy an interrupted boot left behind */
    struct pre now_s = stat_at(sd->fd, base_of(o->src)), now_d = stat_at(dfd, base_of(o->dst));
    bool src_there = o->pre_s.type && same(now_s, o->pre_s), dst_changed = !same(now_d, o->pre_d);
    enum reason why;
    if (resuming && o->pre_s.type && !src_there) {
        if (dst_changed)
            set_outcome(o, PENDING_DONE, 0, R_NONE), o->resumed = true;
        else
            set_outcome(o, PENDING_FAILED, ESTALE, R_CHANGED);
    } else if (resuming && src_there && dst_changed) {
        xfs_finish(a, o, sd->fd);
        o->resumed = o->outcome == PENDING_DONE;
    } else if (copy_to_tmp(a, o, sd->fd, dfd, tmp, &why)) {
        int e = errno;
        if (why != R_XDEV_DIR && why != R_XDEV_SPECIAL && why != R_NOSOURCE)
            unlinkat(dfd, tmp, 0);
        set_outcome(o, PENDING_FAILED, e, why);
    } else if (do_rename(a, dfd, tmp, dfd, base_of(o->dst), o->flags & PQ_REPLACE)) {
        int e = errno;
        unlinkat(dfd, tmp, 0);
        set_outcome(o, PENDING_FAILED, e, reason_for(e, o));
    } else if (fsync_fd(a, dfd, o->dst)) {
        set_outcome(o, PENDING_FAILED, errno, R_UNLINK_SRC);
    } else {
        xfs_finish(a, o, sd->fd);
    }
    close(dfd);
}

/* ---- logging and reporting ---- */

static const char *reason_of(const struct op *o)
{
    if (o->reason == R_UNMAPPABLE && o->why)
        return o->why;
    return o->reason < R_COUNT ? reason_text[o->reason] : "";
}

static void log_outcome(const struct op *o)
{
    const char *what = o->flags & PQ_DELETE ? "delete" : o->flags & PQ_REPLACE ? "replace" : "rename";
    const char *src = o->src ? o->src : o->nt_src, *dst = o->src ? o->dst : o->nt_dst;
    const char *arrow = o->flags & PQ_DELETE ? "" : " -> ";
    const char *why = reason_of(o);
    if (o->outcome == PENDING_DONE)
        log_info("pending %s %s%s%s: done%s", what, src, arrow, o->flags & PQ_DELETE ? "" : dst,
                 o->resumed ? " (completed before an interruption)" : "");
    else
        log_warning("pending %s %s%s%s: %s%s%s%s%s", what, src, arrow,
                    o->flags & PQ_DELETE ? "" : dst, pending_outcome_name(o->outcome),
                    *why ? ": " : "", why, o->err ? ": " : "", o->err ? strerror(o->err) : "");
}

static int report_push(struct pending_report *r, const struct op *o)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct pending_result *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return -1;
        r->v = v, r->cap = cap;
    }
    struct pending_result *x = &r->v[r->n];
    memset(x, 0, sizeof *x);
    x->origin = o->origin;
    x->flags = o->flags;
    x->source = strdup(o->src ? o->src : o->nt_src ? o->nt_src : "");
    x->destination = strdup(o->src ? o->dst : o->nt_dst ? o->nt_dst : "");
    x->reason = strdup(reason_of(o));
    x->outcome = (enum pending_outcome)o->outcome;
    x->err = o->err;
    x->resumed = o->resumed;
    if (!x->source || !x->destination || !x->reason) {
        free(x->source), free(x->destination), free(x->reason);
        return -1;
    }
    r->n++;
    if (x->outcome == PENDING_DONE)
        r->done++;
    else if (x->outcome == PENDING_FAILED)
        r->failed++;
    else
        r->skipped++;
    return 0;
}

void pending_report_free(struct pending_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].source);
        free(r->v[i].destination);
        free(r->v[i].reason);
    }
    free(r->v);
    free(r->error);
    memset(r, 0, sizeof *r);
}

/* Report fields: bytes <= ' ', '%' and DEL as %XX; the empty string as "-". */
static void put_field(struct buf *b, const char *s)
{
    buf_putc(b, ' ');
    if (!*s || strcmp(s, "-") == 0) {
        buf_puts(b, *s ? "%2D" : "-");
        return;
    }
    while (*s) {
        size_t plain = 0;
        while (s[plain] && (unsigned char)s[plain] > ' ' && s[plain] != '%' && s[plain] != 0x7f)
            plain++;
        buf_append(b, s, plain);
        s += plain;
        if (*s)
            buf_printf(b, "%%%02X", (unsigned char)*s++);
    }
}

static int report_write(struct applier *a)
{
    struct pending_report *r = a->rep;
    struct buf b = BUF_INIT;
    buf_printf(&b, "smss-pending-report 1\ntime %lld\nresumed-batches %zu\n", (long long)r->time,
               r->resumed_batches);
    if (r->error) {
        buf_puts(&b, "error");
        put_field(&b, r->error);
        buf_putc(&b, '\n');
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct pending_result *x = &r->v[i];
        buf_printf(&b, "op %c %u %s %d %d", x->origin == PENDING_FROM_QUEUE ? 'q' : 'r', x->flags,
                   pending_outcome_name(x->outcome), x->err, x->resumed);
        put_field(&b, x->source);
        put_field(&b, x->destination);
        put_field(&b, x->reason);
        buf_putc(&b, '\n');
    }
    buf_puts(&b, "end\n");
    int fd = -1, rc = !b.p || fault(a, PSTEP_CREATE, REPORT_TMP) ? -1 : 0;
    if (rc == 0 && (fd = openat(a->sdfd, REPORT_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
        rc = -1;
    if (rc == 0)
        rc = fault(a, PSTEP_WRITE, REPORT_TMP) || write_full(fd, b.p, b.len) ||
             fault(a, PSTEP_FSYNC, REPORT_TMP) || fdatasync(fd) ||
             fault(a, PSTEP_RENAME, REPORT_TMP) ||
             renameat(a->sdfd, REPORT_TMP, a->sdfd, PENDING_REPORT_FILE) ||
             fsync_fd(a, a->sdfd, a->state_dir) ? -1 : 0;
    if (fd >= 0)
        close(fd);
    buf_free(&b);
    if (rc)
        log_error("pending: cannot write the report %s/%s: %s", a->state_dir, PENDING_REPORT_FILE,
                  strerror(errno));
    return rc;
}

static int unescape(char *s)
{
    if (strcmp(s, "-") == 0)
        return s[0] = 0, 0;
    char *w = s;
    for (char *p = s; *p; p++) {
        if (*p == '%') {
            unsigned v;
            if (sscanf(p + 1, "%2x", &v) != 1)
                return -1;
            *w++ = (char)v;
            p += 2;
        } else {
            *w++ = *p;
        }
    }
    *w = 0;
    return 0;
}

static int parse_report_line(struct pending_report *r, char *line)
{
    char origin, outcome[16], *f[3], *save = NULL;
    unsigned flags;
    int err, resumed, used = 0;
    if (sscanf(line, "op %c %u %15s %d %d %n", &origin, &flags, outcome, &err, &resumed, &used) != 5 || !used)
        return -1;
    char *rest = line + used;
    for (int i = 0; i < 3; i++) {
        f[i] = strtok_r(i ? NULL : rest, " ", &save);
        if (!f[i] || unescape(f[i]))
            return -1;
    }
    struct op o = {.origin = origin == 'r' ? PENDING_FROM_REGISTRY : PENDING_FROM_QUEUE,
                   .flags = flags, .src = f[0], .dst = f[1], .err = err, .resumed = resumed != 0};
    o.outcome = strcmp(outcome, "done") == 0 ? PENDING_DONE : strcmp(outcome, "failed") == 0 ? PENDING_FAILED : PENDING_SKIPPED;
    if (report_push(r, &o))
        return -1;
    free(r->v[r->n - 1].reason);
    return (r->v[r->n - 1].reason = strdup(f[2])) ? 0 : -1;
}

int pending_report_load(const char *state_dir, struct pending_report *out, struct diags *d)
{
    memset(out, 0, sizeof *out);
    char *path = pq_path(state_dir, PENDING_REPORT_FILE);
    struct buf b = BUF_INIT;
    if (!path)
        return -1;
    if (read_file(path, &b)) {
        int e = errno;
        if (e != ENOENT)
            diag_add(d, DIAG_ERROR, path, "cannot read the report: %s", strerror(e));
        free(path);
        return e == ENOENT ? 1 : -1;
    }
    int rc = 0;
    unsigned lineno = 0;
    bool ended = false;
    char *save = NULL;
    for (char *line = b.p ? strtok_r(b.p, "\n", &save) : NULL; line && rc == 0;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        long long t;
        if (lineno == 1)
            rc = strcmp(line, "smss-pending-report 1") ? -1 : 0;
        else if (sscanf(line, "time %lld", &t) == 1)
            out->time = t;
        else if (sscanf(line, "resumed-batches %zu", &out->resumed_batches) == 1)
            ;
        else if (strncmp(line, "error ", 6) == 0)
            rc = unescape(line + 6) || !(out->error = strdup(line + 6)) ? -1 : 0;
        else if (strcmp(line, "end") == 0)
            ended = true;
        else
            rc = parse_report_line(out, line);
    }
    if (rc == 0 && !ended)
        rc = -1, lineno++;
    if (rc)
        diag_at(d, DIAG_ERROR, path, lineno,
                0, "a damaged report (not written by smss, or cut short); the next boot writes a new one");
    buf_free(&b);
    free(path);
    return rc;
}

/* ---- the rounds ---- */

static void set_aside(struct applier *a, const char *what);

/* Take the queue: rename it under its lock so that later appends start a new queue. */
static int take_queue(struct applier *a)
{
    if (state_exists(a, PENDING_TAKEN_FILE))
        return 0;
    int fd = openat(a->sdfd, PENDING_QUEUE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    int rc = flock(fd, LOCK_EX) || fault(a, PSTEP_RENAME, PENDING_QUEUE_FILE) ||
             renameat(a->sdfd, PENDING_QUEUE_FILE, a->sdfd, PENDING_TAKEN_FILE) ||
             fsync_fd(a, a->sdfd, a->state_dir) ? -1 : 0;
    close(fd);
    return rc;
}

static void log_diags(struct diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->v[i].level == DIAG_ERROR)
            log_error("%s: %s", d->v[i].where, d->v[i].message);
        else
            log_warning("%s: %s", d->v[i].where, d->v[i].message);
    }
    diags_free(d);
}

static int read_taken(struct applier *a, struct pq_list *q)
{
    char *path = pq_path(a->state_dir, PENDING_TAKEN_FILE);
    struct diags d = DIAGS_INIT;
    int rc = path ? pq_read(path, q, &d) : -1;
    log_diags(&d);
    free(path);
    return rc;
}

static uint64_t new_jid(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return ((uint64_t)t.tv_sec << 20) ^ (uint64_t)t.tv_nsec ^ ((uint64_t)getpid() << 40);
}

/* Write the journal's header: the plan is fixed from here on. */
static int create_journal(struct applier *a)
{
    struct buf b = BUF_INIT;
    int fd = -1, rc = encode_header(a, &b) || fault(a, PSTEP_CREATE, JOURNAL_TMP) ? -1 : 0;
    if (rc == 0 && (fd = openat(a->sdfd, JOURNAL_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
        rc = -1;
    if (rc == 0)
        rc = fault(a, PSTEP_WRITE, JOURNAL_TMP) || write_full(fd, b.p, b.len) ||
             fault(a, PSTEP_FSYNC, JOURNAL_TMP) || fdatasync(fd) ||
             fault(a, PSTEP_RENAME, JOURNAL_TMP) ||
             renameat(a->sdfd, JOURNAL_TMP, a->sdfd, PENDING_JOURNAL_FILE) ||
             fsync_fd(a, a->sdfd, a->state_dir) ? -1 : 0;
    if (fd >= 0)
        close(fd);
    buf_free(&b);
    if (rc == 0 && (a->jfd = openat(a->sdfd, PENDING_JOURNAL_FILE, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW)) < 0)
        rc = -1;
    return rc;
}

/* A new plan: the taken queue, then the registry pairs not applied yet. 1 = nothing. */
static int new_plan(struct applier *a, const struct sm_rename *reg, size_t nreg)
{
    struct pq_list q = PQ_LIST_INIT;
    if (take_queue(a))
        return -1;
    if (read_taken(a, &q)) {
        pq_list_free(&q); /* not a queue, or unreadable: keep it for inspection, go on */
        set_aside(a, "the queue taken for this boot (pending.taken) cannot be read");
    }
    uint8_t h[16];
    hash128(reg, nreg, h);
    a->has_reg = nreg > 0 && !hash_recorded(a->sdfd, h);
    memcpy(a->reghash, h, 16);
    a->nqueue = q.n;
    a->n = q.n + (a->has_reg ? nreg : 0);
    if (a->n == 0) {
        pq_list_free(&q);
        a->has_reg = false;
        return unlink_state(a, PENDING_TAKEN_FILE) ? -1 : 1;
    }
    int rc = plan_alloc(a, a->n) || plan_queue(a, &q) ? -1 : 0;
    for (size_t i = a->nqueue; i < a->n && rc == 0; i++)
        rc = map_registry_op(a, &a->ops[i], &reg[i - a->nqueue]);
    pq_list_free(&q);
    a->jid = new_jid();
    return rc || create_journal(a) ? -1 : 0;
}

/* A whole file from its descriptor (no /proc: it may not be mounted this early). */
static int read_fd(int fd, struct buf *b)
{
    char chunk[65536];
    off_t off = 0;
    for (;;) {
        ssize_t n = pread(fd, chunk, sizeof chunk, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return (int)n;
        if (buf_append(b, chunk, (size_t)n))
            return -1;
        off += n;
    }
}

/* An interrupted plan: the journal and the queue it took. 1 = no journal. */
static int load_plan(struct applier *a, size_t *uncertain_end)
{
    int fd = openat(a->sdfd, PENDING_JOURNAL_FILE, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 1 : -1;
    a->jfd = fd;
    struct buf b = BUF_INIT;
    struct pq_list q = PQ_LIST_INIT;
    int rc = read_fd(fd, &b);
    if (rc == 0 && read_taken(a, &q))
        rc = -1, errno = EBADMSG; /* it was read when the plan was made: damaged since */
    struct jload l = {a, false, false, 0, 0, &q};
    struct prec_scan_info info = {0};
    if (rc == 0 && (prec_scan((const uint8_t *)b.p, b.len, journal_magic, journal_types, load_record, &l, &info) ||
                    !l.header || info.skipped))
        rc = -1, errno = EBADMSG;
    if (rc == 0 && info.discarded) {
        log_warning("pending: %s/%s: %llu bytes of an interrupted journal write discarded", a->state_dir,
                    PENDING_JOURNAL_FILE, (unsigned long long)info.discarded);
        if (fault(a, PSTEP_TRUNCATE, PENDING_JOURNAL_FILE) || ftruncate(fd, (off_t)info.valid_end))
            rc = -1;
    }
    buf_free(&b);
    pq_list_free(&q);
    while (rc == 0 && a->next < a->n && a->ops[a->next].has_outcome)
        a->next++;
    *uncertain_end = l.intent_first + l.intent_count > a->next && l.intent_first <= a->next
                         ? l.intent_first + l.intent_count
                         : a->next;
    /* Queue entries are only in the taken file: when it is gone the report was written. */
    if (rc == 0 && a->nqueue && !state_exists(a, PENDING_TAKEN_FILE) && a->next < a->n)
        rc = -1, errno = EBADMSG;
    return rc;
}

/* One operation of the interrupted batch: what its paths hold now says whether it ran.
 * The batch's paths are independent, so each operation is judged on its own. */
static void resolve_op(struct applier *a, struct op *o, size_t index)
{
    if (o->kind == K_SKIP || o->kind == K_FAIL) {
        set_outcome(o, o->kind == K_SKIP ? PENDING_SKIPPED : PENDING_FAILED, o->err, o->reason);
        return;
    }
    if (o->kind == K_XFS) {
        exec_xfs(a, o, index, true);
        return;
    }
    struct dirent_c *sd = dir_of(a, o->src, NULL);
    if (!sd) {
        set_outcome(o, PENDING_FAILED, errno, errno == ELOOP ? R_DIR : R_NONE);
        return;
    }
    bool gone = o->pre_s.type && !same(stat_at(sd->fd, base_of(o->src)), o->pre_s);
    if (!gone && o->kind == K_DELETE) {
        exec_delete(a, o);
    } else if (!gone) {
        if (exec_rename(a, o) == 1)
            set_outcome(o, PENDING_FAILED, EXDEV, R_NONE);
    } else if (o->kind == K_DELETE) {
        set_outcome(o, PENDING_DONE, 0, R_NONE), o->resumed = true;
    } else {
        struct dirent_c *dd = dir_of(a, o->dst, NULL);
        if (dd && same(stat_at(dd->fd, base_of(o->dst)), o->pre_s))
            set_outcome(o, PENDING_DONE, 0, R_NONE), o->resumed = true;
        else
            set_outcome(o, PENDING_FAILED, ESTALE, R_CHANGED);
    }
}

static int resolve_uncertain(struct applier *a, size_t end)
{
    size_t first = a->next;
    log_warning("pending: resuming after an interruption: operations %zu to %zu", first + 1, end);
    for (size_t i = first; i < end; i++) {
        resolve_op(a, &a->ops[i], i);
        log_outcome(&a->ops[i]);
    }
    a->rep->resumed_batches++;
    if (sync_noted(a) || encode_done(a, first, end - first) || journal_flush(a))
        return -1;
    a->next = end;
    return 0;
}

/* Plan the next batch from a->next; returns its size. */
static size_t plan_batch(struct applier *a, struct pathset *ps)
{
    size_t max = a->opt && a->opt->batch_max ? a->opt->batch_max : DEFAULT_BATCH, count = 0;
    if (ps->cap) {
        memset(ps->key, 0, ps->cap * sizeof *ps->key);
        memset(ps->tag, 0, ps->cap);
    }
    ps->n = 0;
    while (a->next + count < a->n && count < max) {
        struct op *o = &a->ops[a->next + count];
        int r = plan_op(a, o, ps, count);
        if (r < 0 && count == 0)
            o->kind = K_FAIL, o->err = ENOMEM, o->reason = R_NONE;
        else if (r == 1 || r < 0)
            break;
        count++;
        if (r == 2)
            break;
    }
    return count ? count : 1;
}

static int run_batch(struct applier *a, size_t first, size_t count)
{
    if (encode_intent(a, first, count) || journal_flush(a))
        return -1;
    size_t i;
    for (i = first; i < first + count; i++) {
        struct op *o = &a->ops[i];
        if (o->kind == K_SKIP || o->kind == K_FAIL)
            set_outcome(o, o->kind == K_SKIP ? PENDING_SKIPPED : PENDING_FAILED, o->err, o->reason);
        else if (o->kind == K_DELETE)
            exec_delete(a, o);
        else if (o->kind == K_XFS)
            exec_xfs(a, o, i, false);
        else if (exec_rename(a, o) == 1) {
            o->force_xfs = true; /* a bind mount: plan it again, alone */
            break;
        }
        log_outcome(o);
    }
    if (sync_noted(a) || (i > first && encode_done(a, first, i - first)))
        return -1;
    a->next = i;
    return 0;
}

static int run_plan(struct applier *a, size_t uncertain_end)
{
    if (uncertain_end > a->next && resolve_uncertain(a, uncertain_end))
        return -1;
    struct pathset ps = {0};
    int rc = 0;
    while (rc == 0 && a->next < a->n) {
        size_t count = plan_batch(a, &ps);
        rc = run_batch(a, a->next, count);
    }
    ps_free(&ps);
    return rc || journal_flush(a) ? -1 : 0;
}

/* The plan is complete: report, remember the registry pairs, remove the state files. */
static int finish_plan(struct applier *a, bool report_known)
{
    for (size_t i = 0; i < a->n && report_known; i++)
        if (report_push(a->rep, &a->ops[i]))
            return -1;
    a->rep->time = time(NULL);
    if ((report_known && report_write(a)) || record_hash(a) || unlink_state(a, PENDING_TAKEN_FILE) ||
        fsync_fd(a, a->sdfd, a->state_dir) || unlink_state(a, PENDING_JOURNAL_FILE) ||
        fsync_fd(a, a->sdfd, a->state_dir))
        return -1;
    return 0;
}

/* A journal that cannot be used is moved aside with the queue it took: applying them
 * without knowing what already ran could apply something twice. */
static void set_aside(struct applier *a, const char *what)
{
    char name[96];
    for (int i = 0; i < 2; i++) {
        const char *f = i ? PENDING_TAKEN_FILE : PENDING_JOURNAL_FILE;
        snprintf(name, sizeof name, "%s.damaged-%lld", f, (long long)time(NULL));
        renameat(a->sdfd, f, a->sdfd, name);
    }
    fsync(a->sdfd);
    struct buf b = BUF_INIT;
    buf_printf(&b, "%s; set aside in %s as *.damaged-<time>: inspect it, and queue again what "
                   "did not happen", what, a->state_dir);
    free(a->rep->error);
    a->rep->error = b.p ? buf_steal(&b) : NULL;
    log_error("pending: %s", a->rep->error ? a->rep->error : what);
}

/* The results of a plan whose report was written before an interruption, into this
 * boot's report. */
static void report_take_written(struct applier *a)
{
    struct pending_report old;
    struct diags d = DIAGS_INIT;
    if (pending_report_load(a->state_dir, &old, &d) == 0) {
        for (size_t i = 0; i < old.n; i++) {
            struct op o = {.origin = old.v[i].origin, .flags = old.v[i].flags, .src = old.v[i].source,
                           .dst = old.v[i].destination, .err = old.v[i].err, .resumed = old.v[i].resumed,
                           .outcome = (uint8_t)old.v[i].outcome};
            if (report_push(a->rep, &o) == 0) {
                free(a->rep->v[a->rep->n - 1].reason);
                a->rep->v[a->rep->n - 1].reason = old.v[i].reason;
                old.v[i].reason = NULL;
            }
        }
    }
    pending_report_free(&old);
    diags_free(&d);
}

/* One round: an interrupted plan, or a new one. 0 = a plan ran, 1 = nothing to do. */
static int run_round(struct applier *a, const struct sm_rename *reg, size_t nreg)
{
    size_t uncertain_end = 0;
    a->jfd = -1;
    int r = load_plan(a, &uncertain_end);
    bool resumed = r == 0, report_known = true;
    if (r < 0 && errno == EBADMSG) {
        set_aside(a, "the pending-operations journal is damaged");
        r = 1;
    } else if (r == 0 && a->nqueue && !state_exists(a, PENDING_TAKEN_FILE)) {
        report_known = false; /* finished before an interruption; its report is written */
        report_take_written(a);
    }
    if (r == 1)
        r = new_plan(a, reg, nreg);
    if (r == 0) {
        log_info("pending: %zu operations (%zu queued, %zu from the registry)%s", a->n - a->next,
                 a->nqueue, a->n - a->nqueue, resumed ? ", resuming an interrupted boot" : "");
        r = run_plan(a, uncertain_end) || finish_plan(a, report_known) ? -1 : 0;
    }
    if (a->jfd >= 0)
        close(a->jfd);
    a->jfd = -1;
    plan_free(a);
    dir_cache_clear(a);
    return r;
}

int pending_options_from_config(struct pending_options *o, struct ntpath_rules *rules,
                                const struct smss_config *c, const char *system_root)
{
    memset(o, 0, sizeof *o);
    if (ntpath_rules_from_config(rules, c, system_root))
        return -1;
    o->ntpath = rules;
    o->allow_protected_renames = c->allow_protected_renames != 0;
    o->protected_paths = &c->protected_paths;
    o->system_root = system_root;
    return 0;
}

int pending_apply_at_boot(const char *state_dir, const struct sm_rename *registry_renames,
                          size_t n, const struct pending_options *opt, struct pending_report *out)
{
    memset(out, 0, sizeof *out);
    struct applier a = {.state_dir = state_dir, .sdfd = -1, .jfd = -1, .opt = opt, .rep = out};
    int rc = -1;
    if (ntpath_rules_default(&a.default_rules, opt ? opt->system_root : NULL))
        goto out;
    protset_build(&a.prot, opt ? opt->protected_paths : NULL, opt ? opt->system_root : NULL);
    if (pq_mkdirs(state_dir) || (a.sdfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        goto out;
    int r = 0;
    for (int round = 0; round < 4 && r == 0; round++)
        r = run_round(&a, registry_renames, n);
    rc = r < 0 ? -1 : 0;
out:
    if (rc) {
        struct buf b = BUF_INIT;
        buf_printf(&b, "cannot use the state directory %s: %s; what is pending stays for the next boot",
                   state_dir, strerror(errno));
        free(out->error);
        out->error = b.p ? buf_steal(&b) : NULL;
        log_error("pending: %s", out->error ? out->error : "cannot apply");
    }
    out->time = time(NULL);
    if (a.sdfd >= 0 && (rc || (out->error && out->n == 0)))
        report_write(&a); /* the error is the last boot's report */
    log_info("pending: %zu done, %zu failed, %zu skipped", out->done, out->failed, out->skipped);
    plan_free(&a);
    dir_cache_clear(&a);
    buf_free(&a.jpending);
    strlist_free(&a.prot);
    ntpath_rules_free(&a.default_rules);
    if (a.sdfd >= 0)
        close(a.sdfd);
    return rc;
}
