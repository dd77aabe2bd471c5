/* The boot phases, each a small function over one NT responsibility; the modules in
 * src/lib do the work, these decide what is fatal and log what happened. */
#include "boot_phases.h"
#include "log.h"
#include "master.h"
#include "ntpath.h"
#include "platform.h"
#include "regtext.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* One line of JSON saying what a module did, for the boot log. */
static void log_result(const char *what, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (text)
        log_debug("%s: %s", what, text);
    free(text);
    json_decref(j);
}

static void log_diags(const struct diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->v[i].level == DIAG_ERROR)
            log_error("%s: %s", d->v[i].where, d->v[i].message);
        else
            log_warning("%s: %s", d->v[i].where, d->v[i].message);
    }
}

/* The effective configuration, for wininit and winlogon (and people). */
static void write_effective_config(void)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    snprintf(path, sizeof path, "%s/config.reg", M.runtime_dir);
    snprintf(tmp, sizeof tmp, "%s/.config.reg.tmp", M.runtime_dir);
    struct buf out = BUF_INIT;
    int fd = -1;
    bool ok = smss_config_print(M.store, &out, false) == 0 &&
              (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) >= 0 &&
              write(fd, out.p, out.len) == (ssize_t)out.len && close(fd) == 0 &&
              rename(tmp, path) == 0;
    if (!ok)
        log_warning("cannot write the effective configuration to %s: %s", path, strerror(errno));
    buf_free(&out);
}

static void apply_overrides(void)
{
    if (M.opt->runtime_dir) {
        free(M.cfg.runtime_dir);
        M.cfg.runtime_dir = strdup(M.opt->runtime_dir);
    }
    if (M.opt->state_dir) {
        free(M.cfg.state_dir);
        M.cfg.state_dir = strdup(M.opt->state_dir);
    }
    M.runtime_dir = M.cfg.runtime_dir;
    M.state_dir = M.cfg.state_dir;
}

int phase_configuration(void)
{
    ssize_t n = readlink("/proc/self/exe", M.self_exe, sizeof M.self_exe - 1);
    if (n <= 0) {
        log_error("cannot find the smss executable (/proc/self/exe): %s", strerror(errno));
        return -1;
    }
    M.self_exe[n] = '\0';
    char copy[PATH_MAX];
    str_copy(copy, sizeof copy, M.self_exe);
    str_copy(M.system_root, sizeof M.system_root, dirname(copy));

    struct diags d = DIAGS_INIT;
    M.store = reg_store_new();
    int r = M.store ? smss_config_load_store(M.store, &M.opt->sources, &d) : -1;
    if (r == 0)
        r = smss_config_from_store(&M.cfg, M.store, &d);
    if (r == 0)
        smss_config_check(&M.cfg, &d);
    log_diags(&d);
    diags_free(&d);
    if (r < 0)
        return -1;
    apply_overrides();
    if (!M.runtime_dir || !M.state_dir)
        return -1;
    /* NT sets the registry's Environment values during the registry pass, so BootExecute
     * finds its programs through Path; the dynamic variables come later. */
    if (sysenv_load_static(&M.env, &M.cfg, M.system_root) < 0)
        return -1;
    log_info("configuration read; SystemRoot is %s", M.system_root);
    return 0;
}

/* A cgroup v2 directory under smss's own for the sessions, where one can be made. */
static void choose_cgroup_base(void)
{
    const char *root = platform_cgroup2_root();
    char self[PATH_MAX];
    if (!M.cfg.session_cgroup || !root || platform_cgroup2_self(self, sizeof self) < 0) {
        log_info("sessions get no cgroup (%s)", !M.cfg.session_cgroup ? "Linux\\SessionCgroup is 0"
                                                : "no writable cgroup v2 hierarchy");
        return;
    }
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    int n = snprintf(M.cgroup_base, sizeof M.cgroup_base, "%s%s/smss-%d-%lx", root,
                     strcmp(self, "/") ? self : "", (int)getpid(), (unsigned long)t.tv_nsec);
    if (n < 0 || (size_t)n >= sizeof M.cgroup_base || mkdir(M.cgroup_base, 0755) < 0) {
        log_info("sessions get no cgroup (%s: %s)", M.cgroup_base, strerror(errno));
        M.cgroup_base[0] = '\0';
    }
}

int phase_master_duties(void)
{
    if (platform_mkdir_p(M.runtime_dir, 0755) < 0) {
        log_error("cannot create the runtime directory %s: %s", M.runtime_dir, strerror(errno));
        return -1;
    }
    M.lock_fd = instance_lock(M.runtime_dir);
    if (M.lock_fd < 0)
        return errno == EEXIST ? PHASE_ANOTHER_MASTER : -1;
    M.pid1 = getpid() == 1;
    if (!M.pid1) {
        if (platform_set_subreaper() < 0)
            log_warning("cannot become a child subreaper: %s", strerror(errno));
        else
            log_info("not PID 1 (PID %d): running as child subreaper, so orphans of the "
                     "sessions are reparented to this master", (int)getpid());
    }
    int nice = platform_nice_for_priority(PRIORITY_SMSS);
    if (platform_set_nice(nice) < 0)
        log_warning("cannot set base priority %d (nice %d): %s", PRIORITY_SMSS, nice,
                    strerror(errno));
    umask(022);
    if (chdir("/") < 0)
        log_warning("chdir /: %s", strerror(errno));
    if (loop_init() < 0) {
        log_error("cannot set up signals and the event loop: %s", strerror(errno));
        return -1;
    }
    if (platform_mkdir_p(M.state_dir, 0755) < 0)
        log_warning("cannot create the state directory %s: %s", M.state_dir, strerror(errno));
    choose_cgroup_base();
    write_effective_config();
    /* The typed view holds all the master needs from now on; the store goes, so the
     * master's memory is its tables, not the configuration's text. */
    reg_store_free(M.store);
    M.store = NULL;
    return 0;
}

int phase_object_directories(void)
{
    int r = objdirs_create(&M.objdirs, &M.cfg, M.runtime_dir);
    if (r < 0) {
        log_error("%s", M.objdirs.error ? M.objdirs.error : "object directories failed");
        return -1;
    }
    log_result("object directories", objdirs_to_json(&M.objdirs));
    return 0;
}

static int run_list(const char *name, const struct strlist *lines)
{
    if (!lines->n)
        return 0;
    struct exec_result r = EXEC_RESULT_INIT;
    struct execute_options o = {.set_nice = true,
                                .nice = platform_nice_for_priority(PRIORITY_NORMAL)};
    int rc = execute_list_run(&r, name, lines, &M.env, &o);
    log_result(name, execute_list_to_json(&r));
    execute_list_result_free(&r);
    return rc < 0 ? 1 : 0;
}

int phase_boot_execute(void) { return run_list("BootExecute", &M.cfg.boot_execute); }
int phase_setup_execute(void) { return run_list("SetupExecute", &M.cfg.setup_execute); }
int phase_execute(void) { return run_list("Execute", &M.cfg.execute); }

int phase_pending_renames(void)
{
    struct ntpath_rules rules;
    if (ntpath_rules_from_config(&rules, &M.cfg, M.system_root) < 0)
        return 1;
    struct pending_options o = {.ntpath = &rules,
                                .allow_protected_renames = M.cfg.allow_protected_renames != 0,
                                .protected_paths = &M.cfg.protected_paths,
                                .system_root = M.system_root};
    int r = pending_apply_at_boot(M.state_dir, M.cfg.renames, M.cfg.nrenames, &o, &M.renames);
    ntpath_rules_free(&rules);
    return r < 0 || M.renames.failed ? 1 : 0;
}

int phase_known_dlls(void)
{
    /* Checksums are for people (smssctl query): computed on the first query, from the
     * read-only copies, not on the boot path. */
    struct knowndlls_options o = {.defer_checksums = true};
    if (knowndlls_snapshot_with(&M.knowndlls, &M.cfg, &M.env, M.runtime_dir, &o) < 0) {
        log_error("KnownDLLs: %s", M.knowndlls.error ? M.knowndlls.error : "failed");
        return -1;
    }
    log_result("KnownDLLs", knowndlls_to_json(&M.knowndlls));
    return 0;
}

int phase_paging_files(void)
{
    if (M.sandbox) { /* swap is the host's, whatever namespace asks for it */
        log_info("paging files: not created in a sandbox (swap would be the host's)");
        return 1;
    }
    struct pagefile_options o = {.state_dir = M.state_dir, .reserve_mb = -1};
    if (pagefile_setup(&M.paging, &M.cfg, &o) < 0)
        return 1;
    log_result("paging files", pagefile_to_json(&M.paging));
    return 0;
}

int phase_environment(void)
{
    struct sysenv_machine m;
    if (sysenv_machine_probe(&m) < 0)
        log_warning("cannot read this machine's processors: %s", strerror(errno));
    if (sysenv_add_dynamic(&M.env, &m, &M.cfg) < 0)
        return -1;
    if (M.knowndlls.n && M.knowndlls.snapshot_dir &&
        sysenv_prepend_path(&M.env, "LD_LIBRARY_PATH", M.knowndlls.snapshot_dir) < 0)
        return -1;
    log_info("environment: %zu variables", M.env.n);
    return 0;
}

int phase_kmode(void)
{
    if (M.sandbox && M.cfg.subsystems.n) { /* a module would be loaded into the host's kernel */
        for (size_t i = 0; i < M.cfg.subsystems.n; i++)
            if (!strcasecmp(M.cfg.subsystems.v[i].name, "Kmode")) {
                log_info("Kmode: not loaded in a sandbox (the kernel is the host's)");
                return 1;
            }
    }
    if (kmode_load(&M.kmode, &M.cfg, &M.env, NULL) < 0)
        return 1;
    log_result("Kmode", kmode_to_json(&M.kmode));
    return 0;
}

int phase_api_port(void)
{
    if (api_listen() < 0) {
        log_error("cannot create %s/SmApiPort: %s", M.runtime_dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Session 1's terminal: Linux\ConsoleTerminal, else smss's own when it is one (a
 * sandbox run with a command gives session 1 no terminal: the command has it). */
static const char *console_terminal(void)
{
    static char tty[SMAPI_PATH_MAX];
    if (M.cfg.console_terminal && M.cfg.console_terminal[0])
        return M.cfg.console_terminal;
    const char *relayed = getenv("SMSS_SANDBOX_CONSOLE");
    if (M.sandbox && relayed)
        return relayed;
    if (M.sandbox && M.opt->argc > 0)
        return "";
    if (isatty(STDIN_FILENO) && ttyname_r(STDIN_FILENO, tty, sizeof tty) == 0)
        return tty;
    return "";
}

/* Run the loop until the session stands (or fails, which is a crash during boot). */
static int wait_session(uint32_t id)
{
    while (M.state == MASTER_BOOTING) {
        struct session *s = session_find(id);
        if (!s)
            return -1;
        if (s->state == SESSION_ACTIVE)
            return 0;
        if (loop_once(-1) < 0)
            return -1;
    }
    return -1;
}

int phase_initial_sessions(void)
{
    for (uint32_t id = 0; id < M.cfg.number_of_initial_sessions; id++) {
        struct session *s;
        if (session_start(id, NULL, id == 1 ? console_terminal() : "", &s) < 0 ||
            wait_session(id) < 0)
            return -1;
    }
    return 0;
}

char **master_env_for(uint32_t session, const char *extra1, const char *extra2)
{
    size_t n = M.env.n;
    char **env = calloc(n + 6, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        env[k++] = strdup(M.env.v[i]);
    struct buf b = BUF_INIT;
    buf_printf(&b, "SMSS_RUNTIME_DIR=%s", M.runtime_dir);
    env[k++] = buf_steal(&b);
    if (M.cfg.pam_config_directory && M.cfg.pam_config_directory[0]) {
        buf_printf(&b, "SMSS_PAM_CONFDIR=%s", M.cfg.pam_config_directory);
        env[k++] = buf_steal(&b);
    }
    if (session != SMAPI_SESSION_NONE) {
        buf_printf(&b, "SMSS_SESSION_ID=%u", session);
        env[k++] = buf_steal(&b);
    }
    if (extra1)
        env[k++] = strdup(extra1);
    if (extra2)
        env[k++] = strdup(extra2);
    env[k] = NULL;
    return env;
}

void master_env_free(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}
