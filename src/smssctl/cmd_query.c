/* smssctl query: what the master knows: boot phases and their timings, sessions and
 * their subsystems, known DLLs, paging files, the environment, object directories. */
#include "smapi_client.h"
#include "smssctl.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_people(json_t *q)
{
    json_t *m = json_object_get(q, "master"), *v;
    size_t i;
    printf("Master: PID %lld%s, runtime %s, state %s, SystemRoot %s\n",
           json_integer_value(json_object_get(m, "pid")),
           json_is_true(json_object_get(m, "pid1")) ? " (PID 1)" : " (subreaper)",
           json_string_value(json_object_get(m, "runtime_dir")),
           json_string_value(json_object_get(m, "state_dir")),
           json_string_value(json_object_get(m, "system_root")));
    printf("\nBoot phases:\n");
    json_array_foreach(json_object_get(q, "boot"), i, v)
        printf("  %-42s %-8s %9.3f ms\n", json_string_value(json_object_get(v, "phase")),
               json_string_value(json_object_get(v, "result")),
               json_real_value(json_object_get(v, "ms")));
    printf("\nSessions:\n");
    json_array_foreach(json_object_get(q, "sessions"), i, v) {
        printf("  %lld %-11s csrss %lld, initial %lld, subsystems:",
               json_integer_value(json_object_get(v, "session")),
               json_string_value(json_object_get(v, "state")),
               json_integer_value(json_object_get(v, "csrss_pid")),
               json_integer_value(json_object_get(v, "initial_pid")));
        size_t j;
        json_t *s;
        json_array_foreach(json_object_get(v, "subsystems"), j, s)
            printf(" %s (%lld)", json_string_value(json_object_get(s, "name")),
                   json_integer_value(json_object_get(s, "pid")));
        putchar('\n');
    }
    json_t *k = json_object_get(q, "known_dlls");
    printf("\nKnown DLLs (%s):\n", json_string_value(json_object_get(k, "snapshot_dir")) ?: "none");
    json_array_foreach(json_object_get(k, "dlls"), i, v)
        printf("  %-24s %-48s %.16s\n", json_string_value(json_object_get(v, "name")),
               json_string_value(json_object_get(v, "source")),
               json_string_value(json_object_get(v, "sha256")) ?: "");
    printf("\nPaging files:\n");
    json_array_foreach(json_object_get(json_object_get(q, "paging_files"), "paging_files"), i, v)
        printf("  %s: %s\n", json_string_value(json_object_get(v, "path")) ?: "?",
               json_string_value(json_object_get(v, "state")) ?: "?");
    printf("\nEnvironment:\n");
    const char *name;
    json_object_foreach(json_object_get(q, "environment"), name, v)
        printf("  %s=%s\n", name, json_string_value(v));
}

int cmd_query(struct smssctl *ctl, int argc, char **argv)
{
    static const char usage[] = "Usage: smssctl query [--json] [--runtime-dir DIR]\n"
        "What the master knows: boot phases and timings, sessions and subsystems,\n"
        "known DLLs with source paths and checksums, paging files, the system\n"
        "environment, object directories.\n";
    bool json = false;
    const char *runtime = NULL;
    (void)ctl;
    int rc = smssctl_read_options(argc, argv, usage, &json, &runtime);
    if (rc >= 0)
        return rc;
    struct smapi_client_error err;
    char *text = NULL;
    int fd = smapi_open(smapi_runtime_dir(runtime), 5000, &err);
    if (fd < 0 || smapi_query(fd, &text, &err) < 0) {
        if (fd >= 0)
            close(fd);
        return smssctl_fail("query", EXIT_REFUSED, "%s", err.message);
    }
    close(fd);
    json_error_t jerr;
    json_t *q = json_loads(text, 0, &jerr);
    if (!q) {
        free(text);
        return smssctl_fail("query", EXIT_REFUSED, "the master's reply is not JSON: %s", jerr.text);
    }
    if (json) {
        json_dumpf(q, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        print_people(q);
    }
    json_decref(q);
    free(text);
    return EXIT_OK;
}
