/* smssctl sessions: the sessions the master knows, with their subsystems and initial
 * processes. */
#include "smapi_client.h"
#include "smssctl.h"

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const states[] = {"creating", "active", "terminating"};

int cmd_sessions(struct smssctl *ctl, int argc, char **argv)
{
    static const char usage[] = "Usage: smssctl sessions [--json] [--runtime-dir DIR]\n"
        "List the sessions: ID, state, csrss PID, initial process PID, the child\n"
        "instance that created it, processes recorded in it.\n";
    bool json = false;
    const char *runtime = NULL;
    (void)ctl;
    int rc = smssctl_read_options(argc, argv, usage, &json, &runtime);
    if (rc >= 0)
        return rc;
    struct smapi_client_error err;
    struct smapi_session *v = NULL;
    size_t n = 0;
    int fd = smapi_open(smapi_runtime_dir(runtime), 5000, &err);
    if (fd < 0 || smapi_sessions(fd, &v, &n, &err) < 0) {
        if (fd >= 0)
            close(fd);
        return smssctl_fail("sessions", EXIT_REFUSED, "%s", err.message);
    }
    close(fd);
    if (json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, json_pack("{s:i, s:s, s:i, s:i, s:i, s:i}", "session",
                                               (int)v[i].session, "state",
                                               states[v[i].state % 3], "csrss_pid",
                                               v[i].csrss_pid, "initial_pid", v[i].initial_pid,
                                               "child_pid", v[i].child_pid, "processes",
                                               (int)v[i].processes));
        json_dumpf(a, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(a);
    } else {
        printf("%-8s %-12s %8s %8s %8s %9s\n", "SESSION", "STATE", "CSRSS", "INITIAL",
               "CREATOR", "PROCESSES");
        for (size_t i = 0; i < n; i++)
            printf("%-8u %-12s %8d %8d %8d %9u\n", v[i].session, states[v[i].state % 3],
                   v[i].csrss_pid, v[i].initial_pid, v[i].child_pid, v[i].processes);
    }
    free(v);
    return EXIT_OK;
}
