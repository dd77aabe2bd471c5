/* fake_smapi: a stand-in for smss's SmApiPort in tests of its clients.
 *
 *   fake_smapi SOCKET STATUS
 *
 * Listens on SOCKET, takes one connection, reads one request, prints
 * "TYPE-NAME type=N length=N session=N exit_status=N" (session fields for the session
 * requests), answers it with STATUS (0, or an SMAPI_E_* number with an error message),
 * and exits 0 (1 when nothing valid arrived). */
#include "smapi.h"
#include "smapi_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fake_smapi SOCKET STATUS\n");
        return 2;
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[1]);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(argv[1]);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0) {
        perror("fake_smapi");
        return 1;
    }
    int c = accept(l, NULL, NULL);
    struct smapi_message m;
    if (c < 0 || smapi_recv(c, &m, SMAPI_MAX_REQUEST, 20000) < 0) {
        fprintf(stderr, "fake_smapi: no request: %s\n", strerror(errno));
        return 1;
    }
    printf("%s type=%u length=%u", smapi_type_name(m.h.type), m.h.type, m.h.length);
    if (m.h.length == sizeof(struct smapi_session_ref)) {
        const struct smapi_session_ref *r = m.body;
        printf(" session=%u exit_status=%d", r->session, r->exit_status);
    }
    printf("\n");
    fflush(stdout);
    int status = atoi(argv[2]);
    if (status == 0)
        smapi_send(c, m.h.type, 0, m.h.cookie, NULL, 0, NULL, 0);
    else
        smapi_send_error(c, m.h.type, m.h.cookie, status, 0, "refused by the test");
    smapi_message_free(&m);
    sleep(1); /* let the client read before the connection closes */
    close(c);
    close(l);
    unlink(argv[1]);
    return 0;
}
