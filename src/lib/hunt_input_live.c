#include "hunt_live.h"
#include "smapi_client.h"
#include "buf.h"
#include "hunt_path.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct live_proc {
    int64_t pid, ppid;
    char state;  /* 'Z': a zombie has exited; it is not listed */
    bool kthread;
    int nice;
    int64_t start;
    long uid;
    char *exe, *cmdline, *comm;
    /* From processes.json. */
    int64_t creator;
    int session;
};

struct state_entry {
    int64_t pid, creator;
    int session;
    int64_t start; /* HUNT_TIME_UNKNOWN when absent or not understood */
};

/* ------------------------------------------------------------------ /proc files */

static char *read_small(const char *proc, int64_t pid, const char *what, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%lld/%s", proc, (long long)pid, what);
    struct buf b = BUF_INIT;
    if (read_file(path, &b) < 0) {
        buf_free(&b);
        return NULL;
    }
    *len = b.len;
    if (!b.p)
        buf_puts(&b, "");
    return buf_steal(&b);
}

static int64_t boot_time(const char *proc)
{
    char path[256];
    snprintf(path, sizeof path, "%s/stat", proc);
    FILE *f = fopen(path, "re");
    if (!f)
        return HUNT_TIME_UNKNOWN;
    char line[256];
    long long bt = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lld", &bt) == 1)
            break;
    fclose(f);
    return bt < 0 ? HUNT_TIME_UNKNOWN : (int64_t)bt * HUNT_SECOND;
}

/* Fields of /proc/PID/stat after the command name: ppid (4), nice (19), starttime (22). */
static bool parse_stat(const char *s, struct live_proc *p, int64_t btime, long tck)
{
    const char *open = strchr(s, '('), *close = strrchr(s, ')');
    if (!open || !close || close < open)
        return false;
    free(p->comm);
    p->comm = strndup(open + 1, (size_t)(close - open - 1));
    char state;
    long long ppid, start;
    unsigned long flags;
    long nice;
    if (sscanf(close + 2, "%c %lld %*d %*d %*d %*d %lu %*u %*u %*u %*u %*u %*u %*d %*d %*d %ld "
                          "%*d %*d %lld", &state, &ppid, &flags, &nice, &start) != 5)
        return false;
    p->kthread = (flags & 0x00200000) != 0; /* PF_KTHREAD */
    p->ppid = ppid;
    p->state = state;
    p->nice = (int)nice;
    p->start = btime == HUNT_TIME_UNKNOWN ? HUNT_TIME_UNKNOWN
                                          : btime + start * HUNT_SECOND / tck;
    return p->comm != NULL;
}

static long parse_uid(const char *status)
{
    const char *u = strstr(status, "\nUid:");
    long uid = -1;
    if (u)
        sscanf(u + 5, "%ld", &uid);
    return uid;
}

/* argv joined with blanks (NUL separators), trailing NULs dropped. */
static char *join_cmdline(char *raw, size_t len)
{
    while (len && raw[len - 1] == '\0')
        len--;
    for (size_t i = 0; i < len; i++)
        if (raw[i] == '\0')
            raw[i] = ' ';
    raw[len] = '\0';
    return raw;
}

/* The session smss gave the process: SMSS_SESSION_ID in its environment (smss puts it
 * in the environment of every process it starts; children inherit it). -1 when absent. */
static int environ_session(const char *proc, int64_t pid)
{
    size_t len;
    char *env = read_small(proc, pid, "environ", &len);
    int session = -1;
    static const char key[] = "SMSS_SESSION_ID=";
    for (size_t i = 0; env && i < len; i += strlen(env + i) + 1)
        if (!strncmp(env + i, key, sizeof key - 1)) {
            char *end;
            long v = strtol(env + i + sizeof key - 1, &end, 10);
            if (*end == '\0' && v >= 0 && v < 1000000)
                session = (int)v;
        }
    free(env);
    return session;
}

static bool read_proc(const char *proc, int64_t pid, int64_t btime, long tck,
                      struct live_proc *p)
{
    size_t len;
    *p = (struct live_proc){.pid = pid, .ppid = -1, .uid = -1, .creator = -1, .session = -1};
    char *stat = read_small(proc, pid, "stat", &len);
    bool ok = stat && parse_stat(stat, p, btime, tck);
    free(stat);
    if (!ok)
        return false;
    char *status = read_small(proc, pid, "status", &len);
    if (status)
        p->uid = parse_uid(status);
    free(status);
    char *raw = read_small(proc, pid, "cmdline", &len);
    if (raw && len)
        p->cmdline = join_cmdline(raw, len);
    else
        free(raw);
    p->session = environ_session(proc, pid);
    char path[256], target[4096];
    snprintf(path, sizeof path, "%s/%lld/exe", proc, (long long)pid);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n > 0) {
        target[n] = '\0';
        char *del = strstr(target, " (deleted)");
        if (del && del[10] == '\0')
            *del = '\0';
        p->exe = strdup(target);
    }
    return true;
}

static void live_free(struct live_proc *p)
{
    free(p->exe);
    free(p->cmdline);
    free(p->comm);
}

static int by_start(const void *a, const void *b)
{
    const struct live_proc *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* ------------------------------------------------------------------ processes.json */

static int64_t json_time(json_t *v)
{
    if (json_is_string(v))
        return hunt_time_parse(json_string_value(v));
    if (json_is_number(v)) {
        double s = json_number_value(v);
        if (s > 1e14)
            return (int64_t)s;               /* microseconds */
        if (s > 1e11)
            return (int64_t)(s * 1000);      /* milliseconds */
        if (s > 1e8)
            return (int64_t)(s * HUNT_SECOND);
    }
    return HUNT_TIME_UNKNOWN;
}

/* The running master's own records, through the SM API (smssctl tree's source): who
 * created each process, even when the creator has exited, and each one's session. */
static struct state_entry *ask_master(const char *dir, size_t *n, struct diags *d)
{
    struct smapi_client_error err;
    int fd = smapi_open(smapi_runtime_dir(dir), 2000, &err);
    struct smapi_process *recs = NULL;
    size_t count = 0;
    if (fd < 0)
        return NULL; /* no master running here: /proc alone */
    if (smapi_tree(fd, &recs, &count, &err) < 0) {
        diag_add(d, DIAG_WARNING, "SmApiPort", "the master did not give its process tree (%s); "
                 "creators and sessions come from /proc alone", err.message);
        close(fd);
        return NULL;
    }
    close(fd);
    struct state_entry *v = calloc(count + 1, sizeof *v);
    for (size_t i = 0; v && i < count; i++)
        v[(*n)++] = (struct state_entry){
            .pid = recs[i].pid,
            .creator = recs[i].creator_pid,
            .session = recs[i].session == SMAPI_SESSION_NONE ? -1 : (int)recs[i].session,
            .start = (int64_t)(recs[i].start_time_ns / 1000)};
    free(recs);
    return v;
}

/* The master's records: asked of the running master, else read from a saved
 * "smssctl tree --json" (processes.json in the runtime directory given). */
static struct state_entry *read_state(const char *dir, size_t *n, struct diags *d)
{
    *n = 0;
    struct state_entry *asked = ask_master(dir, n, d);
    if (asked)
        return asked;
    if (!dir)
        return NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/processes.json", dir);
    if (access(path, F_OK) < 0)
        return NULL;
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!json_is_array(root)) {
        diag_add(d, DIAG_WARNING, path, "%s: creators and sessions not read (expected a JSON "
                 "array of processes, as \"smssctl tree --json\" prints)",
                 root ? "not a JSON array" : err.text);
        json_decref(root);
        return NULL;
    }
    struct state_entry *v = calloc(json_array_size(root) + 1, sizeof *v);
    size_t i;
    json_t *e;
    json_array_foreach(root, i, e) {
        json_t *pid = json_object_get(e, "pid");
        if (!v || !json_is_integer(pid))
            continue;
        json_t *cr = json_object_get(e, "creator_pid"), *se = json_object_get(e, "session");
        v[*n] = (struct state_entry){
            .pid = json_integer_value(pid),
            .creator = json_is_integer(cr) ? json_integer_value(cr) : -1,
            .session = json_is_integer(se) ? (int)json_integer_value(se) : -1,
            .start = json_time(json_object_get(e, "start_time"))};
        (*n)++;
    }
    json_decref(root);
    return v;
}

/* Apply the state file: only to the process that still holds the PID (same start). */
static void apply_state(struct live_proc *p, const struct state_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].pid != p->pid)
            continue;
        if (v[i].start != HUNT_TIME_UNKNOWN && p->start != HUNT_TIME_UNKNOWN &&
            llabs(v[i].start - p->start) > 2 * HUNT_SECOND)
            return; /* the PID now names another process */
        p->creator = v[i].creator;
        if (v[i].session >= 0)
            p->session = v[i].session;
        return;
    }
}

/* ------------------------------------------------------------------ the snapshot */

static const char *user_name(long uid, char *buf, size_t size)
{
    if (uid < 0)
        return NULL;
    if (uid == 0)
        return "root";
    struct passwd pw, *res = NULL;
    char tmp[1024];
    if (getpwuid_r((uid_t)uid, &pw, tmp, sizeof tmp, &res) == 0 && res) {
        snprintf(buf, size, "%s", pw.pw_name);
        return buf;
    }
    snprintf(buf, size, "%ld", uid);
    return buf;
}

static bool is_master(const struct live_proc *p)
{
    const char *name = p->exe ? hunt_path_basename(p->exe) : p->comm;
    return p->pid == 1 && name && !strcmp(name, "smss");
}

/* The master: PID 1 named smss, else the earliest smss that is not a session child
 * (smss as a subreaper under another init). NULL when there is none. */
static const struct live_proc *find_master(const struct live_proc *v, size_t n)
{
    const struct live_proc *m = NULL;
    for (size_t i = 0; i < n; i++) {
        if (is_master(&v[i]))
            return &v[i];
        const char *name = v[i].exe ? hunt_path_basename(v[i].exe) : v[i].comm;
        size_t len;
        const char *args = hunt_cmdline_args(v[i].cmdline, &len);
        if (!m && name && !strcmp(name, "smss") && !hunt_args_session_child(args, len))
            m = &v[i]; /* v is sorted by start time: the earliest */
    }
    return m;
}

static int emit_proc(const struct live_proc *p, int64_t now, const char *proc, hunt_record_fn fn,
                     void *ctx)
{
    char user[256];
    const char *argv0_name = NULL;
    char *argv0 = p->cmdline ? hunt_cmdline_image(p->cmdline) : NULL;
    if (argv0 && *argv0)
        argv0_name = hunt_path_basename(argv0);
    struct hunt_record r = {
        .kind = HUNT_REC_RUNNING, .pid = p->pid, .ppid = p->ppid, .creator_pid = p->creator,
        .name = p->exe ? hunt_path_basename(p->exe) : argv0_name ? argv0_name : p->comm,
        .image = p->exe, .cmdline = p->cmdline, .user = user_name(p->uid, user, sizeof user),
        .session = p->pid == 1 && is_master(p) ? 0 : p->session, .priority = p->nice,
        .has_priority = true, .time = p->start, .exit_time = HUNT_TIME_UNKNOWN, .seen = now,
        .os = HUNT_OS_LINUX, .source = proc, .recno = 0, .what = "process"};
    char src[300];
    snprintf(src, sizeof src, "%s/%lld", proc, (long long)p->pid);
    r.source = src;
    int rc = fn(ctx, &r);
    free(argv0);
    return rc;
}

int hunt_input_live(const struct hunt_live_options *o, struct hunt_tree *t, hunt_record_fn fn,
                    void *ctx, struct hunt_input_stats *st, struct diags *d)
{
    const char *proc = o->proc ? o->proc : "/proc";
    DIR *dir = opendir(proc);
    if (!dir) {
        diag_add(d, DIAG_ERROR, proc, "cannot read the process list: %s", strerror(errno));
        return -1;
    }
    int64_t btime = boot_time(proc);
    long tck = sysconf(_SC_CLK_TCK);
    struct live_proc *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        int64_t pid = strtoll(de->d_name, NULL, 10);
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            struct live_proc *nv = realloc(v, nc * sizeof *nv);
            if (!nv)
                break;
            v = nv;
            cap = nc;
        }
        /* A process may end while we read it: then it is simply not listed. */
        if (read_proc(proc, pid, btime, tck > 0 ? tck : 100, &v[n])) {
            if (v[n].kthread || v[n].state == 'Z') /* kernel threads, zombies */
                live_free(&v[n]);
            else
                n++;
        } else {
            live_free(&v[n]);
        }
    }
    closedir(dir);
    size_t nstate;
    const char *rundir = o->runtime_dir ? o->runtime_dir : getenv("SMSS_RUNTIME_DIR");
    struct state_entry *state = read_state(rundir, &nstate, d);
    for (size_t i = 0; i < n; i++)
        apply_state(&v[i], state, nstate);
    free(state);
    qsort(v, n, sizeof *v, by_start);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * HUNT_SECOND + ts.tv_nsec / 1000;
    int rc = 0;
    const struct live_proc *master = find_master(v, n);
    if (master) {
        if (!o->smss_dir && master->exe) {
            char *dirname = strdup(master->exe);
            if (dirname) {
                char *slash = strrchr(dirname, '/');
                if (slash)
                    *(slash == dirname ? slash + 1 : slash) = '\0';
                hunt_tree_set_smss_dir(t, dirname);
            }
            free(dirname);
        }
        /* The machine (or PID namespace) booted when the master started. */
        struct hunt_record boot = {.kind = HUNT_REC_BOOT, .time = master->start,
                                   .os = HUNT_OS_LINUX, .source = proc};
        rc = fn(ctx, &boot);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        st->records++;
        st->used++;
        rc = emit_proc(&v[i], now, proc, fn, ctx);
    }
    for (size_t i = 0; i < n; i++)
        live_free(&v[i]);
    free(v);
    return rc;
}
