#include "pagefile.h"
#include "json_util.h"
#include "buf.h"
#include "log.h"
#include "sysenv.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/swap.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define MB (1024ull * 1024ull)
#define SWAP_MAGIC "SWAPSPACE2"
#define SWAP_INFO_OFFSET 1024 /* after the boot sector space */

/* ---- sizes: pure functions ---- */

static int parse_number(const char **p, uint32_t *out)
{
    const char *s = *p + strspn(*p, " \t");
    if (!*s)
        return 0;
    if (!isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (errno || v > UINT32_MAX || (*end && *end != ' ' && *end != '\t'))
        return -1;
    *out = (uint32_t)v;
    *p = end;
    return 1;
}

int pagefile_parse(const char *text, struct sm_paging_file *out, const char **why)
{
    memset(out, 0, sizeof *out);
    const char *p = text + strspn(text, " \t");
    size_t n = strcspn(p, " \t");
    if (n == 0) {
        *why = "no path";
        return -1;
    }
    const char *rest = p + n;
    int got_min = parse_number(&rest, &out->min_mb);
    int got_max = got_min > 0 ? parse_number(&rest, &out->max_mb) : 0;
    if (got_min < 0 || got_max < 0 || rest[strspn(rest, " \t")]) {
        *why = "sizes must be \"path [min MB [max MB]]\", numbers in decimal, 0x hex or 0 octal";
        return -1;
    }
    out->system_managed = out->min_mb == 0 && out->max_mb == 0;
    out->path = strndup(p, n);
    if (!out->path) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}

void pagefile_nt_sizes(uint64_t ram_mb, uint64_t *min_mb, uint64_t *max_mb)
{
    *min_mb = ram_mb >= 1024 ? ram_mb : ram_mb * 3 / 2;
    *max_mb = ram_mb * 3;
    if (*min_mb > *max_mb)
        *max_mb = *min_mb;
}

void pagefile_entry_sizes(const struct sm_paging_file *e, uint64_t ram_mb, uint64_t *min_mb,
                          uint64_t *max_mb)
{
    if (e->system_managed || (e->min_mb == 0 && e->max_mb == 0)) {
        pagefile_nt_sizes(ram_mb, min_mb, max_mb);
        return;
    }
    /* No initial size: Linux swap cannot grow, so the file is made at its maximum. */
    *min_mb = e->min_mb ? e->min_mb : e->max_mb;
    *max_mb = e->max_mb > *min_mb ? e->max_mb : *min_mb;
}

uint64_t pagefile_fit(uint64_t min_mb, uint64_t usable_mb)
{
    uint64_t size = min_mb;
    while (size > usable_mb && size > PAGEFILE_STEP_MB)
        size -= PAGEFILE_STEP_MB;
    return size <= usable_mb ? size : 0;
}

uint64_t pagefile_reserve_mb(uint64_t fs_mb)
{
    return fs_mb / 100 > 64 ? fs_mb / 100 : 64;
}

void pagefile_swap_header(unsigned char *page, size_t page_size, uint64_t size,
                          const unsigned char uuid[16], const char *label)
{
    /* The version-1 header: after 1024 bytes of boot space, version, last page, bad page
     * count, UUID and a 16-byte label; the magic ends the first page. */
    memset(page, 0, page_size);
    uint32_t info[3] = {1, (uint32_t)(size / page_size - 1), 0};
    memcpy(page + SWAP_INFO_OFFSET, info, sizeof info);
    memcpy(page + SWAP_INFO_OFFSET + 12, uuid, 16);
    strncpy((char *)page + SWAP_INFO_OFFSET + 28, label, 15);
    memcpy(page + page_size - 10, SWAP_MAGIC, 10);
}

/* ---- paths ---- */

static bool suitable_fs(const char *dir)
{
    struct statfs s;
    if (statfs(dir, &s) < 0)
        return false;
    return s.f_type != TMPFS_MAGIC && s.f_type != RAMFS_MAGIC &&
           s.f_type != OVERLAYFS_SUPER_MAGIC;
}

static const char *any_dir(const struct pagefile_options *o)
{
    const char *defaults[] = {"/", o->state_dir, NULL};
    const char *const *dirs = o->any_dirs ? o->any_dirs : defaults;
    for (size_t i = 0; dirs[i]; i++)
        if (suitable_fs(dirs[i]))
            return dirs[i];
    return NULL;
}

char *pagefile_linux_path(const char *config_path, const struct pagefile_options *o)
{
    if (config_path[0] == '/')
        return strdup(config_path);
    const char *p = config_path;
    if (strncmp(p, "\\??\\", 4) == 0)
        p += 4;
    if (!(isalpha((unsigned char)p[0]) || p[0] == '?') || p[1] != ':' || p[2] != '\\' || !p[3]) {
        errno = EINVAL;
        return NULL;
    }
    const char *base = "";
    if (p[0] == '?' && !(base = any_dir(o))) {
        errno = ENOENT;
        return NULL;
    }
    struct buf b = BUF_INIT;
    size_t blen = strlen(base);
    if (buf_append(&b, base, blen && base[blen - 1] == '/' ? blen - 1 : blen) < 0)
        return NULL;
    for (const char *s = p + 2; *s; s++)
        if (buf_putc(&b, *s == '\\' ? '/' : *s) < 0) {
            buf_free(&b);
            return NULL;
        }
    return buf_steal(&b);
}

/* ---- the swap file ---- */

/* Is path listed in /proc/swaps (the same file, by device and inode)? */
static bool swap_active(const char *path)
{
    struct stat want;
    if (stat(path, &want) < 0)
        return false;
    FILE *f = fopen("/proc/swaps", "re");
    if (!f)
        return false;
    char line[PATH_MAX + 128], name[PATH_MAX];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, " \t"), j = 0;
        for (size_t i = 0; i < n && j + 1 < sizeof name; i++) {
            /* The kernel writes blanks and backslashes as \ooo. */
            if (line[i] == '\\' && i + 3 < n + 1 && isdigit((unsigned char)line[i + 1])) {
                name[j++] = (char)strtol((char[]){line[i + 1], line[i + 2], line[i + 3], 0}, NULL, 8);
                i += 3;
            } else
                name[j++] = line[i];
        }
        name[j] = '\0';
        struct stat st;
        found = name[0] == '/' && stat(name, &st) == 0 && st.st_dev == want.st_dev &&
                st.st_ino == want.st_ino;
    }
    fclose(f);
    return found;
}

static bool header_ok(int fd, uint64_t size, size_t page)
{
    unsigned char *h = malloc(page);
    bool ok = h && pread(fd, h, page, 0) == (ssize_t)page &&
              memcmp(h + page - 10, SWAP_MAGIC, 10) == 0;
    uint32_t info[2];
    if (ok) {
        memcpy(info, h + SWAP_INFO_OFFSET, sizeof info);
        ok = info[0] == 1 && info[1] == size / page - 1;
    }
    free(h);
    return ok;
}

static int write_zeros(int fd, uint64_t size)
{
    static const char zero[1 << 16];
    for (uint64_t off = 0; off < size;) {
        size_t n = size - off < sizeof zero ? (size_t)(size - off) : sizeof zero;
        ssize_t w = pwrite(fd, zero, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (uint64_t)w;
    }
    return 0;
}

/* Every block allocated: fallocate, or zeros where the filesystem lacks it. */
static int allocate(int fd, uint64_t size)
{
    if (ftruncate(fd, 0) < 0)
        return -1;
    if (fallocate(fd, 0, 0, (off_t)size) == 0)
        return 0;
    if (errno != EOPNOTSUPP && errno != ENOSYS)
        return -1;
    return write_zeros(fd, size);
}

static int write_header(int fd, uint64_t size, size_t page)
{
    unsigned char uuid[16], *h = malloc(page);
    if (!h)
        return -1;
    if (getrandom(uuid, sizeof uuid, 0) != (ssize_t)sizeof uuid) {
        free(h);
        return -1;
    }
    uuid[6] = (unsigned char)((uuid[6] & 0x0f) | 0x40); /* version 4 */
    uuid[8] = (unsigned char)((uuid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    pagefile_swap_header(h, page, size, uuid, PAGEFILE_LABEL);
    ssize_t w = pwrite(fd, h, page, 0);
    free(h);
    return w == (ssize_t)page && fdatasync(fd) == 0 ? 0 : -1;
}

static int entry_fail(struct pagefile *p, enum pagefile_state s, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int entry_fail(struct pagefile *p, enum pagefile_state s, int e, const char *fmt, ...)
{
    p->state = s;
    p->errnum = e;
    va_list ap;
    va_start(ap, fmt);
    free(p->reason);
    if (vasprintf(&p->reason, fmt, ap) < 0)
        p->reason = NULL;
    va_end(ap);
    log_warning("paging file %s: %s", p->path ? p->path : p->config, p->reason ? p->reason : "");
    return -1;
}

/* The usable MB for a file at path: free space minus the reserve, plus what an existing
 * file already holds (NT counts an existing paging file as usable). */
static int usable_space(const char *path, uint64_t *usable, uint64_t *free_mb, uint64_t *reserve)
{
    char *dir = strdup(path);
    if (!dir)
        return -1;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    struct statfs s;
    int rc = statfs(dir, &s);
    free(dir);
    if (rc < 0)
        return -1;
    *free_mb = (uint64_t)s.f_bavail * (uint64_t)s.f_bsize / MB;
    *reserve = pagefile_reserve_mb((uint64_t)s.f_blocks * (uint64_t)s.f_bsize / MB);
    struct stat st;
    uint64_t held = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_blocks * 512 / MB : 0;
    *usable = *free_mb + held > *reserve ? *free_mb + held - *reserve : 0;
    return 0;
}

/* Create (or reuse) the file at p->size_mb, lowering it by 16 MB when space runs out. */
static int make_file(struct pagefile *p, int64_t reserve_opt)
{
    uint64_t usable, free_mb, reserve;
    if (usable_space(p->path, &usable, &free_mb, &reserve) < 0)
        return entry_fail(p, PAGEFILE_FAILED, errno, "cannot see its filesystem: %s", strerror(errno));
    if (reserve_opt >= 0) {
        usable = usable + reserve >= (uint64_t)reserve_opt ? usable + reserve - (uint64_t)reserve_opt : 0;
        reserve = (uint64_t)reserve_opt;
    }
    p->size_mb = pagefile_fit(p->min_mb, usable);
    if (p->size_mb == 0)
        return entry_fail(p, PAGEFILE_FAILED, ENOSPC,
                          "not enough free space: %llu MB free, %llu MB kept in reserve, %llu MB wanted",
                          (unsigned long long)free_mb, (unsigned long long)reserve,
                          (unsigned long long)p->min_mb);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    int fd = open(p->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return entry_fail(p, PAGEFILE_FAILED, e, "cannot create it: %s", strerror(e));
    }
    int rc = 0;
    if (!S_ISREG(st.st_mode))
        rc = entry_fail(p, PAGEFILE_FAILED, EINVAL, "not a regular file");
    else if (fchmod(fd, 0600) < 0 || (geteuid() == 0 && fchown(fd, 0, 0) < 0))
        rc = entry_fail(p, PAGEFILE_FAILED, errno, "cannot set mode 0600: %s", strerror(errno));
    else if ((uint64_t)st.st_size == p->size_mb * MB && (uint64_t)st.st_blocks * 512 >= p->size_mb * MB &&
             header_ok(fd, p->size_mb * MB, page))
        p->reused = true;
    else {
        while ((rc = allocate(fd, p->size_mb * MB)) < 0 && errno == ENOSPC && p->size_mb > PAGEFILE_STEP_MB)
            p->size_mb -= PAGEFILE_STEP_MB;
        if (rc < 0 || write_header(fd, p->size_mb * MB, page) < 0) {
            int e = errno;
            rc = entry_fail(p, PAGEFILE_FAILED, e, "cannot allocate %llu MB: %s",
                            (unsigned long long)p->size_mb, strerror(e));
            if (ftruncate(fd, 0) == 0)
                unlink(p->path); /* no half-made swap file left behind */
        }
    }
    close(fd);
    return rc;
}

static const char *swapon_reason(int e)
{
    switch (e) {
    case EPERM:
        return "activation refused: swapon needs CAP_SYS_ADMIN in the initial user namespace "
               "(a user namespace or container refuses it)";
    case EINVAL:
        return "activation refused by the kernel: this filesystem cannot hold swap "
               "(tmpfs, ramfs, a network or copy-on-write filesystem)";
    case EBUSY:
        return "activation refused: the file is already in use as swap";
    default:
        return "activation refused";
    }
}

static int activate(struct pagefile *p, const struct pagefile_options *o)
{
    if (o->no_activate) {
        p->state = PAGEFILE_CREATED;
        return 0;
    }
    if (swapon(p->path, 0) == 0) {
        p->state = PAGEFILE_ACTIVE;
        log_info("paging file %s: %llu MB active%s", p->path, (unsigned long long)p->size_mb,
                 p->reused ? " (reused)" : "");
        return 0;
    }
    int e = errno;
    return entry_fail(p, PAGEFILE_NOT_ACTIVATED, e, "%s: %s", swapon_reason(e), strerror(e));
}

static void setup_one(struct pagefile *p, const struct sm_paging_file *e, uint64_t ram_mb,
                      const struct pagefile_options *o)
{
    p->system_managed = e->system_managed || (e->min_mb == 0 && e->max_mb == 0);
    pagefile_entry_sizes(e, ram_mb, &p->min_mb, &p->max_mb);
    p->path = pagefile_linux_path(e->path, o);
    if (!p->path) {
        entry_fail(p, PAGEFILE_FAILED, errno, errno == ENOENT
                   ? "no suitable filesystem for '?' (tmpfs, ramfs and overlayfs cannot hold swap)"
                   : "not a path smss understands: a Linux path, X:\\dir\\name or ?:\\name");
        return;
    }
    if (swap_active(p->path)) {
        struct stat st;
        p->size_mb = stat(p->path, &st) == 0 ? (uint64_t)st.st_size / MB : 0;
        p->state = PAGEFILE_ALREADY_ACTIVE;
        return;
    }
    if (make_file(p, o->reserve_mb) == 0)
        activate(p, o);
}

static uint64_t machine_ram_mb(void)
{
    struct sysinfo si;
    return sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit / MB : 0;
}

int pagefile_setup(struct pagefile_result *r, const struct smss_config *c,
                   const struct pagefile_options *o)
{
    static const struct sm_paging_file nt_default = {.path = "?:\\pagefile.sys", .system_managed = true};
    const struct sm_paging_file *list = c->paging_files_set ? c->paging_files : &nt_default;
    size_t n = c->paging_files_set ? c->npaging_files : 1;
    if (n > SM_MAX_PAGING_FILES)
        n = SM_MAX_PAGING_FILES;
    r->ram_mb = o->ram_mb ? o->ram_mb : machine_ram_mb();
    r->none = n == 0;
    if (r->none) {
        log_info("paging files: none configured");
        return 0;
    }
    r->v = calloc(n, sizeof *r->v);
    if (!r->v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        r->v[i].config = strdup(list[i].path ? list[i].path : "");
        if (!r->v[i].config)
            return -1;
        r->n = i + 1;
        setup_one(&r->v[i], &list[i], r->ram_mb, o);
    }
    return 0;
}

void pagefile_deactivate(struct pagefile_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].state == PAGEFILE_ACTIVE && swapoff(r->v[i].path) == 0)
            r->v[i].state = PAGEFILE_CREATED;
}

const char *pagefile_state_name(enum pagefile_state s)
{
    static const char *const names[] = {"active", "already active", "not activated", "created",
                                        "failed"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

static json_t *entry_json(const struct pagefile *p)
{
    json_t *vals[] = {prep_json_string(p->config), prep_json_string(p->path),
                      json_integer((json_int_t)p->min_mb), json_integer((json_int_t)p->max_mb),
                      json_integer((json_int_t)p->size_mb), json_boolean(p->system_managed),
                      json_boolean(p->reused), json_string(pagefile_state_name(p->state)),
                      json_integer(p->errnum), prep_json_string(p->reason)};
    static const char *const keys[] = {"config", "path", "min_mb", "max_mb", "size_mb",
                                       "system_managed", "reused", "state", "errno", "reason"};
    return json_object_of(keys, vals, sizeof keys / sizeof keys[0]);
}

json_t *pagefile_to_json(const struct pagefile_result *r)
{
    json_t *o = json_object(), *list = json_array();
    for (size_t i = 0; list && i < r->n; i++)
        if (json_array_append_new(list, entry_json(&r->v[i])) < 0) {
            json_decref(list);
            list = NULL;
        }
    if (!o || !list || json_object_set_new(o, "none", json_boolean(r->none)) < 0 ||
        json_object_set_new(o, "ram_mb", json_integer((json_int_t)r->ram_mb)) < 0) {
        json_decref(list);
        json_decref(o);
        return NULL;
    }
    if (json_object_set_new(o, "paging_files", list) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void pagefile_result_free(struct pagefile_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].config);
        free(r->v[i].path);
        free(r->v[i].reason);
    }
    free(r->v);
    *r = (struct pagefile_result)PAGEFILE_RESULT_INIT;
}
