/* smss --sandbox: boot the whole system as PID 1 of new PID, mount, IPC and UTS
 * namespaces, with private runtime and state directories, without touching the host.
 * With a command, run it as root in session 1 once boot is complete, shut down in order
 * and exit with its status; without one (the demo), session 1's winlogon gets a
 * pseudo-terminal this process relays to ours, so the outer terminal is never taken. */
#include "log.h"
#include "master.h"
#include "platform.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* ---- inside: the command in session 1 ------------------------------------------ */

void sandbox_boot_complete(void)
{
    if (M.opt->argc == 0)
        return;
    uint32_t session = session_find(1) ? 1 : 0;
    struct smapi_exec rq = {.session = session, .flags = SMAPI_EXEC_WAIT | SMAPI_EXEC_STDIO};
    size_t used = 0;
    for (int i = 0; i < M.opt->argc; i++) {
        size_t len = strlen(M.opt->argv[i]) + 1;
        if (used + len > sizeof rq.argv) {
            log_error("sandbox: the command line is longer than %zu bytes", sizeof rq.argv);
            M.sandbox_done = true;
            M.sandbox_status = 2;
            shutdown_begin(SMAPI_SHUTDOWN_HALT, "the sandbox (command too long)");
            return;
        }
        memcpy(rq.argv + used, M.opt->argv[i], len);
        used += len;
    }
    rq.argc = (uint32_t)M.opt->argc;
    rq.argv_len = (uint32_t)used;
    int fds[3] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
    char why[512];
    int sb;
    if (api_sb_create_process(session, &rq, fds, 3, &M.sandbox_pid, &sb, why, sizeof why) < 0) {
        log_error("sandbox: cannot start %s in session %u: %s", M.opt->argv[0], session, why);
        M.sandbox_done = true;
        M.sandbox_status = 127;
        shutdown_begin(SMAPI_SHUTDOWN_HALT, "the sandbox (command not started)");
        return;
    }
    log_info("sandbox: %s runs in session %u as PID %d", M.opt->argv[0], session,
             (int)M.sandbox_pid);
    M.sandbox_watch = (struct watch){WATCH_SB, sb, NULL};
    loop_add(&M.sandbox_watch, EPOLLIN);
    platform_release_clean_file_pages(); /* as after boot: starting it was part of boot */
}

void sandbox_handle_sb(uint32_t events)
{
    struct smapi_message m;
    (void)events;
    int r = smapi_recv(M.sandbox_watch.fd, &m, SMAPI_MAX_REQUEST, 1000);
    if (r == 0 && m.h.type == SB_PROCESS_EXITED && m.h.length == sizeof(struct smapi_process_exited)) {
        const struct smapi_process_exited *e = m.body;
        M.sandbox_status = WIFEXITED(e->wait_status) ? WEXITSTATUS(e->wait_status)
                                                     : 128 + WTERMSIG(e->wait_status);
        log_info("sandbox: the command (PID %d) ended with status %d", (int)e->pid,
                 M.sandbox_status);
    } else {
        log_error("sandbox: lost the command's subsystem connection");
        M.sandbox_status = 255;
    }
    if (r == 0)
        smapi_message_free(&m);
    loop_del(&M.sandbox_watch);
    close(M.sandbox_watch.fd);
    M.sandbox_watch.fd = -1;
    /* Its status is the sandbox's only when its end started the shutdown, not when a
     * shutdown asked for otherwise (SIGTERM, smssctl shutdown) ended it. */
    if (M.state != MASTER_RUNNING)
        return;
    M.sandbox_done = true;
    shutdown_begin(SMAPI_SHUTDOWN_HALT, "the sandbox's command");
}

/* ---- outside: namespaces, directories, the terminal relay ---------------------- */

struct relay {
    int master;                /* the pty's master side, -1 when not relaying */
    struct termios saved;
    bool raw;
};

static void relay_open(struct relay *r, char *slave_path, size_t n)
{
    r->master = -1;
    if (!isatty(STDIN_FILENO))
        return;
    struct winsize ws;
    int slave;
    bool have_size = ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0;
    if (openpty(&r->master, &slave, NULL, NULL, have_size ? &ws : NULL) < 0) {
        r->master = -1;
        return;
    }
    if (ttyname_r(slave, slave_path, n) != 0) {
        close(slave);
        close(r->master);
        r->master = -1;
        return;
    }
    close(slave); /* winlogon opens it by name */
    fcntl(r->master, F_SETFD, FD_CLOEXEC);
    if (tcgetattr(STDIN_FILENO, &r->saved) == 0) {
        struct termios raw = r->saved;
        cfmakeraw(&raw);
        r->raw = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
}

static void relay_close(struct relay *r)
{
    if (r->raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &r->saved);
    if (r->master >= 0)
        close(r->master);
}

static bool copy(int from, int to)
{
    char buf[4096];
    ssize_t n = read(from, buf, sizeof buf);
    if (n <= 0)
        return n < 0 && (errno == EINTR || errno == EAGAIN);
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w < 0 && errno != EINTR)
            return false;
        off += w > 0 ? w : 0;
    }
    return true;
}

/* Relay between our terminal and the pty until the sandbox's PID 1 exits. */
static int relay_and_wait(struct relay *r, pid_t child)
{
    int status;
    bool input_open = true;
    for (;;) {
        pid_t w = waitpid(child, &status, r->master >= 0 ? WNOHANG : 0);
        if (w == child)
            break;
        if (w < 0 && errno != EINTR)
            return 255;
        if (r->master < 0)
            continue;
        struct pollfd p[2] = {{r->master, POLLIN, 0}, {STDIN_FILENO, input_open ? POLLIN : 0, 0}};
        if (poll(p, 2, 200) <= 0)
            continue;
        if (p[0].revents & POLLIN) /* a failed copy: winlogon closed its side for now */
            copy(r->master, STDOUT_FILENO);
        if ((p[1].revents & (POLLIN | POLLHUP)) && !copy(STDIN_FILENO, r->master))
            input_open = false;
    }
    if (r->master >= 0) /* what is left on the screen side */
        while (copy(r->master, STDOUT_FILENO)) {
            struct pollfd p = {r->master, POLLIN, 0};
            if (poll(&p, 1, 0) <= 0)
                break;
        }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* PID 1 of the sandbox re-executes itself as a bare "smss", as a machine's kernel starts
 * it: no arguments. What it must know comes in the environment (SMSS_SANDBOX_*), the
 * command through an inherited pipe. */
static void put_env(char **env, size_t *k, const char *name, const char *value)
{
    if (!value)
        return;
    struct buf b = BUF_INIT;
    if (buf_printf(&b, "%s=%s", name, value) == 0)
        env[(*k)++] = buf_steal(&b);
}

static int sandbox_inside(const struct smss_options *o, const char *top, const char *console)
{
    char run[PATH_MAX], state[PATH_MAX], self[PATH_MAX];
    if (platform_mounts_private() < 0 || platform_mount_proc("/proc") < 0 ||
        platform_mount_tmpfs(top, 0755) < 0) {
        log_error("sandbox: cannot set up its mounts: %s", strerror(errno));
        return 2;
    }
    sethostname("smss-sandbox", 12);
    snprintf(run, sizeof run, "%s/run", top);
    snprintf(state, sizeof state, "%s/state", top);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    int cmd[2];
    if (n <= 0 || pipe(cmd) < 0) {
        log_error("sandbox: %s", strerror(errno));
        return 2;
    }
    self[n] = '\0';
    for (int i = 0; i < o->argc; i++) /* small: fits the pipe's buffer */
        if (write(cmd[1], o->argv[i], strlen(o->argv[i]) + 1) < 0)
            return 2;
    close(cmd[1]);
    char *env[16] = {NULL}, fd[16], hives[4096] = "";
    size_t k = 0;
    snprintf(fd, sizeof fd, "%d", cmd[0]);
    for (size_t i = 0; i < o->sources.nhives; i++)
        snprintf(hives + strlen(hives), sizeof hives - strlen(hives), "%s%s", i ? "\n" : "",
                 o->sources.hives[i]);
    put_env(env, &k, "SMSS_SANDBOX_COMMAND_FD", fd);
    put_env(env, &k, "SMSS_SANDBOX_RUNTIME_DIR", o->runtime_dir ? o->runtime_dir : run);
    put_env(env, &k, "SMSS_SANDBOX_STATE_DIR", o->state_dir ? o->state_dir : state);
    put_env(env, &k, "SMSS_SANDBOX_CONFIG", o->sources.reg_file);
    put_env(env, &k, "SMSS_SANDBOX_MERGE", o->sources.sysconf_reg);
    put_env(env, &k, "SMSS_SANDBOX_HIVES", o->sources.nhives ? hives : NULL);
    put_env(env, &k, "SMSS_SANDBOX_HIVE_UNSAFE", o->sources.hive_unsafe ? "1" : NULL);
    put_env(env, &k, "SMSS_SANDBOX_CONSOLE", console && console[0] ? console : NULL);
    put_env(env, &k, "SMSS_SANDBOX_VERBOSE", getenv("SMSS_SANDBOX_VERBOSE"));
    put_env(env, &k, "PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    char *argv[] = {"smss", NULL};
    execve(self, argv, env);
    log_error("sandbox: cannot execute %s: %s", self, strerror(errno));
    return 2;
}

/* In the sandbox's PID 1, after the re-execution: the options back from the environment. */
int smss_sandbox_pid1(struct smss_options *o)
{
    static char *hives_copy;
    o->runtime_dir = getenv("SMSS_SANDBOX_RUNTIME_DIR");
    o->state_dir = getenv("SMSS_SANDBOX_STATE_DIR");
    o->sources.reg_file = getenv("SMSS_SANDBOX_CONFIG");
    o->sources.sysconf_reg = getenv("SMSS_SANDBOX_MERGE");
    o->sources.hive_unsafe = getenv("SMSS_SANDBOX_HIVE_UNSAFE") != NULL;
    const char *hives = getenv("SMSS_SANDBOX_HIVES");
    if (hives && (hives_copy = strdup(hives)))
        for (char *h = strtok(hives_copy, "\n"); h && o->sources.nhives < 4; h = strtok(NULL, "\n"))
            o->sources.hives[o->sources.nhives++] = h;
    if (getenv("SMSS_SANDBOX_VERBOSE"))
        log_set_level(LOG_LEVEL_DEBUG);
    /* The command, NUL-separated, from the pipe. */
    static struct buf cmd = BUF_INIT;
    static char *argv[256];
    int fd = atoi(getenv("SMSS_SANDBOX_COMMAND_FD"));
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        buf_append(&cmd, chunk, (size_t)n);
    close(fd);
    o->argc = 0;
    for (size_t i = 0; i < cmd.len && o->argc < 255; i += strlen(cmd.p + i) + 1)
        argv[o->argc++] = cmd.p + i;
    o->argv = argv;
    return master_boot(o, true);
}

static pid_t sandbox_pid1;

static void forward_signal(int sig)
{
    if (sandbox_pid1 > 0)
        kill(sandbox_pid1, sig == SIGHUP ? SIGTERM : sig);
}

int smss_sandbox(const struct smss_options *o)
{
    if (getuid() != 0) {
        fprintf(stderr, "smss: --sandbox needs root (it creates PID, mount, IPC and UTS "
                        "namespaces); run it with sudo\n");
        return 2;
    }
    char top[] = "/tmp/smss-sandbox.XXXXXX";
    if (!mkdtemp(top)) {
        fprintf(stderr, "smss: --sandbox: cannot create a directory in /tmp: %s\n",
                strerror(errno));
        return 2;
    }
    struct relay relay = {.master = -1};
    char console[SMAPI_PATH_MAX] = "";
    if (o->argc == 0)
        relay_open(&relay, console, sizeof console);
    /* Only the child enters the new namespaces: the launcher stays as it was (a process
     * that unshared its PID namespace can no longer create threads, which tools such as
     * LeakSanitizer need at exit). */
    pid_t child = platform_fork_into(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS);
    if (child < 0) {
        fprintf(stderr, "smss: --sandbox: cannot create namespaces: %s\n", strerror(errno));
        relay_close(&relay);
        rmdir(top);
        return 2;
    }
    if (child == 0) {
        if (relay.master >= 0)
            close(relay.master);
        _exit(sandbox_inside(o, top, console));
    }
    /* Signals for the sandbox go to its PID 1: SIGTERM shuts it down in order. */
    sandbox_pid1 = child;
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGTERM, forward_signal);
    signal(SIGHUP, forward_signal);
    int rc = relay_and_wait(&relay, child);
    relay_close(&relay);
    rmdir(top);
    return rc;
}
