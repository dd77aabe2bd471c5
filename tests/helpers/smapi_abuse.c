/* smapi_abuse: clients that misbehave, and many that behave, against a running master.
 *
 *   smapi_abuse hostile RUNTIME_DIR      malformed messages of every kind
 *   smapi_abuse silent RUNTIME_DIR       silent and half-sent connections vs. a real client
 *   smapi_abuse stress RUNTIME_DIR N     N clients at once, each StartCsr then StopCsr
 *   smapi_abuse plain RUNTIME_DIR        SessionComplete / TerminateForeignSession from a
 *                                        process that is no subsystem
 *
 * Prints "PASS what" / "FAIL what: why" lines; exits 1 when anything failed. */
#include "smapi_client.h"
#include "smapi_wire.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;
static const char *runtime;

static void result(bool ok, const char *what, const char *why)
{
    printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", what, ok ? "" : ": ", ok ? "" : why);
    fflush(stdout);
    failures += !ok;
}

static int connect_master(void)
{
    struct smapi_client_error err;
    int fd = smapi_open(runtime, 5000, &err);
    if (fd < 0) {
        fprintf(stderr, "%s\n", err.message);
        exit(2);
    }
    return fd;
}

/* The master still answers a well-formed request. */
static bool still_serving(void)
{
    int fd = connect_master();
    struct smapi_session *v = NULL;
    size_t n = 0;
    struct smapi_client_error err;
    bool ok = smapi_sessions(fd, &v, &n, &err) == 0 && n >= 1;
    free(v);
    close(fd);
    return ok;
}

/* Send raw bytes; expect an error reply with the given status, or the connection closed
 * after one (want < 0: any error status). */
static void expect_error(const char *what, const void *bytes, size_t len, int want)
{
    int fd = connect_master();
    char why[300] = "";
    if (send(fd, bytes, len, MSG_NOSIGNAL) != (ssize_t)len) {
        snprintf(why, sizeof why, "send: %s", strerror(errno));
        result(false, what, why);
        close(fd);
        return;
    }
    struct smapi_message m;
    bool ok = false;
    if (smapi_recv(fd, &m, SMAPI_MAX_REPLY, 3000) == 0) {
        ok = m.h.status != SMAPI_OK && (want < 0 || m.h.status == want);
        snprintf(why, sizeof why, "reply status %d, wanted %d", m.h.status, want);
        smapi_message_free(&m);
    } else {
        snprintf(why, sizeof why, "no error reply (%s)", strerror(errno));
    }
    close(fd);
    result(ok && still_serving(), what, why);
}

static size_t header(void *out, uint32_t magic, uint16_t version, uint16_t type, uint32_t length)
{
    struct smapi_header h = {magic, version, type, length, 0, 42};
    memcpy(out, &h, sizeof h);
    return sizeof h;
}

static void hostile(void)
{
    unsigned char buf[8192];
    size_t n;
    n = header(buf, 0xdeadbeef, SMAPI_VERSION, SM_TREE, 0);
    expect_error("wrong magic is answered with a protocol error", buf, n, SMAPI_E_PROTOCOL);
    n = header(buf, SMAPI_MAGIC, 99, SM_TREE, 0);
    expect_error("wrong version is answered with a protocol error", buf, n, SMAPI_E_PROTOCOL);
    n = header(buf, SMAPI_MAGIC, SMAPI_VERSION, SM_TREE, SMAPI_MAX_REQUEST + 1);
    expect_error("an oversized message is answered with a protocol error", buf, n, SMAPI_E_PROTOCOL);
    n = header(buf, SMAPI_MAGIC, SMAPI_VERSION, 0x7777, 0);
    expect_error("an unknown message type is answered with a protocol error", buf, n, SMAPI_E_PROTOCOL);
    n = header(buf, SMAPI_MAGIC, SMAPI_VERSION, SM_SHUTDOWN, 9);
    memset(buf + n, 0, 9);
    expect_error("a body of the wrong size is answered with a protocol error", buf, n + 9, SMAPI_E_PROTOCOL);
    /* An exec whose argument count runs past its bytes. */
    struct smapi_exec ex = {.session = 1, .argc = 5, .argv_len = 3};
    memcpy(ex.argv, "abc", 3);
    n = header(buf, SMAPI_MAGIC, SMAPI_VERSION, SM_EXEC_PGM, sizeof ex);
    memcpy(buf + n, &ex, sizeof ex);
    expect_error("an exec with a malformed argument list is refused", buf, n + sizeof ex, SMAPI_E_PROTOCOL);
    /* Random bytes. */
    srand(7);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)rand();
    expect_error("random bytes are answered with a protocol error", buf, 512, SMAPI_E_PROTOCOL);
    /* A truncated message, then the connection closed: the master goes on. */
    int fd = connect_master();
    n = header(buf, SMAPI_MAGIC, SMAPI_VERSION, SM_SHUTDOWN, 4);
    if (send(fd, buf, n - 5, MSG_NOSIGNAL) < 0)
        perror("send");
    close(fd);
    result(still_serving(), "a truncated message and a closed connection leave the master serving", "");
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void silent(void)
{
    enum { QUIET = 64 };
    int quiet[QUIET];
    unsigned char buf[64];
    size_t n = header(buf, SMAPI_MAGIC, SMAPI_VERSION, SM_TREE, 0);
    for (int i = 0; i < QUIET; i++) {
        quiet[i] = connect_master();
        if (i % 2 && send(quiet[i], buf, n / 2, MSG_NOSIGNAL) < 0) /* half a header */
            perror("send");
    }
    long long t0 = now_ms();
    bool ok = still_serving();
    long long ms = now_ms() - t0;
    char why[64];
    snprintf(why, sizeof why, "took %lld ms", ms);
    result(ok && ms < 1000, "silent and half-sent clients do not delay another client", why);
    for (int i = 0; i < QUIET; i++)
        close(quiet[i]);
}

static void stress(int clients)
{
    int pipefd[2];
    if (pipe(pipefd) < 0)
        exit(2);
    for (int i = 0; i < clients; i++) {
        if (fork() != 0)
            continue;
        close(pipefd[0]);
        struct smapi_client_error err;
        struct smapi_session_info info;
        int fd = smapi_open(runtime, 10000, &err);
        char line[700];
        int ok = fd >= 0 && smapi_start_csr(fd, SMAPI_SESSION_NONE, "", &info, 120000, &err) == 0 &&
                 info.csrss_pid > 0 && info.initial_pid > 0 &&
                 smapi_stop_csr(fd, info.session, &err) == 0;
        int len = snprintf(line, sizeof line, "%d %s\n", ok, ok ? "" : err.message);
        if (write(pipefd[1], line, (size_t)len) < 0)
            _exit(3);
        _exit(ok ? 0 : 1);
    }
    close(pipefd[1]);
    int good = 0, bad = 0;
    char first_error[700] = "";
    FILE *f = fdopen(pipefd[0], "r");
    char line[700];
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] == '1') {
            good++;
        } else {
            if (!bad)
                snprintf(first_error, sizeof first_error, "%s", line + 2);
            bad++;
        }
    }
    while (wait(NULL) > 0)
        ;
    char why[800];
    snprintf(why, sizeof why, "%d of %d clients succeeded; first error: %s", good, clients, first_error);
    result(good == clients, "every client created and terminated its session", why);
    result(still_serving(), "the master serves after the storm", "");
}

static void plain(void)
{
    int fd = connect_master();
    struct smapi_session_ref ref = {1, 0};
    struct smapi_message rep;
    struct smapi_client_error err;
    bool refused = smapi_request(fd, SM_SESSION_COMPLETE, &ref, sizeof ref, NULL, 0, &rep, 5000, &err) < 0 &&
                   err.status == SMAPI_E_DENIED;
    result(refused, "SessionComplete from a process that is no subsystem is refused", err.message);
    ref.session = 0;
    refused = smapi_request(fd, SM_TERMINATE_FOREIGN_SESSION, &ref, sizeof ref, NULL, 0, &rep, 5000, &err) < 0 &&
              err.status == SMAPI_E_DENIED;
    result(refused, "TerminateForeignSession of session 0 is refused", err.message);
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: smapi_abuse hostile|silent|stress|plain RUNTIME_DIR [N]\n");
        return 2;
    }
    runtime = argv[2];
    if (!strcmp(argv[1], "hostile"))
        hostile();
    else if (!strcmp(argv[1], "silent"))
        silent();
    else if (!strcmp(argv[1], "stress"))
        stress(argc > 3 ? atoi(argv[3]) : 200);
    else if (!strcmp(argv[1], "plain"))
        plain();
    else
        return 2;
    return failures ? 1 : 0;
}
