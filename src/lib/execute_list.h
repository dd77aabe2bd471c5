/* Execute lists: BootExecute (before the pending renames), SetupExecute (just before the
 * subsystems) and Execute (after them), with NT's command grammar.
 *
 * A line is split on blanks. Leading keywords, without case: "debug" skips the entry,
 * "async" starts it without waiting, "autocheck" marks the disk checker. The next word is
 * the image, searched in the environment's Path (spawn_search_path); the image's
 * directory becomes the working directory; the program receives the line's words from the
 * image on (argv[0] is the image word as written). Entries run one after the other and
 * each is waited for unless async; every outcome is logged and kept in the result. A
 * program that cannot be found is logged and skipped; with autocheck the message is NT's
 * "program not found - skipping AUTOCHECK".
 *
 * The disk checker: NT's "autocheck autochk *" (autochk or autochk.exe, any case) runs
 * "fsck -A -M -a -T" on Linux: every filesystem /etc/fstab lists for checking, skipping
 * mounted ones (-M), repairing only what is safe without questions (-a). With nothing to
 * check (an empty fstab, everything mounted) it does nothing and exits 0. An argument
 * other than '*' that is an absolute Linux path (a device) is checked instead of -A; NT
 * volume names and autochk switches have no Linux meaning and are dropped (logged). */
#ifndef SMSS_EXECUTE_LIST_H
#define SMSS_EXECUTE_LIST_H
#include "buf.h"
#include "sysenv.h"
#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#define EXECUTE_AUTOCHECK_TOOL "fsck"

enum exec_state {
    EXEC_EXITED,        /* waited for: status holds its wait status */
    EXEC_STARTED_ASYNC, /* async: started, not waited for */
    EXEC_SKIPPED_DEBUG, /* the debug keyword */
    EXEC_NOT_FOUND,     /* no such program in Path: skipped */
    EXEC_FAILED,        /* found but could not be started (reason says which step) */
    EXEC_EMPTY,         /* nothing but keywords, or a blank line */
    EXEC_NOTHING_TO_CHECK, /* autocheck of every filesystem, and fstab has none to check */
};

struct exec_item {
    char *line;          /* as configured */
    bool debug, async, autocheck;
    char *image;         /* the path run, when found */
    char *cwd;           /* its directory */
    char **argv;         /* what it received, NULL-terminated */
    pid_t pid;
    int status;          /* wait status (EXEC_EXITED) */
    enum exec_state state;
    char *reason;        /* for skipped and failed entries */
};

struct exec_result {
    char *list;          /* "BootExecute", ... */
    struct exec_item *v;
    size_t n;
};
#define EXEC_RESULT_INIT {0}

struct execute_options {
    /* How a synchronous entry is waited for; NULL: waitpid. The daemon passes its own, so
     * a child is reaped in one place only. Returns 0 with *status, or -1 with errno. */
    int (*wait_child)(pid_t pid, int *status, void *ctx);
    void *ctx;
    bool set_nice;       /* every process smss starts runs at the configured nice */
    int nice;
};

/* One line's grammar: keywords, then argv (the words from the image on), NULL-terminated
 * and malloc'd (free each and the array). 0, or -1 (ENOMEM). *argv is NULL for a line of
 * keywords only. */
int execute_parse(const char *line, bool *debug, bool *async, bool *autocheck, char ***argv);
/* For autocheck: the disk checker's argv for autochk's words, or NULL when the image is
 * not autochk (run it as it is). Malloc'd like execute_parse's. */
char **execute_autocheck_argv(char *const *argv);

/* Run a list. env gives the environment (and its Path); NULL: the caller's. 0 (the
 * result holds each entry's outcome; failures are never fatal), or -1 (ENOMEM). */
int execute_list_run(struct exec_result *r, const char *list_name, const struct strlist *lines,
                     const struct sysenv *env, const struct execute_options *o);

const char *exec_state_name(enum exec_state s);
/* How many filesystems fsck -A -M would check: fstab entries with a pass number that
 * are not mounted (fsck -M leaves mounted ones alone). fstab NULL = /etc/fstab;
 * mountinfo NULL = /proc/self/mountinfo. -1 when fstab cannot be read. */
int execute_autocheck_pending(const char *fstab, const char *mountinfo);
json_t *execute_list_to_json(const struct exec_result *r);
void execute_list_result_free(struct exec_result *r);

#endif
