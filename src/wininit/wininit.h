/* wininit: session 0's initial process. It starts the automatic services (Start = 2) in
 * configuration order, restarts those that exit (with back-off), reaps every orphan of
 * session 0 (it is a child subreaper, as services.exe holds the services' processes on
 * NT) and, on SIGTERM, stops the services in reverse start order. */
#ifndef SMSS_WININIT_H
#define SMSS_WININIT_H
#include "config.h"
#include "sysenv.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SVC_BACKOFF_MAX_MS 30000u  /* the restart delay doubles up to this */
#define SVC_STABLE_MS 60000        /* a run this long resets the delay */

struct service {
    const struct sm_service *cfg;
    pid_t pid;              /* 0: not running */
    int64_t started_ms;     /* monotonic, of the running instance */
    uint32_t delay_ms;      /* the delay before the next restart */
    bool pending;           /* a restart is scheduled at restart_at_ms */
    int64_t restart_at_ms;
    unsigned starts;        /* successful starts so far */
};

struct supervisor {
    struct service *v;      /* the automatic services, in start order */
    size_t n;
    struct sysenv env;      /* wininit's environment: ImagePath expansion and Path */
    int timer_fd;           /* armed only while a restart is pending */
    bool stopping;
};

int64_t now_ms(void);

/* services.c */
int supervisor_init(struct supervisor *s, const struct smss_config *c, char **environ_);
void supervisor_free(struct supervisor *s);
void supervisor_start_all(struct supervisor *s);
/* A child was reaped: true when it was a service (restart scheduled unless stopping). */
bool supervisor_child_exited(struct supervisor *s, pid_t pid, int status);
/* The timer fired: start every service whose restart is due, re-arm for the next. */
void supervisor_timer(struct supervisor *s);
/* The delay before this restart after a run of ran_ms; *delay becomes the next one. */
uint32_t svc_backoff(uint32_t *delay, uint32_t base, int64_t ran_ms);
/* Reap every exited child without waiting; services are handed to the supervisor. */
void reap_children(struct supervisor *s);

/* shutdown.c: stop the services in reverse start order and every remaining child, within
 * budget_ms in all (see wininit(8)). sig_fd is the signalfd delivering SIGCHLD. */
void supervisor_stop_all(struct supervisor *s, int sig_fd, uint32_t budget_ms);

#endif
