#include "smapi_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

const char *smapi_type_name(uint16_t type)
{
    switch (type) {
    case SM_CREATE_FOREIGN_SESSION: return "CreateForeignSession";
    case SM_SESSION_COMPLETE: return "SessionComplete";
    case SM_TERMINATE_FOREIGN_SESSION: return "TerminateForeignSession";
    case SM_EXEC_PGM: return "ExecPgm";
    case SM_LOAD_DEFERED_SUBSYSTEM: return "LoadDeferedSubsystem";
    case SM_START_CSR: return "StartCsr";
    case SM_STOP_CSR: return "StopCsr";
    case SM_QUERY: return "Query";
    case SM_TREE: return "Tree";
    case SM_SHUTDOWN: return "Shutdown";
    case SM_CONNECT_SUBSYSTEM: return "ConnectSubsystem";
    case SM_SESSION_LIST: return "SessionList";
    case SM_CHILD_REQUEST: return "ChildRequest";
    case SM_CHILD_STARTED: return "ChildStarted";
    case SM_CHILD_REPORT: return "ChildReport";
    case SB_CREATE_SESSION: return "SbCreateSession";
    case SB_TERMINATE_SESSION: return "SbTerminateSession";
    case SB_FOREIGN_SESSION_COMPLETE: return "SbForeignSessionComplete";
    case SB_CREATE_PROCESS: return "SbCreateProcess";
    case SB_PROCESS_EXITED: return "SbProcessExited";
    }
    return "unknown";
}

const char *smapi_role_name(uint32_t role)
{
    static const char *const names[] = {"master", "session-child", "subsystem", "initial",
                                        "service", "user", "other"};
    return role < sizeof names / sizeof *names ? names[role] : "other";
}

long smapi_request_size(uint16_t type)
{
    switch (type) {
    case SM_CREATE_FOREIGN_SESSION: return 0;
    case SM_SESSION_COMPLETE:
    case SM_TERMINATE_FOREIGN_SESSION:
    case SM_STOP_CSR:
    case SB_TERMINATE_SESSION:
    case SB_FOREIGN_SESSION_COMPLETE: return sizeof(struct smapi_session_ref);
    case SB_CREATE_SESSION: return sizeof(struct smapi_sb_create_session);
    case SM_EXEC_PGM:
    case SB_CREATE_PROCESS: return sizeof(struct smapi_exec);
    case SM_LOAD_DEFERED_SUBSYSTEM: return sizeof(struct smapi_load_subsystem);
    case SM_START_CSR: return sizeof(struct smapi_start_csr);
    case SM_QUERY:
    case SM_TREE:
    case SM_SESSION_LIST: return 0;
    case SM_SHUTDOWN: return sizeof(struct smapi_shutdown);
    case SM_CONNECT_SUBSYSTEM: return sizeof(struct smapi_connect_subsystem);
    case SM_CHILD_REQUEST: return sizeof(struct smapi_child_request);
    case SM_CHILD_STARTED: return sizeof(struct smapi_child_started);
    case SM_CHILD_REPORT: return sizeof(struct smapi_child_report);
    }
    return -1;
}

char **smapi_exec_argv(const struct smapi_exec *rq, char *why, size_t n)
{
    if (rq->argc == 0 || rq->argc > 1024 || rq->argv_len > sizeof rq->argv) {
        snprintf(why, n, "argument list of %u strings in %u bytes: out of range (1 to 1024 "
                 "strings, at most %zu bytes)", rq->argc, rq->argv_len, sizeof rq->argv);
        return NULL;
    }
    char **argv = calloc(rq->argc + 1, sizeof *argv);
    if (!argv) {
        snprintf(why, n, "out of memory");
        return NULL;
    }
    size_t off = 0;
    for (uint32_t i = 0; i < rq->argc; i++) {
        const char *s = rq->argv + off;
        size_t len = off < rq->argv_len ? strnlen(s, rq->argv_len - off) : 0;
        if (off >= rq->argv_len || off + len >= rq->argv_len) {
            snprintf(why, n, "argument %u is not NUL-terminated within the %u bytes given", i,
                     rq->argv_len);
            free(argv);
            return NULL;
        }
        argv[i] = (char *)s;
        off += len + 1;
    }
    if (!argv[0][0]) {
        snprintf(why, n, "the program name is empty");
        free(argv);
        return NULL;
    }
    return argv;
}

int smapi_validate_request(const struct smapi_message *m, char *why, size_t n)
{
    long want = smapi_request_size(m->h.type);
    if (want < 0) {
        snprintf(why, n, "unknown message type %u", m->h.type);
        return SMAPI_E_PROTOCOL;
    }
    if (want > 0 && m->h.length != (uint32_t)want) {
        snprintf(why, n, "%s takes a body of %ld bytes, not %u", smapi_type_name(m->h.type), want,
                 m->h.length);
        return SMAPI_E_PROTOCOL;
    }
    if (m->h.type == SM_EXEC_PGM || m->h.type == SB_CREATE_PROCESS) {
        char **argv = smapi_exec_argv(m->body, why, n);
        if (!argv)
            return SMAPI_E_PROTOCOL;
        free(argv);
    }
    return SMAPI_OK;
}

void smapi_message_free(struct smapi_message *m)
{
    for (int i = 0; i < m->nfds; i++)
        if (m->fds[i] >= 0)
            close(m->fds[i]);
    free(m->body);
    memset(m, 0, sizeof *m);
}

int smapi_send(int fd, uint16_t type, int32_t status, uint64_t cookie, const void *body,
               size_t len, const int *fds, int nfds)
{
    struct smapi_header h = {SMAPI_MAGIC, SMAPI_VERSION, type, (uint32_t)len, status, cookie};
    struct iovec iov[2] = {{&h, sizeof h}, {(void *)body, len}};
    union {
        char buf[CMSG_SPACE(sizeof(int) * SMAPI_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
    if (nfds > 0) {
        memset(&ctl, 0, sizeof ctl);
        mh.msg_control = ctl.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    size_t total = sizeof h + len, sent = 0;
    while (sent < total) {
        ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) { /* a non-blocking socket: wait for room */
                struct pollfd p = {fd, POLLOUT, 0};
                if (poll(&p, 1, 5000) <= 0) {
                    errno = ETIMEDOUT;
                    return -1;
                }
                continue;
            }
            return -1;
        }
        sent += (size_t)n;
        mh.msg_control = NULL; /* descriptors go with the first byte only */
        mh.msg_controllen = 0;
        size_t skip = (size_t)n;
        while (skip && mh.msg_iovlen) {
            if (skip >= mh.msg_iov->iov_len) {
                skip -= mh.msg_iov->iov_len;
                mh.msg_iov++;
                mh.msg_iovlen--;
            } else {
                mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + skip;
                mh.msg_iov->iov_len -= skip;
                skip = 0;
            }
        }
    }
    return 0;
}

int smapi_send_error(int fd, uint16_t type, uint64_t cookie, int status, int errnum,
                     const char *fmt, ...)
{
    struct smapi_error e = {errnum, ""};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    return smapi_send(fd, type, status, cookie, &e, sizeof e, NULL, 0);
}

int smapi_check_header(const struct smapi_header *h, size_t max_body, char *why, size_t n)
{
    if (h->magic != SMAPI_MAGIC) {
        snprintf(why, n, "not an SM API message (magic 0x%08x)", h->magic);
        return SMAPI_E_PROTOCOL;
    }
    if (h->version != SMAPI_VERSION) {
        snprintf(why, n, "protocol version %u; this smss speaks version %u", h->version,
                 SMAPI_VERSION);
        return SMAPI_E_PROTOCOL;
    }
    if (h->length > max_body) {
        snprintf(why, n, "message of %u bytes; the limit is %zu", h->length, max_body);
        return SMAPI_E_PROTOCOL;
    }
    return SMAPI_OK;
}

/* Collect SCM_RIGHTS descriptors of one recvmsg into m (extra ones are closed). */
static void take_fds(struct msghdr *mh, struct smapi_message *m)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *fds = (int *)CMSG_DATA(c);
        for (size_t i = 0; i < count; i++) {
            if (m->nfds < SMAPI_MAX_FDS)
                m->fds[m->nfds++] = fds[i];
            else
                close(fds[i]);
        }
    }
}

static ssize_t recv_some(int fd, void *buf, size_t len, struct smapi_message *m)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * SMAPI_MAX_FDS * 2)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {buf, len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof ctl.buf};
    ssize_t n;
    do
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        take_fds(&mh, m);
    return n;
}

void smapi_reader_init(struct smapi_reader *r) { memset(r, 0, sizeof *r); }

void smapi_reader_free(struct smapi_reader *r)
{
    smapi_message_free(&r->msg);
    smapi_reader_init(r);
}

int smapi_reader_step(struct smapi_reader *r, int fd, size_t max_body, char *why, size_t n)
{
    for (;;) {
        size_t want;
        void *dst;
        if (!r->in_body) {
            want = sizeof r->hdr - r->have;
            dst = r->hdr + r->have;
        } else {
            want = r->msg.h.length - (r->have - sizeof r->hdr);
            dst = (char *)r->msg.body + (r->have - sizeof r->hdr);
        }
        if (want == 0 && r->in_body)
            goto complete;
        ssize_t got = recv_some(fd, dst, want, &r->msg);
        if (got < 0)
            return errno == EAGAIN ? 0 : -1;
        if (got == 0) {
            snprintf(why, n, r->have ? "connection closed in the middle of a message"
                                      : "connection closed");
            errno = ECONNRESET;
            return -1;
        }
        r->have += (size_t)got;
        if (!r->in_body && r->have == sizeof r->hdr) {
            memcpy(&r->msg.h, r->hdr, sizeof r->hdr);
            if (smapi_check_header(&r->msg.h, max_body, why, n) != SMAPI_OK) {
                errno = EPROTO;
                return -1;
            }
            r->msg.body = calloc(1, (size_t)r->msg.h.length + 1);
            if (!r->msg.body) {
                snprintf(why, n, "out of memory");
                errno = ENOMEM;
                return -1;
            }
            r->in_body = true;
            if (r->msg.h.length == 0)
                goto complete;
        } else if (r->in_body && r->have - sizeof r->hdr == r->msg.h.length) {
            goto complete;
        }
    }
complete:
    r->have = 0;
    r->in_body = false;
    return 1;
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int smapi_recv(int fd, struct smapi_message *m, size_t max_body, int timeout_ms)
{
    struct smapi_reader r;
    smapi_reader_init(&r);
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    char why[256];
    for (;;) {
        int s = smapi_reader_step(&r, fd, max_body, why, sizeof why);
        if (s == 1) {
            *m = r.msg;
            return 0;
        }
        if (s < 0) {
            int e = errno;
            smapi_reader_free(&r);
            errno = e;
            return -1;
        }
        int wait = deadline < 0 ? -1 : (int)(deadline - now_ms());
        if (deadline >= 0 && wait <= 0) {
            smapi_reader_free(&r);
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, wait) < 0 && errno != EINTR) {
            int e = errno;
            smapi_reader_free(&r);
            errno = e;
            return -1;
        }
    }
}

int smapi_connect(const char *path, int timeout_ms)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int smapi_call(int fd, uint16_t type, const void *body, size_t len, const int *fds, int nfds,
               struct smapi_message *reply, int timeout_ms)
{
    static uint64_t next_cookie = 1;
    uint64_t cookie = (uint64_t)getpid() << 32 | next_cookie++;
    if (smapi_send(fd, type, 0, cookie, body, len, fds, nfds) < 0)
        return -1;
    for (;;) {
        if (smapi_recv(fd, reply, SMAPI_MAX_REPLY, timeout_ms) < 0)
            return -1;
        if (reply->h.cookie == cookie)
            return 0;
        smapi_message_free(reply); /* a late message of an earlier call */
    }
}
