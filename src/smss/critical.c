/* The system crash: NT's bugcheck 0xC000021A, STATUS_SYSTEM_PROCESS_TERMINATED, raised
 * when a critical process (a session's csrss or initial process) dies or a boot phase
 * fails fatally. Logged with the process's NT name and exit status, recorded in the
 * state directory, every session terminated, then the configured crash action. */
#include "master.h"
#include "log.h"
#include "platform.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STATUS_SYSTEM_PROCESS_TERMINATED 0xC000021Au

static void write_crash_record(const char *name, pid_t pid, int wait_status, const char *reason)
{
    if (!M.state_dir || platform_mkdir_p(M.state_dir, 0755) < 0) {
        log_error("crash record not written: state directory %s: %s",
                  M.state_dir ? M.state_dir : "(none)", strerror(errno));
        return;
    }
    time_t now = time(NULL);
    char stamp[32], path[PATH_MAX], tmp[PATH_MAX];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    snprintf(path, sizeof path, "%s/crash.json", M.state_dir);
    snprintf(tmp, sizeof tmp, "%s/.crash.json.tmp", M.state_dir);
    char code[16];
    snprintf(code, sizeof code, "0x%08X", STATUS_SYSTEM_PROCESS_TERMINATED);
    json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:i}", "status", code, "name",
                          "STATUS_SYSTEM_PROCESS_TERMINATED", "process", name, "pid", (int)pid,
                          "reason", reason, "time", stamp, "crash_exit_code",
                          (int)M.cfg.crash_exit_code);
    if (j && wait_status >= 0)
        json_object_set_new(j, "exit_status",
                            json_integer(WIFEXITED(wait_status) ? WEXITSTATUS(wait_status)
                                                                : 128 + WTERMSIG(wait_status)));
    /* Written whole, then renamed: a crash while crashing leaves the previous record. */
    if (!j || json_dump_file(j, tmp, JSON_INDENT(2)) < 0 || rename(tmp, path) < 0)
        log_error("crash record %s not written: %s", path, strerror(errno));
    else
        log_error("crash record written to %s", path);
    json_decref(j);
}

static _Noreturn void crash_action(void)
{
    master_cleanup();
    if (M.cfg.crash_action != SM_CRASH_EXIT && M.pid1 && !M.sandbox) {
        bool off = M.cfg.crash_action == SM_CRASH_POWEROFF;
        log_error("crash action: %s", off ? "power off" : "reboot");
        platform_reboot(off);
        log_error("reboot(2) failed: %s; exiting instead", strerror(errno));
    }
    log_error("crash action: exit with status %u", M.cfg.crash_exit_code);
    _exit((int)M.cfg.crash_exit_code);
}

_Noreturn void system_crash(const char *process_name, pid_t pid, int wait_status,
                            const char *reason)
{
    M.state = MASTER_CRASHED;
    if (pid == getpid())
        log_error("STATUS_SYSTEM_PROCESS_TERMINATED (0x%08X): %s failed: %s",
                  STATUS_SYSTEM_PROCESS_TERMINATED, process_name, reason);
    else
        log_error("STATUS_SYSTEM_PROCESS_TERMINATED (0x%08X): the critical process %s (PID %d) "
                  "%s", STATUS_SYSTEM_PROCESS_TERMINATED, process_name, (int)pid, reason);
    write_crash_record(process_name, pid, wait_status, reason);
    log_error("terminating every session");
    terminate_descendants(M.cfg.shutdown_timeout_ms ? M.cfg.shutdown_timeout_ms : 5000);
    crash_action();
}

_Noreturn void boot_failure(const char *phase, const char *reason)
{
    system_crash(phase, getpid(), -1, reason);
}
