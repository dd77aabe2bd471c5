/* Sending and receiving SM/SB API messages (framing, file descriptors, limits). The
 * master reads without blocking through smapi_reader; clients and subsystems use the
 * blocking calls with a timeout. */
#ifndef SMSS_SMAPI_WIRE_H
#define SMSS_SMAPI_WIRE_H
#include "smapi.h"
#include <stdbool.h>
#include <stddef.h>

#define SMAPI_MAX_FDS 3

struct smapi_message {
    struct smapi_header h;
    void *body;      /* h.length bytes (malloc'd, NUL-terminated one past the end) */
    int fds[SMAPI_MAX_FDS];
    int nfds;
};
void smapi_message_free(struct smapi_message *m); /* closes unclaimed fds (set to -1 to keep) */

/* Send one message whole (blocking; EINTR and short writes handled). 0 or -1 errno. */
int smapi_send(int fd, uint16_t type, int32_t status, uint64_t cookie, const void *body,
               size_t len, const int *fds, int nfds);
/* An error reply: status, errno and a formatted message. */
int smapi_send_error(int fd, uint16_t type, uint64_t cookie, int status, int errnum,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Receive one message, waiting at most timeout_ms (-1: forever). 0, or -1 with errno:
 * ETIMEDOUT, ECONNRESET (peer closed), EPROTO (bad magic/version/length; *why set). */
int smapi_recv(int fd, struct smapi_message *m, size_t max_body, int timeout_ms);

/* Check a header: SMAPI_OK or SMAPI_E_PROTOCOL with a reason in why. */
int smapi_check_header(const struct smapi_header *h, size_t max_body, char *why, size_t n);
/* The body size a request type must have; 0 = any size up to the limit, -1 unknown. */
long smapi_request_size(uint16_t type);

/* Check a received request whole: its type is known, its body has that type's size, its
 * counted fields fit their arrays. SMAPI_OK, or SMAPI_E_PROTOCOL with why. */
int smapi_validate_request(const struct smapi_message *m, char *why, size_t n);
/* The argument vector of an exec request (pointers into the request; free the array
 * only). NULL when malformed (why says how) or out of memory. */
char **smapi_exec_argv(const struct smapi_exec *rq, char *why, size_t n);

/* Non-blocking incremental reader (the master's side of a connection). */
struct smapi_reader {
    unsigned char hdr[sizeof(struct smapi_header)];
    size_t have;        /* bytes of header + body read so far */
    struct smapi_message msg;
    bool in_body;
};
void smapi_reader_init(struct smapi_reader *r);
void smapi_reader_free(struct smapi_reader *r);
/* Read what is available. 1: a complete message in r->msg (take it, then call again),
 * 0: need more (EAGAIN), -1: error or EOF (errno ECONNRESET at EOF, EPROTO when the
 * message is malformed; *why says how). */
int smapi_reader_step(struct smapi_reader *r, int fd, size_t max_body, char *why, size_t n);

/* Connect to a UNIX socket path (blocking), with SO_SNDTIMEO/SO_RCVTIMEO of timeout_ms. */
int smapi_connect(const char *path, int timeout_ms);
/* A request/reply round trip on fd: send, then wait for the reply of the same cookie. */
int smapi_call(int fd, uint16_t type, const void *body, size_t len, const int *fds, int nfds,
               struct smapi_message *reply, int timeout_ms);

#endif
