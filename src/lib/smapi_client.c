#include "smapi_client.h"
#include "buf.h"
#include "smapi_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CALL_TIMEOUT_MS = 30000 };

static int transport_error(struct smapi_client_error *err, const char *what)
{
    err->status = -1;
    err->errnum = errno;
    snprintf(err->message, sizeof err->message, "%s: %s", what, strerror(errno));
    return -1;
}

const char *smapi_runtime_dir(const char *explicit_dir)
{
    if (explicit_dir && explicit_dir[0])
        return explicit_dir;
    const char *env = getenv("SMSS_RUNTIME_DIR");
    return env && env[0] ? env : "/run/smss";
}

int smapi_open(const char *runtime_dir, int timeout_ms, struct smapi_client_error *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/SmApiPort", runtime_dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return transport_error(err, runtime_dir);
    }
    int fd = smapi_connect(path, timeout_ms);
    if (fd < 0) {
        err->status = -1;
        err->errnum = errno;
        snprintf(err->message, sizeof err->message,
                 "the Session Manager is not reachable at %s (%s); is smss running? Give its "
                 "runtime directory with --runtime-dir",
                 path, strerror(errno));
    }
    return fd;
}

int smapi_request(int fd, uint16_t type, const void *body, size_t len, const int *fds,
                  int nfds, struct smapi_message *reply, int timeout_ms,
                  struct smapi_client_error *err)
{
    if (smapi_call(fd, type, body, len, fds, nfds, reply, timeout_ms) < 0)
        return transport_error(err, errno == ETIMEDOUT ? "no answer from the Session Manager"
                                                       : "the Session Manager connection failed");
    if (reply->h.status == SMAPI_OK)
        return 0;
    err->status = reply->h.status;
    err->errnum = 0;
    if (reply->h.length == sizeof(struct smapi_error)) {
        const struct smapi_error *e = reply->body;
        err->errnum = e->errnum;
        FIELD_COPY(err->message, e->message);
    } else {
        snprintf(err->message, sizeof err->message, "refused (status %d)", reply->h.status);
    }
    smapi_message_free(reply);
    return -1;
}

/* A reply made of fixed-size records: hand over the array. */
static int records(int fd, uint16_t type, size_t size, void **v, size_t *n,
                   struct smapi_client_error *err)
{
    struct smapi_message rep;
    if (smapi_request(fd, type, NULL, 0, NULL, 0, &rep, CALL_TIMEOUT_MS, err) < 0)
        return -1;
    if (rep.h.length % size) {
        smapi_message_free(&rep);
        errno = EPROTO;
        return transport_error(err, "malformed reply");
    }
    *n = rep.h.length / size;
    *v = rep.body;
    rep.body = NULL;
    smapi_message_free(&rep);
    return 0;
}

int smapi_tree(int fd, struct smapi_process **recs, size_t *n, struct smapi_client_error *err)
{
    return records(fd, SM_TREE, sizeof **recs, (void **)recs, n, err);
}

int smapi_sessions(int fd, struct smapi_session **v, size_t *n, struct smapi_client_error *err)
{
    return records(fd, SM_SESSION_LIST, sizeof **v, (void **)v, n, err);
}

int smapi_query(int fd, char **json, struct smapi_client_error *err)
{
    struct smapi_message rep;
    if (smapi_request(fd, SM_QUERY, NULL, 0, NULL, 0, &rep, CALL_TIMEOUT_MS, err) < 0)
        return -1;
    *json = rep.body; /* NUL-terminated by the reader */
    rep.body = NULL;
    smapi_message_free(&rep);
    return 0;
}

static int simple(int fd, uint16_t type, const void *body, size_t len, int timeout_ms,
                  struct smapi_client_error *err)
{
    struct smapi_message rep;
    if (smapi_request(fd, type, body, len, NULL, 0, &rep, timeout_ms, err) < 0)
        return -1;
    smapi_message_free(&rep);
    return 0;
}

int smapi_shutdown(int fd, uint32_t action, struct smapi_client_error *err)
{
    struct smapi_shutdown rq = {action};
    return simple(fd, SM_SHUTDOWN, &rq, sizeof rq, CALL_TIMEOUT_MS, err);
}

int smapi_start_csr(int fd, uint32_t session, const char *command,
                    struct smapi_session_info *out, int timeout_ms,
                    struct smapi_client_error *err)
{
    struct smapi_start_csr rq = {.session = session};
    if (str_copy(rq.command, sizeof rq.command, command ? command : "") >= sizeof rq.command) {
        errno = E2BIG;
        return transport_error(err, "the command line is too long");
    }
    struct smapi_message rep;
    if (smapi_request(fd, SM_START_CSR, &rq, sizeof rq, NULL, 0, &rep, timeout_ms, err) < 0)
        return -1;
    int rc = 0;
    if (rep.h.length == sizeof *out) {
        memcpy(out, rep.body, sizeof *out);
    } else {
        errno = EPROTO;
        rc = transport_error(err, "malformed reply");
    }
    smapi_message_free(&rep);
    return rc;
}

int smapi_stop_csr(int fd, uint32_t session, struct smapi_client_error *err)
{
    struct smapi_session_ref rq = {session, 0};
    return simple(fd, SM_STOP_CSR, &rq, sizeof rq, CALL_TIMEOUT_MS, err);
}

int smapi_exec(int fd, uint32_t session, const char *user, char *const *argv,
               const int *stdio, pid_t *pid, struct smapi_client_error *err)
{
    struct smapi_exec *rq = calloc(1, sizeof *rq);
    if (!rq)
        return transport_error(err, "out of memory");
    rq->session = session;
    rq->flags = stdio ? SMAPI_EXEC_STDIO : 0;
    str_copy(rq->user, sizeof rq->user, user ? user : "");
    size_t used = 0;
    for (; argv[rq->argc]; rq->argc++) {
        size_t len = strlen(argv[rq->argc]) + 1;
        if (used + len > sizeof rq->argv) {
            free(rq);
            errno = E2BIG;
            return transport_error(err, "the command line is too long");
        }
        memcpy(rq->argv + used, argv[rq->argc], len);
        used += len;
    }
    rq->argv_len = (uint32_t)used;
    struct smapi_message rep;
    int r = smapi_request(fd, SM_EXEC_PGM, rq, sizeof *rq, stdio, stdio ? 3 : 0, &rep,
                          CALL_TIMEOUT_MS, err);
    free(rq);
    if (r < 0)
        return -1;
    if (rep.h.length == sizeof(struct smapi_process_started))
        *pid = ((const struct smapi_process_started *)rep.body)->pid;
    smapi_message_free(&rep);
    return 0;
}

int smapi_load_subsystem(int fd, const char *name, struct smapi_client_error *err)
{
    struct smapi_load_subsystem rq;
    memset(&rq, 0, sizeof rq);
    str_copy(rq.name, sizeof rq.name, name);
    return simple(fd, SM_LOAD_DEFERED_SUBSYSTEM, &rq, sizeof rq, CALL_TIMEOUT_MS, err);
}
