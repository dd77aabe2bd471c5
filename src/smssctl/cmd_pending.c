/* smssctl movefile and smssctl pending: queuing delayed renames and deletes (NT's
 * MoveFileEx with MOVEFILE_DELAY_UNTIL_REBOOT) and showing what the next boot does, or what
 * the last boot did. The queue is a file in the state directory: no running smss needed. */
#include "smssctl.h"

#include "ntpath.h"
#include "pending_apply.h"
#include "pending_queue.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void movefile_usage(FILE *f)
{
    fputs("Usage: smssctl movefile --delay-until-reboot [--replace-existing] SRC DST\n"
          "       smssctl movefile --delay-until-reboot --delete PATH\n"
          "\n"
          "Queue a rename (or a delete) that smss applies at the next boot, before anything\n"
          "opens the files: NT's MoveFileEx(MOVEFILE_DELAY_UNTIL_REBOOT). Paths are made\n"
          "absolute; the source must exist. No running smss is needed.\n"
          "\n"
          "Options:\n"
          "  --delay-until-reboot  apply at the next boot (required: the only mode)\n"
          "  --replace-existing    replace DST if it exists then (NT's MOVEFILE_REPLACE_EXISTING)\n"
          "  --delete              delete PATH at the next boot (a file, a symbolic link or an\n"
          "                        empty directory)\n"
          "  --state-dir DIR       the state directory (default: StateDirectory, /var/lib/smss)\n"
          "  --json                print the queued operation as JSON\n"
          "  --help                this text\n"
          "\n"
          "Exit status: 0 queued, 1 refused (permission, protected path), 2 usage or input error.\n",
          f);
}

static void pending_usage(FILE *f)
{
    fputs("Usage: smssctl pending [--json] [--last-boot] [--state-dir DIR]\n"
          "\n"
          "Show the renames and deletes the next boot applies, in the order it applies them:\n"
          "what an interrupted boot left, the queue, then PendingFileRenameOperations from the\n"
          "configuration when it was not applied yet. With --last-boot, the outcome of every\n"
          "operation of the last boot.\n"
          "\n"
          "Options:\n"
          "  --last-boot      the last boot's outcomes instead\n"
          "  --state-dir DIR  the state directory (default: StateDirectory, /var/lib/smss)\n"
          "  --json           JSON instead of a table\n"
          "  --help           this text\n"
          "\n"
          "Exit status: 0 success, 1 refused, 2 usage error or unreadable state files.\n",
          f);
}

static const char *state_dir_of(struct smssctl *ctl, const char *opt)
{
    if (opt)
        return opt;
    const struct smss_config *c = smssctl_config(ctl);
    return c && c->state_dir ? c->state_dir : PENDING_DEFAULT_STATE_DIR;
}

static const char *op_name(uint32_t flags)
{
    return flags & PQ_DELETE ? "delete" : flags & PQ_REPLACE ? "replace" : "rename";
}

static void iso_time(int64_t t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, 32, "%lld", (long long)t);
}

/* ---- movefile ---- */

/* An absolute path whose directory part is canonical (symbolic links resolved now, so the
 * boot can refuse any it meets later). NULL with a message. */
static char *absolute_path(const char *cmd, const char *arg, const char *role)
{
    char buf[PATH_MAX * 2];
    if (arg[0] == 0) {
        smssctl_fail(cmd, EXIT_USAGE, "the %s is an empty path", role);
        return NULL;
    }
    if (arg[0] == '/') {
        snprintf(buf, sizeof buf, "%s", arg);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) {
            smssctl_fail(cmd, EXIT_USAGE, "%s: cannot tell the current directory: %s", arg, strerror(errno));
            return NULL;
        }
        snprintf(buf, sizeof buf, "%s/%s", cwd, arg);
    }
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = 0;
    char *slash = strrchr(buf, '/'), *base = slash + 1;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || n == 1) {
        smssctl_fail(cmd, EXIT_USAGE, "%s: the %s must name a file, not '.', '..' or '/'", arg, role);
        return NULL;
    }
    *slash = 0;
    char *dir = realpath(slash == buf ? "/" : buf, NULL);
    if (!dir) {
        smssctl_fail(cmd, EXIT_USAGE, "%s: the %s's directory %s: %s", arg, role,
                     slash == buf ? "/" : buf, strerror(errno));
        return NULL;
    }
    char *out = NULL;
    if (asprintf(&out, "%s/%s", strcmp(dir, "/") ? dir : "", base) < 0)
        out = NULL;
    free(dir);
    return out;
}

static int refuse_protected(struct smssctl *ctl, const struct smss_config *c, const char *path)
{
    if (c->allow_protected_renames ||
        !pending_path_protected(path, &c->protected_paths, smssctl_system_root(ctl)))
        return 0;
    return smssctl_fail("movefile", EXIT_REFUSED,
                        "refused: %s is a protected path (Session Manager\\Linux\\ProtectedPaths); "
                        "set Session Manager\\AllowProtectedRenames to 1 to allow it",
                        path);
}

/* A source that does not exist yet is fine when an earlier queued rename creates it
 * (NT's chains: A -> B, then B -> C or delete B). Only read on that rare path. */
static bool queued_as_destination(struct smssctl *ctl, const char *state_dir_opt, const char *path)
{
    char *q = pq_path(state_dir_of(ctl, state_dir_opt), PENDING_QUEUE_FILE);
    struct pq_list l = PQ_LIST_INIT;
    struct diags d = DIAGS_INIT;
    bool found = false;
    if (q && pq_read(q, &l, &d) == 0)
        for (size_t i = l.n; i-- > 0 && !found;) {
            if (strcmp(l.v[i].source, path) == 0)
                break; /* moved or deleted after it was created */
            found = !(l.v[i].flags & PQ_DELETE) && strcmp(l.v[i].destination, path) == 0;
        }
    pq_list_free(&l);
    diags_free(&d);
    free(q);
    errno = ENOENT;
    return found;
}

static void queue_create_mode(const struct smss_config *c, struct pq_create *cr)
{
    struct group *g = c->api_group ? getgrnam(c->api_group) : NULL;
    cr->mode = g ? 0660 : 0600;
    cr->gid = g ? g->gr_gid : (gid_t)-1;
}

static void print_queued(const struct pq_entry *e, const char *state_dir, bool json)
{
    if (!json) {
        if (e->flags & PQ_DELETE)
            printf("queued for the next boot: delete %s\n", e->source);
        else
            printf("queued for the next boot: %s %s -> %s\n", op_name(e->flags), e->source, e->destination);
        return;
    }
    json_t *o = json_pack("{s:b, s:s, s:s, s:s, s:s, s:b}", "queued", 1, "state_dir", state_dir,
                          "operation", op_name(e->flags), "source", e->source, "destination",
                          e->destination, "replace_existing", (e->flags & PQ_REPLACE) != 0);
    if (o) {
        json_dumpf(o, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(o);
    }
}

struct movefile_args {
    bool delay, replace, del, json;
    const char *state_dir;
    char **paths;
    int npaths;
};

static int parse_movefile(int argc, char **argv, struct movefile_args *m)
{
    static const struct option opts[] = {{"delay-until-reboot", no_argument, NULL, 'd'},
                                         {"replace-existing", no_argument, NULL, 'r'},
                                         {"delete", no_argument, NULL, 'x'},
                                         {"state-dir", required_argument, NULL, 's'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': m->delay = true; break;
        case 'r': m->replace = true; break;
        case 'x': m->del = true; break;
        case 's': m->state_dir = optarg; break;
        case 'j': m->json = true; break;
        case 'h': movefile_usage(stdout); return -1;
        default: movefile_usage(stderr); return EXIT_USAGE;
        }
    }
    m->paths = argv + optind;
    m->npaths = argc - optind;
    if (!m->delay)
        return smssctl_fail("movefile", EXIT_USAGE,
                            "--delay-until-reboot is required (smssctl queues for the next boot; "
                            "to move a file now, use mv)");
    if (m->del && m->replace)
        return smssctl_fail("movefile", EXIT_USAGE, "--delete and --replace-existing exclude each other");
    if (m->npaths != (m->del ? 1 : 2))
        return smssctl_fail("movefile", EXIT_USAGE, "expected %s (see smssctl movefile --help)",
                            m->del ? "one PATH with --delete" : "SRC and DST");
    return 0;
}

int cmd_movefile(struct smssctl *ctl, int argc, char **argv)
{
    struct movefile_args m = {0};
    int rc = parse_movefile(argc, argv, &m);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (!smssctl_authorised(ctl, "movefile"))
        return EXIT_REFUSED;
    const struct smss_config *c = smssctl_config(ctl);
    if (!c)
        return EXIT_USAGE;
    struct pq_entry e = {m.del ? PQ_DELETE : m.replace ? PQ_REPLACE : 0, NULL, NULL,
                         (uint32_t)getuid(), (int64_t)time(NULL)};
    struct stat st;
    e.source = absolute_path("movefile", m.paths[0], "source");
    e.destination = m.del ? strdup("") : absolute_path("movefile", m.paths[1], "destination");
    rc = !e.source || !e.destination ? EXIT_USAGE : 0;
    if (rc == 0 && lstat(e.source, &st) && !(errno == ENOENT && queued_as_destination(ctl, m.state_dir, e.source)))
        rc = smssctl_fail("movefile", EXIT_USAGE,
                          "%s: the source %s: %s (it must exist now, or be the destination of an "
                          "operation queued before)", m.paths[0], e.source, strerror(errno));
    if (rc == 0)
        rc = refuse_protected(ctl, c, e.source);
    if (rc == 0 && !m.del)
        rc = refuse_protected(ctl, c, e.destination);
    if (rc == 0 && !m.del && !m.replace && lstat(e.destination, &st) == 0 && strcmp(e.source, e.destination))
        fprintf(stderr, "smssctl movefile: warning: %s exists: the rename will fail at boot unless an "
                        "earlier operation removes it (--replace-existing replaces it)\n", e.destination);
    if (rc == 0) {
        const char *dir = state_dir_of(ctl, m.state_dir);
        struct pq_create cr;
        struct diags d = DIAGS_INIT;
        queue_create_mode(c, &cr);
        rc = pq_append(dir, &e, 1, &cr, &d) ? (errno == EACCES || errno == EPERM ? EXIT_REFUSED : EXIT_USAGE) : 0;
        diags_print(&d, 2);
        diags_free(&d);
        if (rc == 0)
            print_queued(&e, dir, m.json);
    }
    free(e.source);
    free(e.destination);
    return rc;
}

/* ---- pending ---- */

struct row {
    const char *from; /* "interrupted", "queue", "registry" */
    uint32_t flags;
    const char *source, *destination;
    const char *nt_source, *nt_destination, *unmappable;
    int64_t time;
    uint32_t uid;
    bool has_who;
};

struct rows {
    struct row *v;
    size_t n, cap;
    struct strlist owned;
};

static struct row *rows_add(struct rows *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        struct row *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return NULL;
        r->v = v, r->cap = cap;
    }
    struct row *x = &r->v[r->n++];
    memset(x, 0, sizeof *x);
    return x;
}

static int add_queue_rows(struct rows *r, const struct pq_list *q, const char *from)
{
    for (size_t i = 0; i < q->n; i++) {
        struct row *x = rows_add(r);
        if (!x)
            return -1;
        *x = (struct row){from, q->v[i].flags, q->v[i].source, q->v[i].destination, NULL, NULL, NULL,
                          q->v[i].time, q->v[i].uid, true};
    }
    return 0;
}

static int add_registry_rows(struct smssctl *ctl, struct rows *r, const struct smss_config *c,
                             const char *state_dir)
{
    if (!c || c->nrenames == 0 || pending_registry_applied(state_dir, c->renames, c->nrenames))
        return 0;
    struct ntpath_rules rules;
    if (ntpath_rules_from_config(&rules, c, smssctl_system_root(ctl)))
        return -1;
    for (size_t i = 0; i < c->nrenames; i++) {
        const struct sm_rename *s = &c->renames[i];
        struct row *x = rows_add(r);
        if (!x)
            break;
        bool del = !s->destination || !s->destination[0];
        *x = (struct row){"registry", (del ? PQ_DELETE : 0) | (s->replace ? PQ_REPLACE : 0), "", "",
                          s->source, s->destination ? s->destination : "", NULL, 0, 0, false};
        char *src = NULL, *dst = NULL;
        const char *why = NULL;
        if (ntpath_to_linux(&rules, s->source, &src, &why) == 0 &&
            (del || ntpath_to_linux(&rules, s->destination, &dst, &why) == 0)) {
            strlist_push_owned(&r->owned, src);
            x->source = r->owned.v[r->owned.n - 1];
            if (dst) {
                strlist_push_owned(&r->owned, dst);
                x->destination = r->owned.v[r->owned.n - 1];
            }
        } else {
            free(src);
            x->unmappable = why ? why : "out of memory";
        }
    }
    ntpath_rules_free(&rules);
    return 0;
}

static void print_rows_table(const struct rows *r, const char *state_dir, bool interrupted)
{
    printf("Pending for the next boot (state directory %s): %zu operation%s\n", state_dir, r->n,
           r->n == 1 ? "" : "s");
    if (interrupted)
        printf("An interrupted boot left its operations to finish; the next boot completes them "
               "exactly once (those marked 'interrupted' may be partly done).\n");
    if (r->n == 0)
        return;
    printf("%5s  %-11s  %-7s  %s\n", "#", "FROM", "OP", "SOURCE -> DESTINATION");
    for (size_t i = 0; i < r->n; i++) {
        const struct row *x = &r->v[i];
        const char *src = x->unmappable ? x->nt_source : x->source;
        printf("%5zu  %-11s  %-7s  %s", i + 1, x->from, op_name(x->flags), src);
        if (!(x->flags & PQ_DELETE))
            printf(" -> %s", x->unmappable ? x->nt_destination : x->destination);
        if (x->unmappable)
            printf("  [not mappable: %s; it will be skipped]", x->unmappable);
        else if (x->nt_source)
            printf("  [from %s]", x->nt_source);
        putchar('\n');
    }
}

static int print_rows_json(const struct rows *r, const char *state_dir, bool interrupted)
{
    json_t *ops = json_array();
    for (size_t i = 0; ops && i < r->n; i++) {
        const struct row *x = &r->v[i];
        json_t *o = json_pack("{s:I, s:s, s:s, s:b}", "index", (json_int_t)(i + 1), "from", x->from,
                              "operation", op_name(x->flags), "replace_existing",
                              (x->flags & PQ_REPLACE) != 0);
        if (!o)
            continue;
        if (!x->unmappable) {
            json_object_set_new(o, "source", json_string(x->source));
            json_object_set_new(o, "destination", json_string(x->destination));
        }
        if (x->nt_source) {
            json_object_set_new(o, "nt_source", json_string(x->nt_source));
            json_object_set_new(o, "nt_destination", json_string(x->nt_destination));
            json_object_set_new(o, "mappable", json_boolean(!x->unmappable));
            if (x->unmappable)
                json_object_set_new(o, "reason", json_string(x->unmappable));
        }
        if (x->has_who) {
            char t[32];
            iso_time(x->time, t);
            json_object_set_new(o, "queued_at", json_string(t));
            json_object_set_new(o, "queued_by_uid", json_integer(x->uid));
        }
        json_array_append_new(ops, o);
    }
    json_t *root = json_pack("{s:s, s:b, s:o}", "state_dir", state_dir, "interrupted_boot", interrupted,
                             "operations", ops);
    if (!root)
        return EXIT_USAGE;
    json_dumpf(root, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(root);
    return EXIT_OK;
}

static int read_queue_file(const char *state_dir, const char *name, struct pq_list *q)
{
    char *path = pq_path(state_dir, name);
    struct diags d = DIAGS_INIT;
    int rc = path ? pq_read(path, q, &d) : -1;
    diags_print(&d, 2);
    diags_free(&d);
    free(path);
    return rc;
}

static int show_next_boot(struct smssctl *ctl, const char *state_dir, bool json)
{
    struct pq_list taken = PQ_LIST_INIT, queue = PQ_LIST_INIT;
    struct rows r = {0};
    char *journal = pq_path(state_dir, PENDING_JOURNAL_FILE);
    struct stat st;
    bool interrupted = journal && stat(journal, &st) == 0;
    free(journal);
    int rc = (interrupted && read_queue_file(state_dir, PENDING_TAKEN_FILE, &taken)) ||
                     read_queue_file(state_dir, PENDING_QUEUE_FILE, &queue)
                 ? EXIT_USAGE
                 : EXIT_OK;
    if (rc == EXIT_OK && (add_queue_rows(&r, &taken, "interrupted") || add_queue_rows(&r, &queue, "queue") ||
                          add_registry_rows(ctl, &r, ctl->config_loaded ? &ctl->config : NULL, state_dir)))
        rc = smssctl_fail("pending", EXIT_USAGE, "out of memory");
    if (rc == EXIT_OK && json)
        rc = print_rows_json(&r, state_dir, interrupted);
    else if (rc == EXIT_OK)
        print_rows_table(&r, state_dir, interrupted);
    free(r.v);
    strlist_free(&r.owned);
    pq_list_free(&taken);
    pq_list_free(&queue);
    return rc;
}

static const char *errno_name(int e)
{
    const char *n = e ? strerrorname_np(e) : NULL;
    return n ? n : "";
}

static int show_last_boot_json(const struct pending_report *rep, bool none)
{
    json_t *ops = json_array();
    for (size_t i = 0; ops && i < rep->n; i++) {
        const struct pending_result *x = &rep->v[i];
        json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:s, s:b}", "index", (json_int_t)(i + 1),
                              "from", x->origin == PENDING_FROM_QUEUE ? "queue" : "registry",
                              "operation", op_name(x->flags), "source", x->source, "destination",
                              x->destination, "replace_existing", (x->flags & PQ_REPLACE) != 0,
                              "outcome", pending_outcome_name(x->outcome), "resumed", x->resumed);
        if (!o)
            continue;
        if (x->err) {
            json_object_set_new(o, "errno", json_integer(x->err));
            json_object_set_new(o, "error", json_string(errno_name(x->err)));
            json_object_set_new(o, "error_text", json_string(strerror(x->err)));
        }
        if (x->reason[0])
            json_object_set_new(o, "reason", json_string(x->reason));
        json_array_append_new(ops, o);
    }
    char t[32];
    iso_time(rep->time, t);
    json_t *root = none ? json_pack("{s:n}", "last_boot")
                        : json_pack("{s:{s:s, s:I, s:I, s:I, s:I, s:o*, s:o}}", "last_boot", "time", t,
                                    "done", (json_int_t)rep->done, "failed", (json_int_t)rep->failed,
                                    "skipped", (json_int_t)rep->skipped, "resumed_batches",
                                    (json_int_t)rep->resumed_batches, "error",
                                    rep->error ? json_string(rep->error) : NULL, "operations", ops);
    if (none)
        json_decref(ops);
    if (!root)
        return EXIT_USAGE;
    json_dumpf(root, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(root);
    return EXIT_OK;
}

static void show_last_boot_table(const struct pending_report *rep)
{
    char t[32];
    iso_time(rep->time, t);
    printf("Last boot (%s): %zu done, %zu failed, %zu skipped%s\n", t, rep->done, rep->failed,
           rep->skipped, rep->resumed_batches ? " (it resumed an interrupted boot)" : "");
    if (rep->error)
        printf("error: %s\n", rep->error);
    if (rep->n)
        printf("%5s  %-8s  %-7s  %s\n", "#", "OUTCOME", "OP", "SOURCE -> DESTINATION  [WHY]");
    for (size_t i = 0; i < rep->n; i++) {
        const struct pending_result *x = &rep->v[i];
        printf("%5zu  %-8s  %-7s  %s", i + 1, pending_outcome_name(x->outcome), op_name(x->flags), x->source);
        if (!(x->flags & PQ_DELETE))
            printf(" -> %s", x->destination);
        if (x->reason[0] || x->err)
            printf("  [%s%s%s%s%s]", x->reason, x->reason[0] && x->err ? ": " : "", x->err ? errno_name(x->err) : "",
                   x->err ? " " : "", x->err ? strerror(x->err) : "");
        if (x->resumed)
            printf("  [completed before an interruption]");
        putchar('\n');
    }
}

static int show_last_boot(const char *state_dir, bool json)
{
    struct pending_report rep;
    struct diags d = DIAGS_INIT;
    int r = pending_report_load(state_dir, &rep, &d);
    diags_print(&d, 2);
    diags_free(&d);
    int rc = EXIT_OK;
    if (r < 0)
        rc = EXIT_USAGE;
    else if (json)
        rc = show_last_boot_json(&rep, r == 1);
    else if (r == 1)
        printf("No report of a last boot in %s: smss has not applied pending operations there yet.\n", state_dir);
    else
        show_last_boot_table(&rep);
    pending_report_free(&rep);
    return rc;
}

int cmd_pending(struct smssctl *ctl, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"last-boot", no_argument, NULL, 'l'},
                                         {"state-dir", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool json = false, last = false;
    const char *dir = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = true; break;
        case 'l': last = true; break;
        case 's': dir = optarg; break;
        case 'h': pending_usage(stdout); return EXIT_OK;
        default: pending_usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc)
        return smssctl_fail("pending", EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
    if (!smssctl_authorised(ctl, "pending"))
        return EXIT_REFUSED;
    if (!smssctl_config(ctl) && !dir)
        return EXIT_USAGE;
    const char *state_dir = state_dir_of(ctl, dir);
    return last ? show_last_boot(state_dir, json) : show_next_boot(ctl, state_dir, json);
}
