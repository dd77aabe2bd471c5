#include "knowndlls.h"
#include "json_util.h"
#include "log.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <link.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* ---- ELF verification ---- */

/* The machine this program was built for: what a library must have been built for. */
#if defined(__x86_64__)
#define HOST_EM EM_X86_64
#define MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define HOST_EM EM_AARCH64
#define MULTIARCH "aarch64-linux-gnu"
#elif defined(__i386__)
#define HOST_EM EM_386
#define MULTIARCH "i386-linux-gnu"
#elif defined(__arm__)
#define HOST_EM EM_ARM
#define MULTIARCH "arm-linux-gnueabihf"
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_EM EM_RISCV
#define MULTIARCH "riscv64-linux-gnu"
#elif defined(__powerpc64__)
#define HOST_EM EM_PPC64
#define MULTIARCH "powerpc64le-linux-gnu"
#elif defined(__s390x__)
#define HOST_EM EM_S390
#define MULTIARCH "s390x-linux-gnu"
#else
#error "add this machine's e_machine and multiarch directory"
#endif

#if __SIZEOF_POINTER__ == 8
#define HOST_CLASS ELFCLASS64
#else
#define HOST_CLASS ELFCLASS32
#endif
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_DATA ELFDATA2LSB
#else
#define HOST_DATA ELFDATA2MSB
#endif

static int bad(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(char **why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(why, fmt, ap) < 0)
        *why = NULL;
    va_end(ap);
    return -1;
}

/* Does [off, off + size) lie inside a file of len bytes? */
static bool in_file(uint64_t off, uint64_t size, size_t len)
{
    return off <= len && size <= len - off;
}

static int check_header(const ElfW(Ehdr) *h, size_t len, char **why)
{
    if (len < EI_NIDENT || memcmp(h->e_ident, ELFMAG, SELFMAG) != 0)
        return bad(why, "not an ELF file (no \\177ELF magic)");
    if (len < sizeof *h)
        return bad(why, "truncated ELF header (%zu bytes)", len);
    if (h->e_ident[EI_CLASS] != HOST_CLASS)
        return bad(why, "ELF class %u, this machine needs %u", h->e_ident[EI_CLASS], HOST_CLASS);
    if (h->e_ident[EI_DATA] != HOST_DATA)
        return bad(why, "byte order %u, this machine needs %u", h->e_ident[EI_DATA], HOST_DATA);
    if (h->e_type != ET_DYN)
        return bad(why, "ELF type %u is not a shared object (ET_DYN)", h->e_type);
    if (h->e_machine != HOST_EM)
        return bad(why, "built for machine %u, this machine is %u", h->e_machine, HOST_EM);
    if (h->e_phentsize != sizeof(ElfW(Phdr)) || h->e_phnum == 0 ||
        !in_file(h->e_phoff, (uint64_t)h->e_phnum * sizeof(ElfW(Phdr)), len))
        return bad(why, "program headers outside the file or malformed");
    return 0;
}

/* File offset of a virtual address, through the PT_LOAD segments. */
static bool vaddr_to_offset(const ElfW(Phdr) *ph, size_t n, uint64_t addr, uint64_t *off)
{
    for (size_t i = 0; i < n; i++)
        if (ph[i].p_type == PT_LOAD && addr >= ph[i].p_vaddr &&
            addr - ph[i].p_vaddr < ph[i].p_filesz) {
            *off = addr - ph[i].p_vaddr + ph[i].p_offset;
            return true;
        }
    return false;
}

int knowndll_inspect(const void *data, size_t len, struct strlist *needed, char **why)
{
    *why = NULL;
    const ElfW(Ehdr) *h = data;
    if (check_header(h, len, why) < 0)
        return -1;
    const ElfW(Phdr) *ph = (const void *)((const char *)data + h->e_phoff);
    const ElfW(Phdr) *dyn = NULL;
    for (size_t i = 0; i < h->e_phnum; i++)
        if (ph[i].p_type == PT_DYNAMIC)
            dyn = &ph[i];
    if (!dyn)
        return bad(why, "no dynamic section (PT_DYNAMIC)");
    if (!in_file(dyn->p_offset, dyn->p_filesz, len) || dyn->p_offset % sizeof(ElfW(Addr)))
        return bad(why, "dynamic section outside the file");
    const ElfW(Dyn) *d = (const void *)((const char *)data + dyn->p_offset);
    size_t nd = dyn->p_filesz / sizeof *d;
    uint64_t strtab = 0, strsz = 0;
    bool have_strtab = false, terminated = false;
    for (size_t i = 0; i < nd && !terminated; i++) {
        if (d[i].d_tag == DT_NULL)
            terminated = true;
        else if (d[i].d_tag == DT_STRTAB)
            strtab = d[i].d_un.d_ptr, have_strtab = true;
        else if (d[i].d_tag == DT_STRSZ)
            strsz = d[i].d_un.d_val;
    }
    if (!terminated)
        return bad(why, "dynamic section without its DT_NULL end");
    uint64_t stroff = 0;
    if (!have_strtab || !vaddr_to_offset(ph, h->e_phnum, strtab, &stroff) ||
        !in_file(stroff, strsz, len) || strsz == 0)
        return bad(why, "dynamic string table (DT_STRTAB/DT_STRSZ) outside the file");
    const char *str = (const char *)data + stroff;
    for (size_t i = 0; i < nd && d[i].d_tag != DT_NULL; i++) {
        if (d[i].d_tag != DT_NEEDED)
            continue;
        uint64_t o = d[i].d_un.d_val;
        if (o >= strsz || !memchr(str + o, '\0', strsz - o) || str[o] == '\0')
            return bad(why, "DT_NEEDED entry %zu outside the string table", i);
        if (needed && strlist_push(needed, str + o) < 0)
            return bad(why, "out of memory");
    }
    return 0;
}

/* ---- where libraries are looked up ---- */

static int add_dir(struct strlist *dirs, const char *dir, size_t n)
{
    if (n == 0 || dir[0] != '/')
        return 0;
    for (size_t i = 0; i < dirs->n; i++)
        if (strlen(dirs->v[i]) == n && strncmp(dirs->v[i], dir, n) == 0)
            return 0;
    return strlist_push_n(dirs, dir, n);
}

static void read_ld_so_conf(struct strlist *dirs, const char *path, int depth);

static void include_conf(struct strlist *dirs, const char *pattern, int depth)
{
    char *full = NULL;
    if (pattern[0] != '/' && asprintf(&full, "/etc/%s", pattern) < 0)
        return;
    glob_t g;
    if (glob(full ? full : pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++)
            read_ld_so_conf(dirs, g.gl_pathv[i], depth + 1);
        globfree(&g);
    }
    free(full);
}

/* ldconfig's input: directory lines, "include PATTERN" lines, '#' comments. */
static void read_ld_so_conf(struct strlist *dirs, const char *path, int depth)
{
    struct buf text = BUF_INIT;
    if (depth > 8 || read_file(path, &text) < 0 || !text.p) {
        buf_free(&text);
        return;
    }
    for (char *save = NULL, *line = strtok_r(text.p, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        line[strcspn(line, "#")] = '\0';
        line += strspn(line, " \t");
        if (strncmp(line, "include", 7) == 0 && (line[7] == ' ' || line[7] == '\t')) {
            char *p = line + 8;
            for (char *s2 = NULL, *w = strtok_r(p, " \t", &s2); w; w = strtok_r(NULL, " \t", &s2))
                include_conf(dirs, w, depth);
        } else if (strncmp(line, "hwcap", 5) != 0) {
            for (char *w = line; *w;) {
                size_t n = strcspn(w, " \t,:=");
                add_dir(dirs, w, n);
                w += n;
                w += strspn(w, " \t,:=");
            }
        }
    }
    buf_free(&text);
}

/* DllDirectory, the ld.so.conf directories, then the loader's trusted ones. */
static int search_dirs(struct strlist *dirs, const char *dll_directory)
{
    static const char *const trusted[] = {"/lib/" MULTIARCH, "/usr/lib/" MULTIARCH,
                                          "/lib64", "/usr/lib64", "/lib", "/usr/lib"};
    if (dll_directory && add_dir(dirs, dll_directory, strlen(dll_directory)) < 0)
        return -1;
    read_ld_so_conf(dirs, "/etc/ld.so.conf", 0);
    for (size_t i = 0; i < sizeof trusted / sizeof trusted[0]; i++)
        if (add_dir(dirs, trusted[i], strlen(trusted[i])) < 0)
            return -1;
    return 0;
}

/* The first dirs[i]/name that exists, malloc'd; NULL when none does. */
static char *find_library(const struct strlist *dirs, const char *name)
{
    if (strchr(name, '/'))
        return access(name, F_OK) == 0 ? strdup(name) : NULL;
    for (size_t i = 0; i < dirs->n; i++) {
        char *p;
        if (asprintf(&p, "%s/%s", dirs->v[i], name) < 0)
            return NULL;
        if (access(p, F_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}

/* ---- the list ---- */

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static bool have_name(const struct knowndlls_result *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].name, name) == 0)
            return true;
    for (size_t i = 0; i < r->missing.n; i++)
        if (strcmp(r->missing.v[i], name) == 0)
            return true;
    return false;
}

static int push_dll(struct knowndlls_result *r, const char *name, char *source,
                    const char *needed_by)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct knowndll *v = realloc(r->v, cap * sizeof *v);
        if (!v) {
            free(source);
            return -1;
        }
        r->v = v;
        r->cap = cap;
    }
    struct knowndll *k = &r->v[r->n];
    *k = (struct knowndll){.name = strdup(name), .source = source};
    if (needed_by)
        k->needed_by = strdup(needed_by);
    r->n++;
    if (!k->name || (needed_by && !k->needed_by))
        return -1;
    return 0;
}

/* Add a library by name (or by path, for a configured absolute file), once. A missing
 * file is recorded and skipped, as NT skips it. */
static int add_library(struct knowndlls_result *r, const struct strlist *dirs,
                       const char *file, const char *needed_by)
{
    const char *name = base_name(file);
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || have_name(r, name))
        return 0;
    char *source = file[0] == '/' ? (access(file, F_OK) == 0 ? strdup(file) : NULL)
                                  : find_library(dirs, file);
    if (!source) {
        log_debug("KnownDLLs: %s not found: skipped", file);
        return strlist_push(&r->missing, name);
    }
    return push_dll(r, name, source, needed_by);
}

static bool excluded(const struct smss_config *c, const char *a, const char *b)
{
    return strlist_find_nocase(&c->exclude_from_known_dlls, a) >= 0 ||
           (b && strlist_find_nocase(&c->exclude_from_known_dlls, b) >= 0);
}

static int note_excluded(struct knowndlls_result *r, const char *name, const char *file)
{
    char *s;
    if (asprintf(&s, "%s (%s)", name, file) < 0)
        return -1;
    if (strlist_find_nocase(&r->excluded, s) >= 0) {
        free(s);
        return 0;
    }
    return strlist_push_owned(&r->excluded, s);
}

/* The configured entries: DllDirectory\file for each name → file not excluded. */
static int add_configured(struct knowndlls_result *r, const struct smss_config *c,
                          const struct strlist *dirs)
{
    for (size_t i = 0; i < c->known_dlls.n; i++) {
        const struct sm_named *e = &c->known_dlls.v[i];
        const char *file = e->value ? e->value : "";
        if (strcasecmp(e->name, "DllDirectory") == 0 || strcasecmp(e->name, "DllDirectory32") == 0 || !*file)
            continue;
        if (excluded(c, e->name, base_name(file))) {
            if (note_excluded(r, e->name, file) < 0)
                return -1;
            continue;
        }
        char *path = NULL;
        if (file[0] != '/' && r->dll_directory && asprintf(&path, "%s/%s", r->dll_directory, file) < 0)
            return -1;
        int rc = add_library(r, dirs, path ? path : file, NULL);
        free(path);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- failures, bytes ---- */

static int fail(struct knowndlls_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct knowndlls_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(r->error);
    if (vasprintf(&r->error, fmt, ap) < 0)
        r->error = NULL;
    va_end(ap);
    return -1;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static void to_hex(const unsigned char *md, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ---- checksums, on a second thread while the copies go on ---- */

/* One library's bytes waiting for their SHA-256; the mapping is the hasher's to unmap. */
struct hash_job {
    struct hash_job *next;
    void *data;
    size_t len, index; /* index: into the result's list */
    char hex[65];
};

struct hasher {
    pthread_mutex_t lock;
    pthread_cond_t more;
    struct hash_job *head, *tail; /* every job, in order */
    struct hash_job *next;        /* the first one nobody has taken */
    bool closed, threaded;
    pthread_t thread;
};

static struct hash_job *take_job(struct hasher *h, bool wait)
{
    pthread_mutex_lock(&h->lock);
    while (wait && !h->next && !h->closed)
        pthread_cond_wait(&h->more, &h->lock);
    struct hash_job *j = h->next;
    if (j)
        h->next = j->next;
    pthread_mutex_unlock(&h->lock);
    return j;
}

/* OpenSSL's SHA-256 (it uses the CPU's SHA instructions), loaded on first use: the
 * checksums are for smssctl query, and libcrypto's relocations would otherwise cost every
 * smss start, the master's and each session child instance's, a few milliseconds. */
typedef unsigned char *(*sha256_fn)(const unsigned char *, size_t, unsigned char *);

static sha256_fn sha256_loaded;

static void load_sha256_once(void)
{
    void *lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    sha256_loaded = lib ? (sha256_fn)dlsym(lib, "SHA256") : NULL;
    if (!sha256_loaded)
        log_warning("KnownDLLs: no SHA-256 (libcrypto.so.3: %s); checksums left empty",
                    dlerror());
}

/* The hashing thread and the caller may both get here first. */
static sha256_fn load_sha256(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, load_sha256_once);
    return sha256_loaded;
}

static void hash_job(struct hash_job *j)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    sha256_fn sha256 = load_sha256();
    if (!sha256) {
        j->hex[0] = '\0';
        return;
    }
    sha256(j->data, j->len, md);
    to_hex(md, sizeof md, j->hex);
}

static void *hash_worker(void *arg)
{
    struct hasher *h = arg;
    for (struct hash_job *j; (j = take_job(h, true));)
        hash_job(j);
    return NULL;
}

static void hasher_start(struct hasher *h)
{
    *h = (struct hasher){.lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER};
    /* Without a thread the work is done all the same, in hasher_finish. */
    h->threaded = pthread_create(&h->thread, NULL, hash_worker, h) == 0;
}

static int hasher_add(struct hasher *h, void *data, size_t len, size_t index)
{
    struct hash_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    *j = (struct hash_job){.data = data, .len = len, .index = index};
    pthread_mutex_lock(&h->lock);
    if (h->tail)
        h->tail->next = j;
    else
        h->head = j;
    h->tail = j;
    if (!h->next)
        h->next = j;
    pthread_cond_signal(&h->more);
    pthread_mutex_unlock(&h->lock);
    return 0;
}

/* No more jobs: help with what is left, wait for the worker, give the digests to r
 * (NULL: a failed snapshot, digests dropped) and unmap everything. */
static void hasher_finish(struct hasher *h, struct knowndlls_result *r)
{
    pthread_mutex_lock(&h->lock);
    h->closed = true;
    pthread_cond_broadcast(&h->more);
    pthread_mutex_unlock(&h->lock);
    for (struct hash_job *j; (j = take_job(h, false));)
        hash_job(j);
    if (h->threaded)
        pthread_join(h->thread, NULL);
    for (struct hash_job *j = h->head, *next; j; j = next) {
        next = j->next;
        if (r)
            memcpy(r->v[j->index].sha256, j->hex, sizeof j->hex);
        munmap(j->data, j->len);
        free(j);
    }
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->more);
}

/* ---- copying ---- */

/* The whole file, mapped; a boot failure when it is not a non-empty regular file. */
static void *map_library(struct knowndlls_result *r, const struct knowndll *k, size_t *len)
{
    int fd = open(k->source, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        fail(r, "KnownDLL %s: cannot read it: %s", k->source, strerror(e));
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size == 0) {
        close(fd);
        fail(r, "KnownDLL %s: not an ELF shared object: %s", k->source,
             S_ISREG(st.st_mode) ? "empty file" : "not a regular file");
        return NULL;
    }
    *len = (size_t)st.st_size;
    void *data = mmap(NULL, *len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (data == MAP_FAILED) {
        fail(r, "KnownDLL %s: cannot map it: %s", k->source, strerror(errno));
        return NULL;
    }
    return data;
}

static int write_copy(struct knowndlls_result *r, struct knowndll *k, const void *data, size_t len)
{
    if (asprintf(&k->snapshot, "%s/%s", r->snapshot_dir, k->name) < 0) {
        k->snapshot = NULL;
        return fail(r, "KnownDLLs: out of memory");
    }
    int out = open(k->snapshot, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0444);
    int rc = out < 0 ? -1 : write_all(out, data, len);
    int e = errno;
    if (out >= 0 && (fchmod(out, 0444) < 0 || close(out) < 0) && rc == 0)
        rc = -1, e = errno;
    if (rc < 0)
        return fail(r, "KnownDLL %s: cannot copy it to %s: %s", k->source, k->snapshot, strerror(e));
    k->size = len;
    return 0;
}

/* Copy a library in the kernel (sendfile: page cache to the snapshot, no mapping of the
 * source), then inspect the copy: the bytes checked are the bytes processes will load,
 * and only its headers and dynamic section are touched. The boot path. */
static int snapshot_one_sent(struct knowndlls_result *r, struct knowndll *k,
                             struct strlist *needed)
{
    int in = open(k->source, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (in < 0 || fstat(in, &st) < 0) {
        int e = errno;
        if (in >= 0)
            close(in);
        return fail(r, "KnownDLL %s: cannot read it: %s", k->source, strerror(e));
    }
    if (!S_ISREG(st.st_mode) || st.st_size == 0) {
        close(in);
        return fail(r, "KnownDLL %s: not an ELF shared object: %s", k->source,
                    S_ISREG(st.st_mode) ? "empty file" : "not a regular file");
    }
    if (asprintf(&k->snapshot, "%s/%s", r->snapshot_dir, k->name) < 0) {
        k->snapshot = NULL;
        close(in);
        return fail(r, "KnownDLLs: out of memory");
    }
    int out = open(k->snapshot, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0444);
    size_t len = (size_t)st.st_size, done = 0;
    while (out >= 0 && done < len) {
        ssize_t n = sendfile(out, in, NULL, len - done);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            break;
        }
        done += (size_t)n;
    }
    int e = errno;
    close(in);
    void *data = out >= 0 && done == len ? mmap(NULL, len, PROT_READ, MAP_SHARED, out, 0) : MAP_FAILED;
    if (data == MAP_FAILED) {
        if (done == len)
            e = errno;
        if (out >= 0)
            close(out);
        unlink(k->snapshot);
        return fail(r, "KnownDLL %s: cannot copy it to %s: %s", k->source, k->snapshot,
                    done < len && e == 0 ? "the file shrank while it was copied" : strerror(e));
    }
    char *why = NULL;
    int rc = knowndll_inspect(data, len, needed, &why);
    munmap(data, len);
    if (rc < 0) {
        fail(r, "KnownDLL %s: not an ELF shared object for this machine: %s", k->source,
             why ? why : "out of memory");
        unlink(k->snapshot);
    } else if (fchmod(out, 0444) < 0) {
        rc = fail(r, "KnownDLL %s: cannot make its copy read-only: %s", k->source, strerror(errno));
    }
    free(why);
    close(out);
    if (rc == 0)
        k->size = len;
    return rc;
}

/* Verify and copy library i; its needs go to needed, its bytes to the hasher. */
static int snapshot_one(struct knowndlls_result *r, size_t i, struct strlist *needed,
                        struct hasher *h)
{
    struct knowndll *k = &r->v[i];
    if (!h)
        return snapshot_one_sent(r, k, needed);
    size_t len = 0;
    void *data = map_library(r, k, &len);
    if (!data)
        return -1;
    char *why = NULL;
    int rc = knowndll_inspect(data, len, needed, &why);
    if (rc < 0)
        fail(r, "KnownDLL %s: not an ELF shared object for this machine: %s", k->source,
             why ? why : "out of memory");
    free(why);
    if (rc == 0)
        rc = write_copy(r, k, data, len);
    if (rc == 0 && h && hasher_add(h, data, len, i) == 0)
        return 0;
    if (rc == 0 && h) { /* no memory for a job: checksum here */
        struct hash_job j = {.data = data, .len = len};
        hash_job(&j);
        memcpy(k->sha256, j.hex, sizeof j.hex);
    }
    munmap(data, len);
    return rc;
}

/* Walk the list: each library's needs join it (unless excluded), and are copied in turn. */
static int snapshot_list(struct knowndlls_result *r, const struct smss_config *c,
                         const struct strlist *dirs, struct hasher *h)
{
    for (size_t i = 0; i < r->n; i++) {
        struct strlist needed = STRLIST_INIT;
        if (snapshot_one(r, i, &needed, h) < 0) {
            strlist_free(&needed);
            return -1;
        }
        for (size_t j = 0; j < needed.n; j++) {
            const char *name = needed.v[j];
            int rc = excluded(c, base_name(name), NULL) ? note_excluded(r, base_name(name), name)
                                                        : add_library(r, dirs, name, r->v[i].name);
            if (rc < 0) {
                strlist_free(&needed);
                return fail(r, "KnownDLLs: out of memory");
            }
        }
        strlist_free(&needed);
    }
    return 0;
}

static int snapshot_all(struct knowndlls_result *r, const struct smss_config *c,
                        const struct strlist *dirs, bool defer_checksums)
{
    if (defer_checksums)
        return snapshot_list(r, c, dirs, NULL);
    struct hasher h;
    hasher_start(&h);
    int rc = snapshot_list(r, c, dirs, &h);
    hasher_finish(&h, rc == 0 ? r : NULL);
    return rc;
}

int knowndlls_checksums(struct knowndlls_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct knowndll *k = &r->v[i];
        if (k->sha256[0] || !k->snapshot)
            continue;
        struct knowndll copy = {.source = k->snapshot};
        size_t len = 0;
        void *data = map_library(r, &copy, &len);
        if (!data)
            return -1;
        struct hash_job j = {.data = data, .len = len};
        hash_job(&j);
        memcpy(k->sha256, j.hex, sizeof j.hex);
        munmap(data, len);
    }
    return 0;
}

/* ---- the snapshot directory ---- */

int knowndlls_unmount(const char *snapshot_dir)
{
    if (umount2(snapshot_dir, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
        return 0;
    return errno == EINVAL || errno == ENOENT ? 0 : -1;
}

/* An empty, writable KnownDlls/ (a previous snapshot in the same namespace undone). */
static int fresh_dir(struct knowndlls_result *r)
{
    const char *dir = r->snapshot_dir;
    while (umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
        ; /* snapshots of earlier runs in this mount namespace, stacked */
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return fail(r, "KnownDLLs: cannot create %s: %s", dir, strerror(errno));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return fail(r, "KnownDLLs: cannot open %s: %s", dir, strerror(errno));
    if (fchmod(dfd, 0755) < 0) {
        int e = errno;
        close(dfd);
        return fail(r, "KnownDLLs: cannot make %s writable: %s", dir, strerror(e));
    }
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return fail(r, "KnownDLLs: cannot list %s: %s", dir, strerror(errno));
    }
    int rc = 0;
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_type != DT_DIR && unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT)
            rc = fail(r, "KnownDLLs: cannot remove the old %s/%s: %s", dir, de->d_name,
                      strerror(errno));
    closedir(d);
    return rc;
}

static int set_note(struct knowndlls_result *r, const char *what, int e)
{
    free(r->protection_note);
    if (asprintf(&r->protection_note, "%s: %s; the copies are read-only by mode only", what,
                 strerror(e)) < 0)
        r->protection_note = NULL;
    return 0;
}

/* Read-only bind mount of the directory onto itself (nosuid, nodev, exec allowed: the
 * loader maps these files executable). Otherwise mode 0555, and a noexec filesystem is a
 * boot failure: no process could load its libraries from there. */
static int protect(struct knowndlls_result *r)
{
    const char *dir = r->snapshot_dir;
    if (mount(dir, dir, "none", MS_BIND, NULL) < 0) {
        set_note(r, "read-only bind mount refused", errno);
    } else if (mount("none", dir, "none", MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
                     NULL) < 0) {
        int e = errno;
        umount2(dir, MNT_DETACH);
        set_note(r, "read-only remount refused", e);
    } else {
        r->protection = KNOWNDLLS_READONLY_MOUNT;
        return 0;
    }
    r->protection = KNOWNDLLS_READONLY_MODE;
    if (chmod(dir, 0555) < 0)
        return fail(r, "KnownDLLs: cannot make %s read-only: %s", dir, strerror(errno));
    struct statvfs sv;
    if (statvfs(dir, &sv) == 0 && (sv.f_flag & ST_NOEXEC))
        return fail(r, "KnownDLLs: %s is on a noexec filesystem and cannot be remounted (%s): "
                    "no process could load its libraries; put the runtime directory on an "
                    "executable filesystem", dir, r->protection_note ? r->protection_note : "");
    return 0;
}

int knowndlls_snapshot(struct knowndlls_result *r, const struct smss_config *c,
                       const struct sysenv *env, const char *runtime_dir)
{
    return knowndlls_snapshot_with(r, c, env, runtime_dir, NULL);
}

int knowndlls_snapshot_with(struct knowndlls_result *r, const struct smss_config *c,
                            const struct sysenv *env, const char *runtime_dir,
                            const struct knowndlls_options *o)
{
    if (asprintf(&r->snapshot_dir, "%s/KnownDlls", runtime_dir) < 0) {
        r->snapshot_dir = NULL;
        return fail(r, "KnownDLLs: out of memory");
    }
    if (c->known_dll_directory && *c->known_dll_directory) {
        r->dll_directory = env ? sysenv_expand(env, c->known_dll_directory)
                               : strdup(c->known_dll_directory);
        if (!r->dll_directory)
            return fail(r, "KnownDLLs: out of memory");
    }
    struct strlist dirs = STRLIST_INIT;
    int rc = search_dirs(&dirs, r->dll_directory) < 0 || add_configured(r, c, &dirs) < 0
                 ? fail(r, "KnownDLLs: out of memory")
                 : 0;
    if (rc == 0)
        rc = fresh_dir(r);
    if (rc == 0)
        rc = snapshot_all(r, c, &dirs, o && o->defer_checksums);
    if (rc == 0)
        rc = protect(r);
    strlist_free(&dirs);
    if (rc == 0)
        log_info("KnownDLLs: %zu libraries in %s (%s)", r->n, r->snapshot_dir,
                 r->protection == KNOWNDLLS_READONLY_MOUNT ? "read-only mount"
                 : r->protection_note                     ? r->protection_note
                                                          : "read-only mode");
    return rc;
}

/* ---- results ---- */

static json_t *dll_json(const struct knowndll *k)
{
    json_t *o = json_object();
    if (o && (json_set(o, "name", prep_json_string(k->name)) < 0 ||
              json_set(o, "source", prep_json_string(k->source)) < 0 ||
              json_set(o, "snapshot", prep_json_string(k->snapshot)) < 0 ||
              json_set(o, "needed_by", prep_json_string(k->needed_by)) < 0 ||
              json_set(o, "size", json_integer((json_int_t)k->size)) < 0 ||
              json_set(o, "sha256", k->sha256[0] ? json_string(k->sha256) : json_null()) < 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *knowndlls_to_json(const struct knowndlls_result *r)
{
    static const char *const prot[] = {"none", "read-only mount", "read-only mode"};
    json_t *o = json_object(), *list = json_array();
    for (size_t i = 0; o && list && i < r->n; i++)
        if (json_array_append_new(list, dll_json(&r->v[i])) < 0)
            goto fail;
    if (!o || !list || json_set(o, "dll_directory", prep_json_string(r->dll_directory)) < 0 ||
        json_set(o, "snapshot_dir", prep_json_string(r->snapshot_dir)) < 0 ||
        json_set(o, "protection", json_string(prot[r->protection])) < 0 ||
        json_set(o, "protection_note", prep_json_string(r->protection_note)) < 0 ||
        json_set(o, "excluded", json_strlist(&r->excluded)) < 0 ||
        json_set(o, "missing", json_strlist(&r->missing)) < 0 ||
        json_set(o, "error", prep_json_string(r->error)) < 0)
        goto fail;
    if (json_set(o, "dlls", list) < 0) {
        list = NULL;
        goto fail;
    }
    return o;
fail:
    json_decref(list);
    json_decref(o);
    return NULL;
}

void knowndlls_result_free(struct knowndlls_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].name);
        free(r->v[i].source);
        free(r->v[i].snapshot);
        free(r->v[i].needed_by);
    }
    free(r->v);
    free(r->dll_directory);
    free(r->snapshot_dir);
    free(r->protection_note);
    free(r->error);
    strlist_free(&r->excluded);
    strlist_free(&r->missing);
    *r = (struct knowndlls_result)KNOWNDLLS_RESULT_INIT;
}
