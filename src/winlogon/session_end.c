/* Logoff in a session >= 2 ends the session: SM_STOP_CSR for our own session to smss's
 * SmApiPort. smss lets a session's own processes end their own session. */
#include "winlogon.h"
#include "log.h"
#include "smapi_wire.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 5000

/* Wait for the reply while serving signals: smss may end the session (SIGTERM to us)
 * before it answers. 0: accepted or ended; -1: refused or no answer (logged). */
static int await_reply(struct winlogon *w, int fd, uint64_t cookie, int timeout_ms)
{
    for (;;) {
        struct pollfd p[2] = {{fd, POLLIN, 0}, {w->sig_fd, POLLIN, 0}};
        int r = poll(p, 2, timeout_ms);
        if (r == 0) {
            log_error("SM_STOP_CSR: no reply from smss within %d ms", timeout_ms);
            return -1;
        }
        if (r < 0 && errno != EINTR)
            return -1;
        if (p[1].revents & POLLIN) {
            serve_signals(w);
            if (w->terminate) {
                log_info("SM_STOP_CSR: smss is ending the session");
                return 0;
            }
        }
        if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        struct smapi_message m;
        if (smapi_recv(fd, &m, SMAPI_MAX_REPLY, 1000) < 0) {
            log_error("SM_STOP_CSR: reading the reply: %s", strerror(errno));
            return -1;
        }
        int status = m.h.status;
        bool mine = m.h.cookie == cookie && m.h.type == SM_STOP_CSR;
        if (mine && status != SMAPI_OK) {
            const struct smapi_error *e = m.body;
            log_error("SM_STOP_CSR refused (status %d): %.*s", status,
                      m.h.length >= sizeof *e ? (int)sizeof e->message : 0,
                      m.h.length >= sizeof *e ? e->message : "");
        }
        smapi_message_free(&m);
        if (mine)
            return status == SMAPI_OK ? 0 : -1;
    }
}

int request_session_end(struct winlogon *w)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/SmApiPort", w->runtime_dir ? w->runtime_dir : "");
    int fd = smapi_connect(path, CONNECT_TIMEOUT_MS);
    if (fd < 0) {
        log_error("cannot reach smss at %s to end session %u: %s", path, w->session,
                  strerror(errno));
        return -1;
    }
    struct smapi_session_ref ref = {.session = w->session, .exit_status = 0};
    uint64_t cookie = (uint64_t)getpid() << 32 | w->session;
    log_info("logoff: asking smss to end session %u (SM_STOP_CSR)", w->session);
    int r = smapi_send(fd, SM_STOP_CSR, 0, cookie, &ref, sizeof ref, NULL, 0);
    if (r < 0)
        log_error("SM_STOP_CSR to %s: %s", path, strerror(errno));
    else
        r = await_reply(w, fd, cookie, (int)w->c->shutdown_timeout_ms + 10000);
    close(fd);
    return r;
}
