#include "execute_list.h"
#include "buf.h"
#include "log.h"
#include "process_spawn.h"

#include "json_util.h"
#include <errno.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

static void free_argv(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* Append a copy of s (n bytes) to a NULL-terminated array. */
static int argv_push(char ***argv, size_t *n, const char *s, size_t len)
{
    char **v = realloc(*argv, (*n + 2) * sizeof *v);
    if (!v)
        return -1;
    *argv = v;
    if (!(v[*n] = strndup(s, len)))
        return -1;
    v[++*n] = NULL;
    return 0;
}

static bool keyword(const char *w, size_t n, const char *k)
{
    return n == strlen(k) && strncasecmp(w, k, n) == 0;
}

int execute_parse(const char *line, bool *debug, bool *async, bool *autocheck, char ***argv)
{
    *debug = *async = *autocheck = false;
    *argv = NULL;
    size_t argc = 0;
    bool keywords = true;
    for (const char *p = line + strspn(line, " \t"); *p; p += strspn(p, " \t")) {
        size_t n = strcspn(p, " \t");
        if (keywords && keyword(p, n, "debug"))
            *debug = true;
        else if (keywords && keyword(p, n, "async"))
            *async = true;
        else if (keywords && keyword(p, n, "autocheck"))
            *autocheck = true;
        else {
            keywords = false;
            if (argv_push(argv, &argc, p, n) < 0) {
                free_argv(*argv);
                *argv = NULL;
                return -1;
            }
        }
        p += n;
    }
    return 0;
}

static bool is_autochk(const char *image)
{
    const char *b = strrchr(image, '\\');
    b = b ? b + 1 : image;
    const char *s = strrchr(b, '/');
    b = s ? s + 1 : b;
    return strcasecmp(b, "autochk") == 0 || strcasecmp(b, "autochk.exe") == 0;
}

char **execute_autocheck_argv(char *const *argv)
{
    if (!argv || !argv[0] || !is_autochk(argv[0]))
        return NULL;
    static const char *const base[] = {EXECUTE_AUTOCHECK_TOOL, "-M", "-a", "-T"};
    char **out = NULL;
    size_t n = 0;
    bool all = argv[1] == NULL, ok = true;
    for (size_t i = 0; i < sizeof base / sizeof base[0] && ok; i++)
        ok = argv_push(&out, &n, base[i], strlen(base[i])) == 0;
    for (size_t i = 1; argv[i] && ok; i++) {
        if (strcmp(argv[i], "*") == 0)
            all = true;
        else if (argv[i][0] == '/' && strchr(argv[i] + 1, '/'))
            ok = argv_push(&out, &n, argv[i], strlen(argv[i])) == 0;
        else
            log_info("autocheck: \"%s\" has no Linux meaning: dropped", argv[i]);
    }
    if (ok && (all || n == sizeof base / sizeof base[0])) {
        /* '*', or no device left: every filesystem fstab lists (-A), devices dropped. */
        for (size_t i = sizeof base / sizeof base[0]; i < n; i++)
            free(out[i]);
        n = sizeof base / sizeof base[0];
        out[n] = NULL;
        ok = argv_push(&out, &n, "-A", 2) == 0;
    }
    if (!ok) {
        free_argv(out);
        return NULL;
    }
    return out;
}

/* Whether a mount point is mounted, from the mountinfo text. */
static bool mounted(const char *mountinfo, const char *dir)
{
    size_t n = strlen(dir);
    for (const char *line = mountinfo; line && *line;) {
        /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ..." */
        const char *p = line;
        for (int field = 0; field < 4 && p; field++) {
            p = strchr(p, ' ');
            p = p ? p + 1 : NULL;
        }
        if (p && strncmp(p, dir, n) == 0 && (p[n] == ' ' || p[n] == '\n'))
            return true;
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return false;
}

int execute_autocheck_pending(const char *fstab, const char *mountinfo)
{
    FILE *f = setmntent(fstab ? fstab : "/etc/fstab", "re");
    if (!f)
        return errno == ENOENT ? 0 : -1; /* no fstab: nothing is listed to check */
    struct buf mi = BUF_INIT;
    if (read_file(mountinfo ? mountinfo : "/proc/self/mountinfo", &mi) < 0) {
        endmntent(f);
        buf_free(&mi);
        return -1;
    }
    int pending = 0;
    struct mntent *e;
    while ((e = getmntent(f)))
        if (e->mnt_passno > 0 && !mounted(mi.p ? mi.p : "", e->mnt_dir))
            pending++;
    endmntent(f);
    buf_free(&mi);
    return pending;
}

/* ---- running ---- */

static int note(struct exec_item *it, enum exec_state s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int note(struct exec_item *it, enum exec_state s, const char *fmt, ...)
{
    it->state = s;
    va_list ap;
    va_start(ap, fmt);
    free(it->reason);
    if (vasprintf(&it->reason, fmt, ap) < 0)
        it->reason = NULL;
    va_end(ap);
    return 0;
}

static int default_wait(pid_t pid, int *status, void *ctx)
{
    (void)ctx;
    pid_t w;
    do
        w = waitpid(pid, status, 0);
    while (w < 0 && errno == EINTR);
    return w == pid ? 0 : -1;
}

static void log_outcome(const char *list, const struct exec_item *it)
{
    if (it->state == EXEC_EXITED && WIFEXITED(it->status))
        log_info("%s: \"%s\": exited with status %d", list, it->line, WEXITSTATUS(it->status));
    else if (it->state == EXEC_EXITED && WIFSIGNALED(it->status))
        log_warning("%s: \"%s\": killed by signal %d", list, it->line, WTERMSIG(it->status));
    else if (it->state == EXEC_STARTED_ASYNC)
        log_info("%s: \"%s\": started, pid %d, not waited for (async)", list, it->line, (int)it->pid);
    else if (it->state == EXEC_SKIPPED_DEBUG || it->state == EXEC_EMPTY ||
             it->state == EXEC_NOTHING_TO_CHECK)
        log_info("%s: \"%s\": %s", list, it->line, it->reason ? it->reason : "skipped");
    else
        log_warning("%s: \"%s\": %s", list, it->line, it->reason ? it->reason : "failed");
}

static char *dir_of(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s)
        return strdup(".");
    return s == path ? strdup("/") : strndup(path, (size_t)(s - path));
}

static int start(struct exec_item *it, const struct sysenv *env, const struct execute_options *o)
{
    struct spawn_request req = SPAWN_REQUEST_INIT;
    req.path = it->image;
    req.argv = it->argv;
    req.envp = env && env->v ? env->v : NULL;
    req.cwd = it->cwd;
    req.set_nice = o && o->set_nice;
    req.nice = o ? o->nice : 0;
    struct spawn_error err;
    if (spawn_process(&req, &it->pid, &err) < 0)
        return note(it, EXEC_FAILED, "cannot start %s: %s: %s", it->image, err.step,
                    strerror(err.errnum));
    if (it->async)
        return note(it, EXEC_STARTED_ASYNC, "not waited for");
    int (*wait_child)(pid_t, int *, void *) = o && o->wait_child ? o->wait_child : default_wait;
    if (wait_child(it->pid, &it->status, o ? o->ctx : NULL) < 0)
        return note(it, EXEC_FAILED, "cannot wait for pid %d: %s", (int)it->pid, strerror(errno));
    it->state = EXEC_EXITED;
    return 0;
}

static int run_one(struct exec_item *it, const struct sysenv *env, const struct execute_options *o)
{
    if (execute_parse(it->line, &it->debug, &it->async, &it->autocheck, &it->argv) < 0)
        return -1;
    if (!it->argv)
        return note(it, EXEC_EMPTY, "no program named: skipped");
    if (it->debug)
        return note(it, EXEC_SKIPPED_DEBUG, "debug entry: skipped");
    if (it->autocheck) {
        char **checker = execute_autocheck_argv(it->argv);
        if (checker) {
            free_argv(it->argv);
            it->argv = checker;
            /* fsck -A -M checks the unmounted filesystems fstab gives a pass number; when
             * there is none, running it would only confirm that. */
            bool all = false;
            for (size_t i = 0; checker[i]; i++)
                all |= strcmp(checker[i], "-A") == 0;
            const char *fstab = env ? sysenv_get(env, "FSTAB_FILE") : NULL; /* as fsck reads */
            if (all && execute_autocheck_pending(fstab, NULL) == 0)
                return note(it, EXEC_NOTHING_TO_CHECK,
                            "no filesystem in /etc/fstab is waiting to be checked (every one "
                            "with a pass number is mounted): fsck not run");
        }
    }
    const char *path = env ? sysenv_get(env, "PATH") : getenv("PATH");
    it->image = spawn_search_path(it->argv[0], path ? path : "");
    if (!it->image) {
        if (errno == ENOMEM)
            return -1;
        return note(it, EXEC_NOT_FOUND, it->autocheck ? "program not found - skipping AUTOCHECK"
                                                      : "program not found in Path: skipped");
    }
    if (!(it->cwd = dir_of(it->image)))
        return -1;
    return start(it, env, o);
}

int execute_list_run(struct exec_result *r, const char *list_name, const struct strlist *lines,
                     const struct sysenv *env, const struct execute_options *o)
{
    if (!(r->list = strdup(list_name)))
        return -1;
    if (lines->n && !(r->v = calloc(lines->n, sizeof *r->v)))
        return -1;
    for (size_t i = 0; i < lines->n; i++) {
        struct exec_item *it = &r->v[r->n++];
        if (!(it->line = strdup(lines->v[i])) || run_one(it, env, o) < 0)
            return -1;
        log_outcome(list_name, it);
    }
    return 0;
}

const char *exec_state_name(enum exec_state s)
{
    static const char *const names[] = {"exited", "started (async)", "skipped (debug)",
                                        "not found", "failed", "empty", "nothing to check"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

static json_t *item_json(const struct exec_item *it)
{
    json_t *argv = json_array();
    for (size_t i = 0; argv && it->argv && it->argv[i]; i++)
        if (json_array_append_new(argv, prep_json_string(it->argv[i])) < 0) {
            json_decref(argv);
            argv = NULL;
        }
    bool exited = it->state == EXEC_EXITED;
    json_t *vals[] = {
        prep_json_string(it->line), json_string(exec_state_name(it->state)),
        json_boolean(it->debug), json_boolean(it->async), json_boolean(it->autocheck),
        prep_json_string(it->image), prep_json_string(it->cwd), argv,
        it->pid > 0 ? json_integer(it->pid) : json_null(),
        exited && WIFEXITED(it->status) ? json_integer(WEXITSTATUS(it->status)) : json_null(),
        exited && WIFSIGNALED(it->status) ? json_integer(WTERMSIG(it->status)) : json_null(),
        prep_json_string(it->reason)};
    static const char *const keys[] = {"line", "state", "debug", "async", "autocheck", "image",
                                       "cwd", "argv", "pid", "exit_status", "signal", "reason"};
    return json_object_of(keys, vals, sizeof keys / sizeof keys[0]);
}

json_t *execute_list_to_json(const struct exec_result *r)
{
    json_t *o = json_object(), *list = json_array();
    for (size_t i = 0; list && i < r->n; i++)
        if (json_array_append_new(list, item_json(&r->v[i])) < 0) {
            json_decref(list);
            list = NULL;
        }
    if (!o || !list || json_object_set_new(o, "list", prep_json_string(r->list)) < 0) {
        json_decref(list);
        json_decref(o);
        return NULL;
    }
    if (json_object_set_new(o, "entries", list) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void execute_list_result_free(struct exec_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct exec_item *it = &r->v[i];
        free(it->line);
        free(it->image);
        free(it->cwd);
        free(it->reason);
        free_argv(it->argv);
    }
    free(r->v);
    free(r->list);
    *r = (struct exec_result)EXEC_RESULT_INIT;
}
