/* KnownDLLs: the listed shared libraries and the closure of their DT_NEEDED entries,
 * verified as ELF shared objects for this machine and copied once at boot into a
 * read-only snapshot, <runtime_dir>/KnownDlls/, which every process smss starts searches
 * first (LD_LIBRARY_PATH, see sysenv.h). A library replaced on disk after boot does not
 * reach those processes.
 *
 * As NT: the entries are KnownDLLs\DllDirectory (expanded against the system environment)
 * and every other value (name → file), minus ExcludeFromKnownDlls (value name or file
 * name, without case); each library's needs are added to the list and checked in turn
 * (excluded names stay out); a missing file is skipped without complaint; a file that is
 * not a shared object for this machine fails the boot (the caller turns the error into a
 * system crash naming the file).
 *
 * Dependencies are looked up in DllDirectory, then in the directories of /etc/ld.so.conf
 * (its include lines followed, in order), then in the directories the dynamic loader
 * trusts. The snapshot is protected by a read-only bind mount of the directory onto
 * itself; where mounting is not allowed, the copies are left read-only by mode and the
 * result says why. docs/PREPARATION.md has the details. */
#ifndef SMSS_KNOWNDLLS_H
#define SMSS_KNOWNDLLS_H
#include "buf.h"
#include "config.h"
#include "sysenv.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct knowndll {
    char *name;        /* the file name processes ask for (libc.so.6) */
    char *source;      /* where it was read from at boot */
    char *snapshot;    /* its copy in KnownDlls/ */
    char *needed_by;   /* NULL: listed in the configuration; else the library needing it */
    uint64_t size;
    char sha256[65];   /* of the bytes copied, lower-case hex; "" until computed */
};

enum knowndlls_protection {
    KNOWNDLLS_UNPROTECTED,  /* nothing copied yet */
    KNOWNDLLS_READONLY_MOUNT,
    KNOWNDLLS_READONLY_MODE,
};

struct knowndlls_result {
    char *dll_directory;          /* DllDirectory, expanded; NULL when not configured */
    char *snapshot_dir;           /* <runtime_dir>/KnownDlls */
    struct knowndll *v;           /* in the order they were found */
    size_t n, cap;
    struct strlist excluded;      /* "name (file)" left out by ExcludeFromKnownDlls */
    struct strlist missing;       /* files not found: skipped */
    enum knowndlls_protection protection;
    char *protection_note;        /* why a read-only mount could not be made */
    char *error;                  /* the boot failure, naming the file (when -1) */
};
#define KNOWNDLLS_RESULT_INIT {0}

/* Verify one file: an ELF shared object of this machine's class, byte order and
 * e_machine, whose dynamic section can be read. Appends its DT_NEEDED names to needed
 * (when not NULL). 0; or -1 with *why (malloc'd) saying what is wrong. The data is the
 * whole file. */
int knowndll_inspect(const void *data, size_t len, struct strlist *needed, char **why);

/* Build the snapshot. env expands DllDirectory (may be NULL). 0: done (r says what);
 * -1: a boot failure, r->error names the file and the reason. The checksums are computed
 * on a second thread while the copies are written. */
int knowndlls_snapshot(struct knowndlls_result *r, const struct smss_config *c,
                       const struct sysenv *env, const char *runtime_dir);

struct knowndlls_options {
    /* Leave the checksums out of boot (sha256 stays ""): knowndlls_checksums computes
     * them later from the read-only copies, the very bytes processes load. Saves about
     * 0.6 ms per MB of libraries (SHA-256 at ~1.7 GB/s) on the boot path. */
    bool defer_checksums;
};
int knowndlls_snapshot_with(struct knowndlls_result *r, const struct smss_config *c,
                            const struct sysenv *env, const char *runtime_dir,
                            const struct knowndlls_options *o);
/* The checksums still missing, from the snapshot copies. 0, or -1 with r->error. */
int knowndlls_checksums(struct knowndlls_result *r);

/* Undo the read-only mount of a snapshot (tests, benchmarks, a second boot in the same
 * mount namespace). 0 or -1 with errno; not mounted is not an error. */
int knowndlls_unmount(const char *snapshot_dir);

json_t *knowndlls_to_json(const struct knowndlls_result *r);
void knowndlls_result_free(struct knowndlls_result *r);

#endif
