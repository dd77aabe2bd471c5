/* wininit: session 0's initial process (see wininit(8)). */
#include "wininit.h"
#include "config.h"
#include "diag.h"
#include "log.h"
#include "platform.h"
#include "regmodel.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

extern char **environ;

static void usage(FILE *f)
{
    fputs("Usage: wininit [--config FILE.reg]\n"
          "Session 0's initial process: starts the automatic services (Start = 2) of the\n"
          "configuration, restarts those that exit, and stops them on SIGTERM.\n"
          "Started by smss with SMSS_SESSION_ID and SMSS_RUNTIME_DIR set; the configuration\n"
          "is $SMSS_RUNTIME_DIR/config.reg unless --config names another.\n"
          "  --config FILE.reg  read this configuration instead\n"
          "  --help             this text\n"
          "Exit status: 0 after an orderly shutdown, 2 usage or configuration error.\n",
          f);
}

/* SIGCHLD, SIGTERM, SIGINT and SIGHUP arrive through a signalfd, nowhere else. */
static int open_signalfd(void)
{
    static const int signals[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP};
    return platform_signalfd(signals, sizeof signals / sizeof *signals);
}

/* Handle what the signalfd holds; true when SIGTERM asks for shutdown. */
static bool handle_signals(struct supervisor *s, int sig_fd)
{
    struct signalfd_siginfo si;
    bool stop = false;
    while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM) {
            log_info("SIGTERM from PID %u: orderly shutdown", si.ssi_pid);
            stop = true;
        } else if (si.ssi_signo != SIGCHLD) {
            log_info("signal %u (%s) from PID %u ignored: SIGTERM stops wininit",
                     si.ssi_signo, strsignal((int)si.ssi_signo), si.ssi_pid);
        }
    }
    reap_children(s);
    return stop;
}

static void run(struct supervisor *s, int sig_fd)
{
    for (;;) {
        struct pollfd p[2] = {{sig_fd, POLLIN, 0}, {s->timer_fd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            return;
        }
        if (p[1].revents & POLLIN)
            supervisor_timer(s);
        if ((p[0].revents & POLLIN) && handle_signals(s, sig_fd))
            return;
    }
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else {
            fprintf(stderr, "wininit: unknown argument \"%s\"\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    log_init("wininit", LOG_LEVEL_INFO);
    char path_buf[4096];
    const char *rt = getenv("SMSS_RUNTIME_DIR");
    if (!config_path) {
        if (!rt || !*rt) {
            log_error("SMSS_RUNTIME_DIR is not set: wininit is started by smss for session 0 "
                      "(or give --config FILE.reg)");
            return 2;
        }
        snprintf(path_buf, sizeof path_buf, "%s/config.reg", rt);
        config_path = path_buf;
    }
    const char *sid = getenv("SMSS_SESSION_ID");
    if (sid && strcmp(sid, "0"))
        log_warning("SMSS_SESSION_ID is %s: wininit belongs to session 0", sid);
    struct smss_config c;
    if (smss_config_load_effective(config_path, &c) < 0)
        return 2;
    /* Orphans of the services stay below wininit, as they would below services.exe. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        log_warning("cannot become a child subreaper: %s; the services' orphans go to smss",
                    strerror(errno));
    struct supervisor s;
    int sig_fd = open_signalfd();
    if (sig_fd < 0 || supervisor_init(&s, &c, environ) < 0) {
        log_error("cannot set up: %s", strerror(errno));
        return 2;
    }
    log_info("session 0, configuration %s, shutdown budget %u ms", config_path,
             c.shutdown_timeout_ms);
    supervisor_start_all(&s);
    run(&s, sig_fd);
    supervisor_stop_all(&s, sig_fd, c.shutdown_timeout_ms);
    log_info("every service stopped; wininit exits");
    supervisor_free(&s);
    smss_config_free(&c);
    close(sig_fd);
    return 0;
}
