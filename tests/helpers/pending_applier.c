/* Test driver: run the boot's pending-renames phase on a state directory, as smss does,
 * with fault injection for the crash and error tests.
 *
 *   pending_applier --state-dir DIR [--config FILE.reg] [--system-root DIR]
 *                   [--batch N] [--crash-at N] [--fail-at N --errno NAME [--step KIND]]
 *                   [--count-steps] [--swap-when PATH --swap-dir DIR --swap-target T]
 *
 * --config reads PendingFileRenameOperations, ProtectedPaths, AllowProtectedRenames and
 * DOS Devices (drive roots) from a .reg file. Steps are counted as pending_apply.h's fault
 * seam sees them (every step that changes the disk): --crash-at N kills the process with
 * SIGKILL before step N; --fail-at N makes step N (of --step KIND when given: write, fsync,
 * rename, unlink, create) fail with the errno; --swap-* replaces DIR by a symbolic link to
 * T just before the first step on PATH. Exit 0, or 1 when the report has an error. */
#include "config.h"
#include "log.h"
#include "ntpath.h"
#include "pending_apply.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct faults {
    long crash_at, fail_at, count;
    int fail_errno, step; /* step -1 = any */
    const char *swap_when, *swap_dir, *swap_target;
    bool swapped;
};

static int on_step(void *ctx, enum pending_step step, const char *what)
{
    struct faults *f = ctx;
    if (f->swap_when && !f->swapped && what && strcmp(what, f->swap_when) == 0) {
        char moved[4096];
        snprintf(moved, sizeof moved, "%s.orig", f->swap_dir);
        if (rename(f->swap_dir, moved) || symlink(f->swap_target, f->swap_dir))
            perror("swap");
        f->swapped = true;
    }
    if (f->step >= 0 && (int)step != f->step)
        return 0;
    f->count++;
    if (f->crash_at && f->count == f->crash_at)
        raise(SIGKILL);
    if (f->fail_at && f->count == f->fail_at)
        return f->fail_errno;
    return 0;
}

static int errno_named(const char *s)
{
    static const struct { const char *n; int e; } t[] = {
        {"ENOSPC", ENOSPC}, {"EIO", EIO}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS}, {"EPERM", EPERM}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (strcmp(s, t[i].n) == 0)
            return t[i].e;
    return atoi(s);
}

static int step_named(const char *s)
{
    static const char *const names[] = {"write", "fsync", "rename", "unlink", "create", "truncate"};
    for (int i = 0; i < 6; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"state-dir", 1, NULL, 's'}, {"config", 1, NULL, 'c'},     {"system-root", 1, NULL, 'r'},
        {"batch", 1, NULL, 'b'},     {"crash-at", 1, NULL, 'k'},   {"fail-at", 1, NULL, 'f'},
        {"errno", 1, NULL, 'e'},     {"step", 1, NULL, 't'},       {"count-steps", 0, NULL, 'n'},
        {"swap-when", 1, NULL, 'w'}, {"swap-dir", 1, NULL, 'd'},   {"swap-target", 1, NULL, 'g'},
        {NULL, 0, NULL, 0}};
    const char *state = NULL, *config = NULL, *sysroot = NULL;
    struct faults f = {.step = -1, .fail_errno = EIO};
    struct pending_options o = {.fault = on_step, .fault_ctx = &f};
    bool count = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 's': state = optarg; break;
        case 'c': config = optarg; break;
        case 'r': sysroot = optarg; break;
        case 'b': o.batch_max = (size_t)atol(optarg); break;
        case 'k': f.crash_at = atol(optarg); break;
        case 'f': f.fail_at = atol(optarg); break;
        case 'e': f.fail_errno = errno_named(optarg); break;
        case 't': f.step = step_named(optarg); break;
        case 'n': count = true; break;
        case 'w': f.swap_when = optarg; break;
        case 'd': f.swap_dir = optarg; break;
        case 'g': f.swap_target = optarg; break;
        default: return 2;
        }
    }
    if (!state) {
        fprintf(stderr, "pending_applier: --state-dir is required\n");
        return 2;
    }
    log_init("pending_applier", LOG_LEVEL_INFO);
    struct smss_config c;
    memset(&c, 0, sizeof c);
    struct ntpath_rules rules;
    bool have_config = false;
    if (config) {
        struct reg_store *store = reg_store_new();
        struct diags d = DIAGS_INIT;
        struct smss_config_sources src = {.reg_file = config};
        if (smss_config_load_store(store, &src, &d) || smss_config_from_store(&c, store, &d)) {
            diags_print(&d, 2);
            return 2;
        }
        diags_free(&d);
        reg_store_free(store);
        have_config = true;
        o.allow_protected_renames = c.allow_protected_renames != 0;
        o.protected_paths = &c.protected_paths;
    }
    o.system_root = sysroot;
    if (ntpath_rules_from_config(&rules, have_config ? &c : NULL, sysroot))
        return 2;
    o.ntpath = &rules;
    struct pending_report rep;
    int rc = pending_apply_at_boot(state, have_config ? c.renames : NULL, have_config ? c.nrenames : 0,
                                   &o, &rep);
    if (count)
        printf("steps %ld\n", f.count);
    printf("done %zu failed %zu skipped %zu\n", rep.done, rep.failed, rep.skipped);
    pending_report_free(&rep);
    ntpath_rules_free(&rules);
    if (have_config)
        smss_config_free(&c);
    return rc ? 1 : 0;
}
