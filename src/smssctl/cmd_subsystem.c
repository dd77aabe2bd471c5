/* smssctl subsystem load NAME: start an Optional subsystem in the caller's session. */
#include "smapi_client.h"
#include "smssctl.h"

#include <string.h>
#include <unistd.h>

int cmd_subsystem(struct smssctl *ctl, int argc, char **argv)
{
    (void)ctl;
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        puts("Usage: smssctl subsystem load NAME\n"
             "Start the Optional subsystem NAME (SubSystems\\Optional, no case) in the\n"
             "session this command runs in (LoadDeferedSubsystem).");
        return EXIT_OK;
    }
    if (argc != 3 || strcmp(argv[1], "load"))
        return smssctl_fail("subsystem", EXIT_USAGE, "usage: smssctl subsystem load NAME");
    struct smapi_client_error err;
    int fd = smapi_open(smapi_runtime_dir(NULL), 5000, &err);
    if (fd < 0 || smapi_load_subsystem(fd, argv[2], &err) < 0) {
        if (fd >= 0)
            close(fd);
        return smssctl_fail("subsystem load", EXIT_REFUSED, "%s", err.message);
    }
    close(fd);
    return EXIT_OK;
}
