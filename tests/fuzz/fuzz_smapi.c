/* libFuzzer target: the SM/SB API decoder. Arbitrary bytes arrive on a socket as a client
 * would send them; the incremental reader frames them, every complete message is
 * validated as the master and csrss validate requests, and exec requests' argument
 * lists are unpacked. Nothing may crash, leak or read out of bounds, whatever the bytes. */
#include "smapi_wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return 0;
    /* Feed in pieces, as a slow client would; the reader must not care. */
    size_t cut = size ? data[0] % 64 + 1 : 1;
    struct smapi_reader r;
    smapi_reader_init(&r);
    char why[256];
    int state = 0;
    for (size_t off = 0; off < size && state >= 0; off += cut) {
        size_t len = size - off < cut ? size - off : cut;
        if (write(sv[0], data + off, len) != (ssize_t)len)
            break;
        while ((state = smapi_reader_step(&r, sv[1], SMAPI_MAX_REQUEST, why, sizeof why)) == 1) {
            if (smapi_validate_request(&r.msg, why, sizeof why) == SMAPI_OK &&
                (r.msg.h.type == SM_EXEC_PGM || r.msg.h.type == SB_CREATE_PROCESS)) {
                char **argv = smapi_exec_argv(r.msg.body, why, sizeof why);
                for (size_t i = 0; argv && argv[i]; i++)
                    (void)strlen(argv[i]);
                free(argv);
            }
            smapi_message_free(&r.msg);
        }
    }
    close(sv[0]);
    if (state >= 0) /* the end of input: a partial message is dropped cleanly */
        smapi_reader_step(&r, sv[1], SMAPI_MAX_REQUEST, why, sizeof why);
    smapi_reader_free(&r);
    close(sv[1]);
    return 0;
}
