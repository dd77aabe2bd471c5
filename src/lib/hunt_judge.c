#include "hunt_judge.h"
#include "buf.h"
#include "hunt_lookalike.h"
#include "hunt_path.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_ENTRIES 8

static bool is_smss_name(const char *name)
{
    /* Asked of every process, most of them not smss: the first letter decides first. */
    return name && (name[0] | 0x20) == 's' &&
           (strcasecmp(name, "smss.exe") == 0 || strcmp(name, "smss") == 0);
}

enum hunt_smss_role hunt_smss_role(const struct hunt_proc *p)
{
    if (!is_smss_name(p->name))
        return HUNT_NOT_SMSS;
    if (p->cmdline) {
        size_t n;
        const char *args = hunt_cmdline_args(p->cmdline, &n);
        if (n == 0)
            return HUNT_SMSS_MASTER;
        if (hunt_args_session_child(args, n))
            return HUNT_SMSS_CHILD;
        /* Our Linux smss takes options (--config FILE, ...); NT's never does. */
        return !strcmp(p->name, "smss") && args[0] == '-' ? HUNT_SMSS_MASTER : HUNT_SMSS_ODD;
    }
    if (p->parent && is_smss_name(p->parent->name))
        return HUNT_SMSS_CHILD;
    return HUNT_SMSS_MASTER;
}

unsigned hunt_proc_os(const struct hunt_judge *j, const struct hunt_proc *p)
{
    unsigned os = p->os ? p->os & j->os : j->os;
    return os ? os : (p->os ? p->os : j->os);
}

bool hunt_user_matches(const char *word, const char *user)
{
    static const struct {
        const char *word, *sid, *alias;
    } wk[] = {{"SYSTEM", "S-1-5-18", "LocalSystem"},
              {"LOCAL SERVICE", "S-1-5-19", "LocalService"},
              {"NETWORK SERVICE", "S-1-5-20", "NetworkService"}};
    if (!strcasecmp(word, "any"))
        return true;
    if (!user)
        return true;
    const char *acct = strrchr(user, '\\');
    acct = acct ? acct + 1 : user;
    for (size_t i = 0; i < sizeof wk / sizeof *wk; i++)
        if (!strcasecmp(word, wk[i].word))
            return !strcasecmp(user, wk[i].sid) || !strcasecmp(acct, wk[i].word) ||
                   !strcasecmp(acct, wk[i].alias);
    if (!strcmp(word, "root"))
        return !strcmp(user, "root") || !strcmp(user, "0");
    return !strcasecmp(acct, word) || !strcasecmp(user, word);
}

/* ------------------------------------------------------------------ emitting */

static void emit(struct hunt_judge *j, enum hunt_check c, struct hunt_proc *p,
                 const char *extra_evidence, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void emit(struct hunt_judge *j, enum hunt_check c, struct hunt_proc *p,
                 const char *extra_evidence, const char *fmt, ...)
{
    const struct hunt_rule *r = hunt_ruleset_rule(j->rs, c);
    if (!r || (p->fired & (UINT64_C(1) << c)))
        return;
    p->fired |= UINT64_C(1) << c;
    struct hunt_finding *f = calloc(1, sizeof *f);
    struct buf msg = BUF_INIT, ev = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (p->evidence)
        rc |= buf_puts(&ev, p->evidence);
    if (extra_evidence && *extra_evidence)
        rc |= buf_printf(&ev, "%s%s", ev.len ? "; " : "", extra_evidence);
    rc |= buf_puts(&ev, "");
    bool failed = rc != 0 || !f;
    if (f) {
        *f = (struct hunt_finding){
            .rule_id = r->id, .rule_name = r->name, .technique = r->technique,
            .severity = r->level, .is_process = true, .pid = p->pid, .ppid = p->ppid,
            .creator_pid = p->creator_pid, .session = p->session, .time = p->start};
        f->message = buf_steal(&msg);
        f->evidence = buf_steal(&ev);
        f->proc_name = hunt_strdup(p->name, &failed);
        f->proc_image = hunt_strdup(p->image, &failed);
        f->proc_cmdline = hunt_strdup(p->cmdline, &failed);
        f->proc_user = hunt_strdup(p->user, &failed);
    }
    buf_free(&msg);
    buf_free(&ev);
    if (failed) {
        j->oom = true;
        hunt_finding_free(f);
        return;
    }
    p->nfindings++;
    j->findings++;
    j->emit(j->ctx, f);
}

/* "csrss.exe (PID 368)" into a caller buffer. */
static const char *who(const struct hunt_proc *p, char *out, size_t size)
{
    if (!p)
        return "(none)";
    snprintf(out, size, "%s (PID %lld)", p->name ? p->name : "?", (long long)p->pid);
    return out;
}

static char *joined(const struct strlist *l, const char *sep)
{
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < l->n; i++)
        buf_printf(&b, "%s%s", i ? sep : "", l->v[i]);
    buf_puts(&b, "");
    return buf_steal(&b);
}

/* ------------------------------------------------------------------ the checks */

/* The cache is two-way: a name may sit in either slot of its pair, so that two names
 * with colliding hashes, seen in turn, do not evict each other and send both through
 * the look-alike check on every record (as two names of the sample logs did). */
static struct hunt_name_cache *cache_pair(struct hunt_judge *j, const char *name, unsigned os)
{
    if (!j->clean || strlen(name) >= sizeof j->clean[0].name)
        return NULL;
    uint32_t h = 2166136261u ^ os;
    for (const char *c = name; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    return &j->clean[(h % HUNT_NAME_CACHE) & ~1u];
}

static bool cached(const struct hunt_name_cache *pair, const char *name, unsigned os)
{
    for (int i = 0; pair && i < 2; i++)
        if (pair[i].os == os && !strcmp(pair[i].name, name))
            return true;
    return false;
}

/* The slot of the pair a new name takes: an empty one, else the older entry (the
 * second slot holds the newest). */
static struct hunt_name_cache *cache_take(struct hunt_name_cache *pair)
{
    if (!pair[0].name[0])
        return &pair[0];
    if (pair[1].name[0])
        pair[0] = pair[1];
    return &pair[1];
}

static void check_lookalike(struct hunt_judge *j, struct hunt_proc *p, unsigned os)
{
    struct hunt_name_cache *pair = cache_pair(j, p->name, os);
    if (cached(pair, p->name, os))
        return;
    size_t before = j->findings;
    const struct hunt_ruleset *rs = j->rs;
    const char *prot[128], *known[512];
    size_t np = 0, nk = 0;
    for (size_t i = 0; i < rs->nprocs && np < 128; i++)
        if (rs->procs[i].os & os)
            prot[np++] = rs->procs[i].name;
    for (size_t i = 0; i < rs->known.n && nk < 512; i++)
        known[nk++] = rs->known.v[i];
    /* Memory listings keep 14 characters of a name ("RuntimeBroker."): a known name
     * cut there is that name. */
    if (strlen(p->name) == 14) {
        for (size_t i = 0; i < np; i++)
            if (!strncasecmp(p->name, prot[i], 14))
                return;
        for (size_t i = 0; i < nk; i++)
            if (!strncasecmp(p->name, known[i], 14))
                return;
    }
    struct hunt_lookalike la;
    switch (hunt_lookalike_check(p->name, prot, np, known, nk, &la)) {
    case HUNT_LOOKALIKE_NONE:
        break;
    case HUNT_LOOKALIKE_BIDI:
        emit(j, HUNT_CHECK_BIDI, p, NULL,
             "process name \"%s\" (PID %lld) holds a bidirectional control character that "
             "changes how it reads%s%s",
             p->name, (long long)p->pid, la.target ? "; it imitates " : "",
             la.target ? la.target : "");
        return;
    case HUNT_LOOKALIKE_CONFUSABLE:
        emit(j, HUNT_CHECK_CONFUSABLE, p, NULL,
             "process name \"%s\" (PID %lld) spells %s with look-alike Cyrillic/Greek letters",
             p->name, (long long)p->pid, la.target);
        return;
    case HUNT_LOOKALIKE_EDIT:
        emit(j, HUNT_CHECK_LOOKALIKE, p, NULL,
             "process name \"%s\" (PID %lld) is %u edit%s away from core process %s",
             p->name, (long long)p->pid, la.distance, la.distance == 1 ? "" : "s", la.target);
        return;
    }
    /* On Linux names are case-sensitive: "SMSS" is not "smss". */
    bool odd_case = false;
    if (os == HUNT_OS_LINUX)
        for (size_t i = 0; i < np; i++)
            if (strcasecmp(p->name, prot[i]) == 0 && strcmp(p->name, prot[i]) != 0) {
                odd_case = true;
                emit(j, HUNT_CHECK_LOOKALIKE, p, NULL,
                     "process name \"%s\" (PID %lld) differs from core process %s only by "
                     "case", p->name, (long long)p->pid, prot[i]);
            }
    if (pair && !odd_case && j->findings == before) {
        struct hunt_name_cache *slot = cache_take(pair);
        snprintf(slot->name, sizeof slot->name, "%s", p->name);
        slot->os = os;
    }
}

enum parent_state { PARENT_UNKNOWN, PARENT_NONE, PARENT_EXITED, PARENT_KNOWN };

static enum parent_state parent_state(const struct hunt_proc *p)
{
    if (p->parent && p->parent->name)
        return PARENT_KNOWN;
    if (p->parent)
        return PARENT_UNKNOWN; /* a phantom whose name no record gave */
    if (p->ppid == 0)
        return PARENT_NONE;
    if (p->ppid < 0)
        return PARENT_UNKNOWN;
    return PARENT_EXITED;
}

static bool parent_allowed(const struct hunt_baseline *b, const struct hunt_proc *p,
                           enum parent_state st, bool on_linux)
{
    for (size_t i = 0; i < b->parents.n; i++) {
        const char *w = b->parents.v[i];
        if (!strcmp(w, "any"))
            return true;
        if (!strcmp(w, "none") && st == PARENT_NONE)
            return true;
        if (!strcmp(w, "exited") && st == PARENT_EXITED)
            return true;
        if (!strcmp(w, "smss-child")) {
            if (st == PARENT_EXITED)
                return true;
            if (st == PARENT_KNOWN && hunt_smss_role(p->parent) == HUNT_SMSS_CHILD)
                return true;
        }
        if (st == PARENT_KNOWN &&
            (on_linux ? !strcmp(w, p->parent->name) : !strcasecmp(w, p->parent->name)))
            return true;
    }
    return false;
}

static void check_parent(struct hunt_judge *j, struct hunt_proc *p,
                         const struct hunt_baseline **bl, size_t n, bool on_linux)
{
    enum parent_state st = parent_state(p);
    if (st == PARENT_UNKNOWN)
        return;
    for (size_t i = 0; i < n; i++)
        if (parent_allowed(bl[i], p, st, on_linux))
            return;
    char a[96], bb[96];
    char *allowed = joined(&bl[0]->parents, ", ");
    const char *pdesc = st == PARENT_KNOWN ? who(p->parent, bb, sizeof bb)
                        : st == PARENT_NONE ? "no parent"
                                            : "a parent that is no longer running";
    emit(j, HUNT_CHECK_PARENT, p, p->parent ? p->parent->evidence : NULL,
         "%s was started by %s; normal parent: %s", who(p, a, sizeof a), pdesc,
         allowed ? allowed : "?");
    free(allowed);
}

/* The baseline image with $SMSS_DIR replaced, normalised. */
static char *baseline_image(const struct hunt_judge *j, const char *img)
{
    if (strncmp(img, "$SMSS_DIR", 9) == 0) {
        if (!j->smss_dir)
            return NULL;
        struct buf b = BUF_INIT;
        buf_printf(&b, "%s%s", j->smss_dir, img + 9);
        char *r = hunt_path_normalize(b.p, NULL);
        buf_free(&b);
        return r;
    }
    return hunt_path_normalize(img, j->rs->system_root);
}

static void check_path(struct hunt_judge *j, struct hunt_proc *p,
                       const struct hunt_baseline **bl, size_t n)
{
    if (!p->image_norm || (!strchr(p->image_norm, '\\') && !strchr(p->image_norm, '/')))
        return;
    bool any_image = false;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < bl[i]->images.n; k++) {
            char *want = baseline_image(j, bl[i]->images.v[k]);
            if (!want)
                continue;
            any_image = true;
            bool ok = strcmp(want, p->image_norm) == 0;
            free(want);
            if (ok)
                return;
        }
    if (!any_image)
        return;
    char a[96];
    char *want = baseline_image(j, bl[0]->images.v[0]);
    emit(j, HUNT_CHECK_PATH, p, NULL, "%s runs from %s; normal image: %s", who(p, a, sizeof a),
         p->image, want ? want : bl[0]->images.v[0]);
    free(want);
}

static void check_user(struct hunt_judge *j, struct hunt_proc *p,
                       const struct hunt_baseline **bl, size_t n)
{
    if (!p->user || !*p->user || !strcmp(p->user, "S-1-0-0") || !strcmp(p->user, "-"))
        return;
    for (size_t i = 0; i < n; i++) {
        if (bl[i]->users.n == 0)
            return;
        for (size_t k = 0; k < bl[i]->users.n; k++)
            if (hunt_user_matches(bl[i]->users.v[k], p->user))
                return;
    }
    char a[96];
    char *allowed = joined(&bl[0]->users, ", ");
    emit(j, HUNT_CHECK_USER, p, NULL, "%s runs as %s; normal account: %s", who(p, a, sizeof a),
         p->user, allowed ? allowed : "?");
    free(allowed);
}

static void check_session(struct hunt_judge *j, struct hunt_proc *p,
                          const struct hunt_baseline **bl, size_t n, enum hunt_smss_role role)
{
    if (p->session < 0)
        return;
    char a[96];
    if (role == HUNT_SMSS_MASTER && p->session != 0) {
        emit(j, HUNT_CHECK_SESSION, p, NULL,
             "%s looks like the master (no arguments) but runs in session %d; the master "
             "runs in session 0", who(p, a, sizeof a), p->session);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct hunt_baseline *b = bl[i];
        if ((b->session_min < 0 || p->session >= b->session_min) &&
            (b->session_max < 0 || p->session <= b->session_max))
            return;
    }
    const struct hunt_baseline *b = bl[0];
    char want[48];
    if (b->session_max == b->session_min)
        snprintf(want, sizeof want, "%d", b->session_min);
    else
        snprintf(want, sizeof want, "%d or higher", b->session_min);
    emit(j, HUNT_CHECK_SESSION, p, NULL, "%s runs in session %d; normal: session %s",
         who(p, a, sizeof a), p->session, want);
}

/* Running instances of p's name in the boot, p included (phantoms and session children
 * left out). */
static size_t running_instances(const struct hunt_proc *p, const struct hunt_boot *b,
                                bool on_linux)
{
    size_t n = 0;
    for (const struct hunt_proc *q = b->head; q; q = q->next_in_boot) {
        if (q->retired || q->phantom || !q->name)
            continue;
        if (on_linux ? strcmp(q->name, p->name) : strcasecmp(q->name, p->name))
            continue;
        if (hunt_smss_role(q) == HUNT_SMSS_CHILD)
            continue;
        n++;
    }
    return n;
}

static void check_instances(struct hunt_judge *j, struct hunt_proc *p,
                            const struct hunt_baseline **bl, size_t n,
                            const struct hunt_boot *b, enum hunt_smss_role role, bool on_linux)
{
    if (p->retired || role == HUNT_SMSS_CHILD || role == HUNT_SMSS_MASTER)
        return; /* masters are judged at the end of their life (they may be a reboot) */
    int max = 0;
    for (size_t i = 0; i < n; i++) {
        if (bl[i]->max_instances < 0)
            return;
        if (bl[i]->max_instances > max)
            max = bl[i]->max_instances;
    }
    size_t running = running_instances(p, b, on_linux);
    if (running <= (size_t)max)
        return;
    char a[96];
    emit(j, HUNT_CHECK_INSTANCES, p, NULL,
         "%s is instance %zu of %s running at once in this boot; normal: at most %d",
         who(p, a, sizeof a), running, p->name, max);
}

static void check_start(struct hunt_judge *j, struct hunt_proc *p,
                        const struct hunt_baseline **bl, size_t n, const struct hunt_boot *b,
                        enum hunt_smss_role role)
{
    if (b->time == HUNT_TIME_UNKNOWN || p->start == HUNT_TIME_UNKNOWN)
        return;
    bool window = false, session0_only = true;
    for (size_t i = 0; i < n; i++) {
        window |= bl[i]->boot_window;
        if (bl[i]->session_max != 0)
            session0_only = false;
    }
    if (!window || role == HUNT_SMSS_CHILD || role == HUNT_SMSS_ODD)
        return;
    /* A master that is not the boot's may begin the next boot: judged when it ends. */
    if (role == HUNT_SMSS_MASTER && b->master && b->master != p)
        return;
    /* "Within seconds of boot" means the master and session 0, not later sessions. */
    if (role != HUNT_SMSS_MASTER && !session0_only && p->session != 0)
        return;
    int64_t late = p->start - b->time;
    if (late <= j->rs->boot_window)
        return;
    char a[96];
    emit(j, HUNT_CHECK_START, p, NULL, "%s started %lld s after boot; normal: within %lld s",
         who(p, a, sizeof a), (long long)(late / HUNT_SECOND),
         (long long)(j->rs->boot_window / HUNT_SECOND));
}

static void check_priority(struct hunt_judge *j, struct hunt_proc *p,
                           const struct hunt_baseline **bl, size_t n)
{
    if (!p->has_priority)
        return;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (!bl[i]->has_priority)
            continue;
        any = true;
        if (bl[i]->priority == p->priority)
            return;
    }
    if (!any)
        return;
    char a[96];
    int want = 0;
    for (size_t i = 0; i < n; i++)
        if (bl[i]->has_priority)
            want = bl[i]->priority;
    emit(j, HUNT_CHECK_PRIORITY, p, NULL, "%s has priority %d; normal: %d", who(p, a, sizeof a),
         p->priority, want);
}

static void check_arguments(struct hunt_judge *j, struct hunt_proc *p, enum hunt_smss_role role)
{
    if (role != HUNT_SMSS_ODD)
        return;
    char a[96];
    emit(j, HUNT_CHECK_ARGUMENTS, p, NULL,
         "%s has command line \"%s\"; a master has no arguments and a session child two "
         "8-hex-digit words", who(p, a, sizeof a), p->cmdline);
}

void hunt_judge_start(struct hunt_judge *j, struct hunt_proc *p, const struct hunt_boot *b)
{
    if (p->phantom || !p->name)
        return;
    unsigned os = hunt_proc_os(j, p);
    bool on_linux = os == HUNT_OS_LINUX;
    check_lookalike(j, p, os);
    const struct hunt_baseline *bl[MAX_ENTRIES];
    size_t n = hunt_ruleset_find(j->rs, p->name, os, bl, MAX_ENTRIES);
    if (n == 0)
        return;
    enum hunt_smss_role role = hunt_smss_role(p);
    check_arguments(j, p, role);
    check_parent(j, p, bl, n, on_linux);
    check_path(j, p, bl, n);
    check_user(j, p, bl, n);
    check_session(j, p, bl, n, role);
    check_instances(j, p, bl, n, b, role, on_linux);
    check_start(j, p, bl, n, b, role);
    check_priority(j, p, bl, n);
}

/* How long p lived (or has been running when a snapshot saw it); -1 when unknown. */
static int64_t lifetime(const struct hunt_proc *p)
{
    if (p->start == HUNT_TIME_UNKNOWN)
        return -1;
    if (p->exit != HUNT_TIME_UNKNOWN)
        return p->exit - p->start;
    if (p->alive && p->seen != HUNT_TIME_UNKNOWN)
        return p->seen - p->start;
    return -1;
}

void hunt_judge_end(struct hunt_judge *j, struct hunt_proc *p, const struct hunt_boot *b)
{
    if (p->phantom || !p->name)
        return;
    enum hunt_smss_role role = hunt_smss_role(p);
    char a[96], m[96];
    int64_t life = lifetime(p);
    if (role == HUNT_SMSS_CHILD && life > j->rs->grace) {
        emit(j, HUNT_CHECK_PERSISTENT_CHILD, p, NULL,
             "session child %s (\"%s\") %s %lld s after it started; a session child exits "
             "once its session is created", who(p, a, sizeof a), p->cmdline ? p->cmdline : "",
             p->exit != HUNT_TIME_UNKNOWN ? "exited only" : "was still running",
             (long long)(life / HUNT_SECOND));
        return;
    }
    if (role != HUNT_SMSS_MASTER || !b->master || b->master == p)
        return;
    /* A second master: NT's own second instance exits at once; one that stays is not
     * the Session Manager. Known to have exited within the grace time: not a finding. */
    if (p->exit != HUNT_TIME_UNKNOWN && life >= 0 && life <= j->rs->grace)
        return;
    emit(j, HUNT_CHECK_INSTANCES, p, b->master->evidence,
         "%s is a second master smss (no arguments) while %s is the master; only one "
         "master runs", who(p, a, sizeof a), who(b->master, m, sizeof m));
}
