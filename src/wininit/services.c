/* Starting and restarting the automatic services. */
#include "wininit.h"
#include "cmdline.h"
#include "log.h"
#include "process_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

uint32_t svc_backoff(uint32_t *delay, uint32_t base, int64_t ran_ms)
{
    uint32_t cap = base > SVC_BACKOFF_MAX_MS ? base : SVC_BACKOFF_MAX_MS;
    if (ran_ms >= SVC_STABLE_MS)
        *delay = base;
    uint32_t d = *delay;
    *delay = d >= cap / 2 ? cap : (d ? d * 2 : 1);
    return d;
}

int supervisor_init(struct supervisor *s, const struct smss_config *c, char **environ_)
{
    memset(s, 0, sizeof *s);
    s->timer_fd = -1;
    for (char **e = environ_; e && *e; e++) {
        char *eq = strchr(*e, '=');
        if (!eq || eq == *e)
            continue;
        char *name = strndup(*e, (size_t)(eq - *e));
        int r = name ? sysenv_set(&s->env, name, eq + 1) : -1;
        free(name);
        if (r < 0)
            return -1;
    }
    s->v = calloc(c->nservices ? c->nservices : 1, sizeof *s->v);
    if (!s->v)
        return -1;
    for (size_t i = 0; i < c->nservices; i++) {
        const struct sm_service *sv = &c->services[i];
        if (sv->start != 2) {
            log_info("service %s: Start = %u (%s), not started", sv->name, sv->start,
                     sv->start == 3 ? "manual" : sv->start == 4 ? "disabled" : "not automatic");
            continue;
        }
        s->v[s->n++] = (struct service){.cfg = sv, .delay_ms = sv->restart_delay_ms};
    }
    s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    return s->timer_fd < 0 ? -1 : 0;
}

void supervisor_free(struct supervisor *s)
{
    free(s->v);
    sysenv_free(&s->env);
    if (s->timer_fd >= 0)
        close(s->timer_fd);
    memset(s, 0, sizeof *s);
    s->timer_fd = -1;
}

/* ObjectName "DOMAIN\user" or ".\user" names the Linux user "user"; NT's service
 * accounts without a Linux counterpart run as nobody. NULL: root (LocalSystem). */
static const char *service_user(const char *object_name)
{
    if (!object_name)
        return NULL;
    const char *bs = strrchr(object_name, '\\');
    const char *u = bs ? bs + 1 : object_name;
    if (!strcasecmp(u, "LocalService") || !strcasecmp(u, "NetworkService"))
        return "nobody";
    if (!strcasecmp(u, "LocalSystem") || !*u)
        return NULL;
    return u;
}

/* ImagePath → the image found in Path and its argv. 0, or -1 with *why set. */
static int resolve_image(const struct supervisor *s, const struct sm_service *sv, char **path,
                         char ***argv, char *why, size_t n)
{
    char *line = sv->image_expand ? sysenv_expand(&s->env, sv->image_path) : strdup(sv->image_path);
    size_t argc = 0;
    *argv = NULL;
    *path = NULL;
    if (!line || cmdline_split(line, argv, &argc) < 0) {
        snprintf(why, n, "ImagePath \"%s\": %s", sv->image_path,
                 errno == EINVAL ? "a quote is not closed" : strerror(errno));
        free(line);
        return -1;
    }
    free(line);
    if (argc == 0) {
        snprintf(why, n, "ImagePath is empty");
        return -1;
    }
    *path = spawn_search_path((*argv)[0], sysenv_get(&s->env, "Path"));
    if (*path && access(*path, X_OK) < 0) {
        snprintf(why, n, "image \"%s\" not found or not executable: %s", *path,
                 strerror(errno));
        free(*path);
        *path = NULL;
        cmdline_free(*argv);
        *argv = NULL;
        return -1;
    }
    if (!*path) {
        snprintf(why, n, "image \"%s\" not found (searched in Path \"%s\")", (*argv)[0],
                 sysenv_get(&s->env, "Path") ? sysenv_get(&s->env, "Path") : "");
        cmdline_free(*argv);
        *argv = NULL;
        return -1;
    }
    return 0;
}

static void schedule_restart(struct supervisor *s, struct service *sv, int64_t ran_ms);

/* Start one service; on failure schedule a retry with the same back-off as a crash. */
static void service_start(struct supervisor *s, struct service *sv)
{
    char why[600];
    char *path = NULL, **argv = NULL;
    sv->pending = false;
    if (resolve_image(s, sv->cfg, &path, &argv, why, sizeof why) == 0) {
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        struct spawn_request r = SPAWN_REQUEST_INIT;
        r.path = path;
        r.argv = argv;
        r.envp = s->env.v;
        r.cwd = "/";
        r.set_nice = true;
        r.nice = 0; /* NT base priority 8 */
        r.fd_in = devnull;
        r.user = service_user(sv->cfg->user);
        struct spawn_error err;
        pid_t pid;
        int rc = spawn_process(&r, &pid, &err);
        if (devnull >= 0)
            close(devnull);
        if (rc == 0) {
            sv->pid = pid;
            sv->started_ms = now_ms();
            sv->starts++;
            log_info("service %s started: PID %d, %s%s%s (%s)", sv->cfg->name, (int)pid, path,
                     r.user ? " as " : "", r.user ? r.user : "", sv->cfg->image_path);
        } else {
            snprintf(why, sizeof why, "%s (%s) failed: %s", err.step, path, strerror(err.errnum));
        }
        if (rc == 0) {
            free(path);
            cmdline_free(argv);
            return;
        }
    }
    free(path);
    cmdline_free(argv);
    log_error("service %s cannot start: %s (Services\\%s\\ImagePath)", sv->cfg->name, why,
              sv->cfg->name);
    schedule_restart(s, sv, 0);
}

/* Arm the timer for the earliest pending restart, or disarm it: idle means no wake-up. */
static void arm_timer(struct supervisor *s)
{
    int64_t first = -1;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].pending && (first < 0 || s->v[i].restart_at_ms < first))
            first = s->v[i].restart_at_ms;
    struct itimerspec its = {0};
    if (first >= 0) {
        int64_t wait = first - now_ms();
        if (wait < 1)
            wait = 1; /* 0 would disarm */
        its.it_value.tv_sec = wait / 1000;
        its.it_value.tv_nsec = (wait % 1000) * 1000000;
    }
    if (timerfd_settime(s->timer_fd, 0, &its, NULL) < 0)
        log_error("timerfd_settime: %s", strerror(errno));
}

static void schedule_restart(struct supervisor *s, struct service *sv, int64_t ran_ms)
{
    if (s->stopping)
        return;
    uint32_t d = svc_backoff(&sv->delay_ms, sv->cfg->restart_delay_ms, ran_ms);
    sv->pending = true;
    sv->restart_at_ms = now_ms() + d;
    log_info("service %s: restart in %u ms (next delay %u ms: it doubles on each failure "
             "within %d s, up to %u s)", sv->cfg->name, d, sv->delay_ms, SVC_STABLE_MS / 1000,
             SVC_BACKOFF_MAX_MS / 1000);
    arm_timer(s);
}

void supervisor_start_all(struct supervisor *s)
{
    log_info("starting %zu automatic service%s", s->n, s->n == 1 ? "" : "s");
    for (size_t i = 0; i < s->n; i++)
        service_start(s, &s->v[i]);
}

static void describe_status(int status, char *out, size_t n)
{
    if (WIFEXITED(status))
        snprintf(out, n, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(out, n, "ended (wait status 0x%x)", (unsigned)status);
}

bool supervisor_child_exited(struct supervisor *s, pid_t pid, int status)
{
    for (size_t i = 0; i < s->n; i++) {
        struct service *sv = &s->v[i];
        if (sv->pid != pid)
            continue;
        char how[96];
        describe_status(status, how, sizeof how);
        int64_t ran = now_ms() - sv->started_ms;
        sv->pid = 0;
        if (s->stopping) {
            log_info("service %s (PID %d) stopped: %s", sv->cfg->name, (int)pid, how);
            return true;
        }
        log_warning("service %s (PID %d) %s after %lld ms", sv->cfg->name, (int)pid, how,
                    (long long)ran);
        schedule_restart(s, sv, ran);
        return true;
    }
    return false;
}

void supervisor_timer(struct supervisor *s)
{
    uint64_t expirations;
    ssize_t r = read(s->timer_fd, &expirations, sizeof expirations);
    (void)r; /* EAGAIN after a re-arm is harmless */
    int64_t now = now_ms();
    for (size_t i = 0; i < s->n && !s->stopping; i++)
        if (s->v[i].pending && s->v[i].restart_at_ms <= now)
            service_start(s, &s->v[i]);
    arm_timer(s);
}

void reap_children(struct supervisor *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        if (!supervisor_child_exited(s, pid, status))
            log_debug("reaped orphan PID %d", (int)pid);
}
