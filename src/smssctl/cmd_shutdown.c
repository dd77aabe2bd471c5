/* smssctl shutdown: ask the master for an orderly shutdown. */
#include "smapi_client.h"
#include "smssctl.h"

#include <getopt.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("Usage: smssctl shutdown [--reboot | --poweroff] [--runtime-dir DIR]\n"
          "End every session in order (the highest first: its initial process, then its\n"
          "subsystems), then halt (the master exits 0), reboot or power off. Root only (or\n"
          "the configured API group).\n",
          out);
}

int cmd_shutdown(struct smssctl *ctl, int argc, char **argv)
{
    static const struct option opts[] = {{"reboot", no_argument, NULL, 'r'},
                                         {"poweroff", no_argument, NULL, 'p'},
                                         {"runtime-dir", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    uint32_t action = SMAPI_SHUTDOWN_HALT;
    const char *runtime = NULL;
    int o;
    optind = 0; /* GNU getopt: start afresh after main's own parse */
    (void)ctl;
    while ((o = getopt_long(argc, argv, "rpd:h", opts, NULL)) != -1) {
        switch (o) {
        case 'r': action = SMAPI_SHUTDOWN_REBOOT; break;
        case 'p': action = SMAPI_SHUTDOWN_POWEROFF; break;
        case 'd': runtime = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    struct smapi_client_error err;
    int fd = smapi_open(smapi_runtime_dir(runtime), 5000, &err);
    if (fd < 0 || smapi_shutdown(fd, action, &err) < 0) {
        if (fd >= 0)
            close(fd);
        return smssctl_fail("shutdown", EXIT_REFUSED, "%s", err.message);
    }
    close(fd);
    return EXIT_OK;
}
