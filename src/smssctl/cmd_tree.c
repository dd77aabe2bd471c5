/* smssctl tree: the Session Manager's process tree, as Process Explorer shows it: PID,
 * parent, creator (even when the creator has exited), session, user, priority, role,
 * start time, image and command line. A tree for people, sortable flat lists, --json. */
#include "buf.h"
#include "smapi_client.h"
#include "smssctl.h"

#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("Usage: smssctl tree [--json] [--sort name|pid|session] [--runtime-dir DIR]\n"
          "The processes of the Session Manager: the master, the session child instances\n"
          "(also after they exited, as the creators of csrss, wininit and winlogon), the\n"
          "subsystems, the initial processes, services and user processes.\n"
          "  --json            one JSON array of objects: pid, ppid, creator_pid, session,\n"
          "                    user, image, cmdline, start_time, nice, role, exited\n"
          "  --sort KEY        a flat list sorted by name, pid or session (default: a tree)\n"
          "  --runtime-dir DIR the master's runtime directory (default $SMSS_RUNTIME_DIR or\n"
          "                    /run/smss)\n",
          out);
}

static const char *user_name(uint32_t uid, char *buf, size_t n)
{
    struct passwd *pw = getpwuid(uid);
    if (pw)
        str_copy(buf, n, pw->pw_name);
    else
        snprintf(buf, n, "%u", uid);
    return buf;
}

static void iso_time(uint64_t ns, char *out, size_t n)
{
    time_t t = (time_t)(ns / 1000000000u);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, n - k, ".%03uZ", (unsigned)(ns / 1000000u % 1000u));
}

/* The command line's NUL-separated words joined with blanks. */
static void cmdline_text(const struct smapi_process *p, char *out, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < sizeof p->cmdline && p->cmdline[i] && k + 1 < n;) {
        size_t len = strnlen(p->cmdline + i, sizeof p->cmdline - i);
        k += (size_t)snprintf(out + k, n - k, "%s%.*s", k ? " " : "", (int)len, p->cmdline + i);
        i += len + 1;
        if (k >= n)
            k = n - 1;
    }
    out[k] = '\0';
}

static json_t *record_json(const struct smapi_process *p)
{
    char user[64], when[40];
    json_t *argv = json_array();
    for (size_t i = 0; i < sizeof p->cmdline && p->cmdline[i];) {
        size_t len = strnlen(p->cmdline + i, sizeof p->cmdline - i);
        json_array_append_new(argv, json_stringn(p->cmdline + i, len));
        i += len + 1;
    }
    iso_time(p->start_time_ns, when, sizeof when);
    json_t *o = json_object();
    json_object_set_new(o, "pid", json_integer(p->pid));
    json_object_set_new(o, "ppid", json_integer(p->ppid));
    json_object_set_new(o, "creator_pid", json_integer(p->creator_pid));
    json_object_set_new(o, "session", p->session == SMAPI_SESSION_NONE ? json_null()
                                                                       : json_integer(p->session));
    json_object_set_new(o, "user", p->exited ? json_null() : json_string(user_name(p->uid, user, sizeof user)));
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "image", json_string(p->image));
    json_object_set_new(o, "cmdline", argv);
    json_object_set_new(o, "start_time", json_string(when));
    json_object_set_new(o, "nice", json_integer(p->nice));
    json_object_set_new(o, "role", json_string(smapi_role_name(p->role)));
    json_object_set_new(o, "exited", json_boolean(p->exited));
    return o;
}

static void print_row(const struct smapi_process *p, int depth)
{
    char user[64], when[40], cmd[512], session[16], name[96];
    iso_time(p->start_time_ns, when, sizeof when);
    cmdline_text(p, cmd, sizeof cmd);
    if (p->session == SMAPI_SESSION_NONE)
        str_copy(session, sizeof session, "-");
    else
        snprintf(session, sizeof session, "%u", p->session);
    snprintf(name, sizeof name, "%*s%s%s", depth * 2, "", p->name, p->exited ? " (exited)" : "");
    printf("%-28s %7d %7d %7d %7s %-8s %4d %-13s %-23s %s\n", name, p->pid, p->ppid,
           p->creator_pid, session, p->exited ? "-" : user_name(p->uid, user, sizeof user),
           p->nice, smapi_role_name(p->role), when + 11, cmd);
}

static void print_header(void)
{
    printf("%-28s %7s %7s %7s %7s %-8s %4s %-13s %-23s %s\n", "NAME", "PID", "PPID", "CREATOR",
           "SESSION", "USER", "NICE", "ROLE", "STARTED (UTC)", "COMMAND LINE");
}

static bool creator_exited(const struct smapi_process *v, size_t n, int32_t pid)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].pid == pid && v[i].exited)
            return true;
    return false;
}

/* Children under their parent; an exited creator shows the processes it created. */
static void print_subtree(const struct smapi_process *v, size_t n, size_t at, int depth,
                          bool *shown)
{
    shown[at] = true;
    print_row(&v[at], depth);
    for (size_t i = 0; i < n; i++) {
        if (shown[i])
            continue;
        bool adopted = v[i].creator_pid != v[i].ppid && creator_exited(v, n, v[i].creator_pid);
        bool child = v[at].exited ? v[i].creator_pid == v[at].pid
                                  : v[i].ppid == v[at].pid && !adopted;
        if (child)
            print_subtree(v, n, i, depth + 1, shown);
    }
}

static const char *sort_key;
static int compare(const void *a, const void *b)
{
    const struct smapi_process *x = a, *y = b;
    if (!strcmp(sort_key, "name")) {
        int c = strcasecmp(x->name, y->name);
        if (c)
            return c;
    } else if (!strcmp(sort_key, "session") && x->session != y->session) {
        return x->session < y->session ? -1 : 1;
    }
    return (x->pid > y->pid) - (x->pid < y->pid);
}

int cmd_tree(struct smssctl *ctl, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"sort", required_argument, NULL, 's'},
                                         {"runtime-dir", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool json = false;
    const char *runtime = NULL;
    sort_key = NULL;
    int o;
    optind = 0; /* GNU getopt: start afresh after main's own parse */
    while ((o = getopt_long(argc, argv, "js:r:h", opts, NULL)) != -1) {
        switch (o) {
        case 'j': json = true; break;
        case 's': sort_key = optarg; break;
        case 'r': runtime = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    (void)ctl;
    if (sort_key && strcmp(sort_key, "name") && strcmp(sort_key, "pid") && strcmp(sort_key, "session"))
        return smssctl_fail("tree", EXIT_USAGE, "--sort takes name, pid or session, not \"%s\"",
                            sort_key);
    struct smapi_client_error err;
    int fd = smapi_open(smapi_runtime_dir(runtime), 5000, &err);
    struct smapi_process *v = NULL;
    size_t n = 0;
    if (fd < 0 || smapi_tree(fd, &v, &n, &err) < 0) {
        if (fd >= 0)
            close(fd);
        return smssctl_fail("tree", EXIT_REFUSED, "%s", err.message);
    }
    close(fd);
    if (sort_key)
        qsort(v, n, sizeof *v, compare);
    if (json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, record_json(&v[i]));
        json_dumpf(a, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(a);
    } else {
        print_header();
        bool *shown = calloc(n ? n : 1, sizeof *shown);
        for (size_t i = 0; shown && i < n; i++) {
            if (sort_key)
                print_row(&v[i], 0);
            else if (!shown[i] && (v[i].role == SMAPI_ROLE_MASTER))
                print_subtree(v, n, i, 0, shown);
        }
        for (size_t i = 0; !sort_key && shown && i < n; i++)
            if (!shown[i])
                print_subtree(v, n, i, 0, shown);
        free(shown);
    }
    free(v);
    return EXIT_OK;
}
