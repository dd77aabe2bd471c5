/* smssctl exec: start a program in a session through its subsystem (ExecPgm). */
#include "smapi_client.h"
#include "smssctl.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_exec(struct smssctl *ctl, int argc, char **argv)
{
    static const struct option opts[] = {{"session", required_argument, NULL, 's'},
                                         {"user", required_argument, NULL, 'u'},
                                         {"stdio", no_argument, NULL, 'i'},
                                         {"runtime-dir", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    long session = -1;
    const char *user = NULL, *runtime = NULL;
    bool stdio = false;
    int o;
    optind = 0; /* GNU getopt: start afresh after main's own parse */
    (void)ctl;
    while ((o = getopt_long(argc, argv, "+s:u:ir:h", opts, NULL)) != -1) {
        switch (o) {
        case 's': session = strtol(optarg, NULL, 10); break;
        case 'u': user = optarg; break;
        case 'i': stdio = true; break;
        case 'r': runtime = optarg; break;
        case 'h':
            puts("Usage: smssctl exec --session ID [--user USER] [--stdio] [--runtime-dir DIR] -- CMD [ARG]...\n"
                 "Start CMD in session ID through the session's csrss (ExecPgm): it runs in the\n"
                 "session's namespaces and cgroup, with the system environment, as USER\n"
                 "(default root). Prints its PID. --stdio gives it this command's standard\n"
                 "input, output and error.");
            return EXIT_OK;
        default: return EXIT_USAGE;
        }
    }
    if (session < 0 || optind >= argc)
        return smssctl_fail("exec", EXIT_USAGE, "give --session ID and a command after --");
    struct smapi_client_error err;
    int fd = smapi_open(smapi_runtime_dir(runtime), 5000, &err);
    pid_t pid = 0;
    int fds[3] = {0, 1, 2};
    if (fd < 0 || smapi_exec(fd, (uint32_t)session, user, argv + optind, stdio ? fds : NULL,
                             &pid, &err) < 0) {
        if (fd >= 0)
            close(fd);
        return smssctl_fail("exec", EXIT_REFUSED, "%s", err.message);
    }
    close(fd);
    printf("%d\n", (int)pid);
    return EXIT_OK;
}
