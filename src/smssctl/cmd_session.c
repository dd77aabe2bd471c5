/* smssctl session create|terminate: StartCsr and StopCsr. */
#include "smapi_client.h"
#include "smssctl.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("Usage: smssctl session create [--id N] [--command CMD] [--json] [--runtime-dir DIR]\n"
          "       smssctl session terminate ID [--runtime-dir DIR]\n"
          "create: a new session (the lowest free ID unless --id), with its csrss and its\n"
          "initial command (winlogon, or CMD); the reply comes once both run.\n"
          "terminate: end a session: its initial process, then its subsystems, then\n"
          "whatever is left in it; the reply comes once nothing of it is left.\n",
          out);
}

static int parse_id(const char *s, uint32_t *id)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v >= SMAPI_SESSION_NONE)
        return -1;
    *id = (uint32_t)v;
    return 0;
}

int cmd_session(struct smssctl *ctl, int argc, char **argv)
{
    static const struct option opts[] = {{"id", required_argument, NULL, 'i'},
                                         {"command", required_argument, NULL, 'c'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"runtime-dir", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    uint32_t id = SMAPI_SESSION_NONE;
    const char *command = "", *runtime = NULL;
    bool json = false;
    int o;
    optind = 0; /* GNU getopt: start afresh after main's own parse */
    (void)ctl;
    while ((o = getopt_long(argc, argv, "i:c:jr:h", opts, NULL)) != -1) {
        switch (o) {
        case 'i':
            if (parse_id(optarg, &id) < 0)
                return smssctl_fail("session", EXIT_USAGE, "--id takes a session number, not \"%s\"", optarg);
            break;
        case 'c': command = optarg; break;
        case 'j': json = true; break;
        case 'r': runtime = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    const char *verb = optind < argc ? argv[optind] : "";
    bool create = !strcmp(verb, "create"), terminate = !strcmp(verb, "terminate");
    if ((!create && !terminate) || (create && optind + 1 != argc) ||
        (terminate && (optind + 2 != argc || parse_id(argv[optind + 1], &id) < 0))) {
        usage(stderr);
        return EXIT_USAGE;
    }
    struct smapi_client_error err;
    int fd = smapi_open(smapi_runtime_dir(runtime), 5000, &err);
    if (fd < 0)
        return smssctl_fail("session", EXIT_REFUSED, "%s", err.message);
    int rc = EXIT_OK;
    if (create) {
        struct smapi_session_info info;
        if (smapi_start_csr(fd, id, command, &info, 60000, &err) < 0) {
            rc = smssctl_fail("session create", EXIT_REFUSED, "%s", err.message);
        } else if (json) {
            printf("{\"session\": %u, \"csrss_pid\": %d, \"initial_pid\": %d}\n", info.session,
                   info.csrss_pid, info.initial_pid);
        } else {
            printf("session %u created: csrss PID %d, initial process PID %d\n", info.session,
                   info.csrss_pid, info.initial_pid);
        }
    } else if (smapi_stop_csr(fd, id, &err) < 0) {
        rc = smssctl_fail("session terminate", EXIT_REFUSED, "%s", err.message);
    }
    close(fd);
    return rc;
}
