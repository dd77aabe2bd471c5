/* Process creation: the one place where smss, csrss and wininit start programs.
 *
 * The child is set up in this order before exec: signal mask and dispositions reset
 * (the parent may block everything for signalfd), new POSIX session (and its controlling
 * terminal), cgroup, IPC
 * namespace, priority, user (groups, gid, uid), working directory, standard streams.
 * A failure in the child is reported to the parent (which step, errno) through a
 * close-on-exec pipe, so spawn_process either returns a running program or says why not.
 * With run, the child is a copy of the caller that runs a function after the same set-up
 * (how smss starts its child instances). */
#ifndef SMSS_PROCESS_SPAWN_H
#define SMSS_PROCESS_SPAWN_H
#include <stdbool.h>
#include <sys/types.h>

struct spawn_request {
    const char *path;        /* the executable; must be a path (see spawn_search_path) */
    char *const *argv;
    char *const *envp;       /* NULL: the caller's environment */
    const char *cwd;         /* NULL: inherit */
    bool set_nice;
    int nice;                /* applied when set_nice */
    bool new_session;        /* setsid(): the child leads a new POSIX session */
    bool controlling_tty;    /* with new_session: fd_in (a terminal) becomes the session's
                              * controlling terminal (TIOCSCTTY, taken over if need be) */
    int fd_in, fd_out, fd_err; /* dup2'ed to 0, 1, 2; -1 keeps the parent's */
    const char *user;        /* NULL: as the caller; else initgroups/setgid/setuid */
    int cgroup_fd;           /* -1, or a cgroup v2 directory the child joins */
    int ipc_ns_fd;           /* -1, or an IPC namespace the child enters (setns) */
    int mnt_ns_fd;           /* -1, or a mount namespace the child enters (setns) */
    int inherit_fd;          /* -1, or a descriptor the program keeps, same number (as an
                                NT handle passed to a child) */
    int (*run)(void *arg);   /* a copy of the caller (no exec) runs this, shown with argv
                                as its command line and envp as environ, every descriptor
                                but 0-2 and inherit_fd closed, and exits with what it
                                returns; where the kernel cannot rename a process, path is
                                executed with argv as without run */
    void *run_arg;
};

/* A request with every optional field at "inherit". */
#define SPAWN_REQUEST_INIT                                                                  \
    {                                                                                       \
        .fd_in = -1, .fd_out = -1, .fd_err = -1, .cgroup_fd = -1, .ipc_ns_fd = -1,         \
        .mnt_ns_fd = -1, .inherit_fd = -1                                                  \
    }

struct spawn_error {
    const char *step; /* "exec", "setuid", ... */
    int errnum;
};

/* Start the program. 0 with *pid set, or -1 with *err saying which step failed. */
int spawn_process(const struct spawn_request *r, pid_t *pid, struct spawn_error *err);

/* Find an image as NT does for execute lists: a name with a '/' is taken as it is;
 * otherwise each directory of search_path (':'-separated; NT's ';' accepted too) is
 * tried for an executable regular file. Returns a malloc'd path or NULL (errno ENOENT). */
char *spawn_search_path(const char *image, const char *search_path);

#endif
