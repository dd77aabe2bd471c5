/* Paging files: Memory Management\PagingFiles as Linux swap files.
 *
 * Each entry "path [min [max]]" (MB, numbers in any base, at most 16) becomes a swap file
 * of min MB: allocated without holes (fallocate; zeros written where the filesystem has
 * no fallocate), mode 0600, a version-1 swap header with a UUID and the label
 * "smss-pagefile", then swapon(2). Linux swap files do not grow, so max is recorded and
 * reported only. No sizes (or both zero) = system-managed, NT's formula from the RAM size.
 * An existing swap file of the right size is reused; one already active is left alone.
 * The size is bounded by the free space minus a reserve (the larger of 64 MB and 1% of
 * the filesystem), lowering the minimum in 16 MB steps as NT does. Paths: a Linux path is
 * taken as it is; "?:\name" is the first suitable filesystem among the candidates (the
 * root filesystem, then the state directory: not tmpfs, ramfs or overlayfs), and any
 * other NT path "X:\dir\name" (or "\??\X:\...") is dir/name on the root filesystem.
 * Never fatal: every failure, including a refused activation (EPERM in a user namespace,
 * EINVAL on tmpfs), is reported in the result with the reason. */
#ifndef SMSS_PAGEFILE_H
#define SMSS_PAGEFILE_H
#include "config.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define PAGEFILE_LABEL "smss-pagefile"
#define PAGEFILE_STEP_MB 16

enum pagefile_state {
    PAGEFILE_ACTIVE,          /* swapon succeeded */
    PAGEFILE_ALREADY_ACTIVE,  /* it was in /proc/swaps: left alone */
    PAGEFILE_NOT_ACTIVATED,   /* created (or reused), swapon refused */
    PAGEFILE_CREATED,         /* created, activation not asked for */
    PAGEFILE_FAILED,          /* not created */
};

struct pagefile {
    char *config;             /* the entry as configured (its path) */
    char *path;               /* the Linux file */
    uint64_t min_mb, max_mb;  /* wanted (after the formula and min/max rules) */
    uint64_t size_mb;         /* created */
    bool system_managed, reused;
    enum pagefile_state state;
    int errnum;               /* the failing step's errno */
    char *reason;             /* why failed / not activated */
};

struct pagefile_result {
    struct pagefile *v;
    size_t n;
    bool none;                /* an empty PagingFiles value: no paging file */
    uint64_t ram_mb;
};
#define PAGEFILE_RESULT_INIT {0}

struct pagefile_options {
    uint64_t ram_mb;                /* 0: this machine's (sysinfo) */
    const char *const *any_dirs;    /* candidates for '?', NULL-terminated; NULL: "/", state dir */
    const char *state_dir;          /* the second default candidate */
    int64_t reserve_mb;             /* < 0: the default reserve */
    bool no_activate;               /* create only (tests of the file itself) */
};

/* Parse one PagingFiles string ("path [min [max]]", numbers as strtoul base 0). 0, or
 * -1 with *why (static text) for an empty path or a number that is not one. */
int pagefile_parse(const char *text, struct sm_paging_file *out, const char **why);
/* NT's system-managed sizes for a RAM size, in MB (pure). */
void pagefile_nt_sizes(uint64_t ram_mb, uint64_t *min_mb, uint64_t *max_mb);
/* The sizes an entry asks for: the formula when system-managed, max raised to min. */
void pagefile_entry_sizes(const struct sm_paging_file *e, uint64_t ram_mb, uint64_t *min_mb,
                          uint64_t *max_mb);
/* The size to create (MB): min lowered in 16 MB steps until it fits in usable_mb (free
 * space minus the reserve, plus an existing file's size); 0 when nothing fits. */
uint64_t pagefile_fit(uint64_t min_mb, uint64_t usable_mb);
/* The reserve kept free on a filesystem of fs_mb MB. */
uint64_t pagefile_reserve_mb(uint64_t fs_mb);
/* The Linux path for a configured path; malloc'd, NULL with errno. */
char *pagefile_linux_path(const char *config_path, const struct pagefile_options *o);
/* Write a version-1 swap header (page_size bytes) for a file of size bytes. */
void pagefile_swap_header(unsigned char *page, size_t page_size, uint64_t size,
                          const unsigned char uuid[16], const char *label);

/* Create and activate the configured paging files (NT's default "?:\pagefile.sys"
 * system-managed when the value is absent). 0 (r says what happened to each), or -1
 * only when out of memory. */
int pagefile_setup(struct pagefile_result *r, const struct smss_config *c,
                   const struct pagefile_options *o);
/* swapoff every file this result activated (tests, orderly shutdown). */
void pagefile_deactivate(struct pagefile_result *r);

const char *pagefile_state_name(enum pagefile_state s);
json_t *pagefile_to_json(const struct pagefile_result *r);
void pagefile_result_free(struct pagefile_result *r);

#endif
