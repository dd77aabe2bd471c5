#include "hunt_tree.h"
#include "hunt_path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EVIDENCE_MAX 1024 /* bytes of record references kept per process */

struct hunt_tree {
    const struct hunt_ruleset *rs;
    struct hunt_judge judge;
    bool keep_all;
    char *smss_dir;
    struct hunt_proc **buckets; /* PID → the process holding it now */
    size_t nbuckets, nheld;
    struct hunt_boot *boots;
    size_t nboots;
    size_t nprocs;
};

/* ------------------------------------------------------------------ PID table */

static size_t slot(const struct hunt_tree *t, int64_t pid)
{
    uint64_t h = (uint64_t)pid * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & (t->nbuckets - 1);
}

static struct hunt_proc *lookup(const struct hunt_tree *t, int64_t pid)
{
    for (struct hunt_proc *p = t->buckets[slot(t, pid)]; p; p = p->hash_next)
        if (p->pid == pid)
            return p;
    return NULL;
}

static int grow(struct hunt_tree *t)
{
    size_t n = t->nbuckets * 2;
    struct hunt_proc **b = calloc(n, sizeof *b);
    if (!b)
        return -1;
    struct hunt_proc **old = t->buckets;
    size_t oldn = t->nbuckets;
    t->buckets = b;
    t->nbuckets = n;
    for (size_t i = 0; i < oldn; i++)
        for (struct hunt_proc *p = old[i], *next; p; p = next) {
            next = p->hash_next;
            size_t s = slot(t, p->pid);
            p->hash_next = b[s];
            b[s] = p;
        }
    free(old);
    return 0;
}

static int hold(struct hunt_tree *t, struct hunt_proc *p)
{
    if (t->nheld >= t->nbuckets * 2 && grow(t) < 0)
        return -1;
    size_t s = slot(t, p->pid);
    p->hash_next = t->buckets[s];
    t->buckets[s] = p;
    t->nheld++;
    return 0;
}

static void release(struct hunt_tree *t, struct hunt_proc *p)
{
    for (struct hunt_proc **pp = &t->buckets[slot(t, p->pid)]; *pp; pp = &(*pp)->hash_next)
        if (*pp == p) {
            *pp = p->hash_next;
            p->hash_next = NULL;
            t->nheld--;
            return;
        }
}

/* ------------------------------------------------------------------ links */

static struct hunt_boot *cur(struct hunt_tree *t) { return &t->boots[t->nboots - 1]; }

static void boot_append(struct hunt_boot *b, struct hunt_proc *p)
{
    p->boot = b->index;
    p->prev_in_boot = b->tail;
    p->next_in_boot = NULL;
    if (b->tail)
        b->tail->next_in_boot = p;
    else
        b->head = p;
    b->tail = p;
    b->nprocs++;
}

static void boot_unlink(struct hunt_boot *b, struct hunt_proc *p)
{
    if (p->prev_in_boot)
        p->prev_in_boot->next_in_boot = p->next_in_boot;
    else
        b->head = p->next_in_boot;
    if (p->next_in_boot)
        p->next_in_boot->prev_in_boot = p->prev_in_boot;
    else
        b->tail = p->prev_in_boot;
    p->prev_in_boot = p->next_in_boot = NULL;
    b->nprocs--;
    if (b->master == p)
        b->master = NULL;
}

static void link_child(struct hunt_proc *parent, struct hunt_proc *c)
{
    c->parent = parent;
    c->prev_sibling = parent->last_child;
    c->next_sibling = NULL;
    if (parent->last_child)
        parent->last_child->next_sibling = c;
    else
        parent->first_child = c;
    parent->last_child = c;
}

static void unlink_child(struct hunt_proc *c)
{
    struct hunt_proc *parent = c->parent;
    if (!parent)
        return;
    if (c->prev_sibling)
        c->prev_sibling->next_sibling = c->next_sibling;
    else
        parent->first_child = c->next_sibling;
    if (c->next_sibling)
        c->next_sibling->prev_sibling = c->prev_sibling;
    else
        parent->last_child = c->prev_sibling;
    c->parent = c->prev_sibling = c->next_sibling = NULL;
}

/* Drop a process from everything and free it; its children keep running, parentless. */
static void destroy(struct hunt_tree *t, struct hunt_proc *p)
{
    while (p->first_child)
        unlink_child(p->first_child);
    unlink_child(p);
    boot_unlink(&t->boots[p->boot], p);
    if (!p->retired)
        release(t, p);
    t->nprocs--;
    hunt_proc_free(p);
}

/* The process ended (exit record, PID reuse, end of its boot). */
static void retire(struct hunt_tree *t, struct hunt_proc *p)
{
    if (p->retired)
        return;
    release(t, p);
    p->retired = true;
    hunt_judge_end(&t->judge, p, &t->boots[p->boot]);
    if (!t->keep_all)
        destroy(t, p);
}

static int new_boot(struct hunt_tree *t, int64_t time, struct hunt_proc *carry)
{
    struct hunt_boot *b = realloc(t->boots, (t->nboots + 1) * sizeof *b);
    if (!b)
        return -1;
    t->boots = b;
    struct hunt_boot *old = cur(t);
    if (carry) {
        unlink_child(carry);
        boot_unlink(old, carry);
    }
    /* Every process of the old boot ended with it. */
    for (struct hunt_proc *p = old->head, *next; p; p = next) {
        next = p->next_in_boot;
        if (!p->retired)
            retire(t, p);
    }
    b = &t->boots[t->nboots];
    *b = (struct hunt_boot){.index = (unsigned)t->nboots, .time = time};
    t->nboots++;
    if (carry) {
        boot_append(b, carry);
        b->master = carry;
    }
    return 0;
}

/* ------------------------------------------------------------------ records */

/* n in decimal at the end of out[24]; returns where it starts. */
static char *decimal(uint64_t n, char out[24])
{
    char *d = out + 23;
    *d = '\0';
    do
        *--d = (char)('0' + n % 10);
    while (n /= 10);
    return d;
}

/* "file#recno (what)" appended to p's evidence, "; " between records. Built by hand: a
 * process gets one for every record, and formatting them was a tenth of a JSON pass. */
static int add_evidence(struct hunt_proc *p, const struct hunt_record *r)
{
    if (!r->source)
        return 0;
    size_t had = p->evidence ? strlen(p->evidence) : 0;
    if (had >= EVIDENCE_MAX)
        return 0;
    char num[24];
    const char *recno = r->recno ? decimal(r->recno, num) : NULL;
    size_t ns = strlen(r->source), nr = recno ? strlen(recno) : 0,
           nw = r->what ? strlen(r->what) : 0;
    size_t len = had + (had ? 2 : 0) + ns + (recno ? 1 + nr : 0) + (r->what ? 3 + nw : 0);
    char *e = realloc(p->evidence, len + 1);
    if (!e)
        return -1;
    char *w = e + had;
    if (had)
        w = mempcpy(w, "; ", 2);
    w = mempcpy(w, r->source, ns);
    if (recno) {
        *w++ = '#';
        w = mempcpy(w, recno, nr);
    }
    if (r->what) {
        w = mempcpy(w, " (", 2);
        w = mempcpy(w, r->what, nw);
        *w++ = ')';
    }
    *w = '\0';
    p->evidence = e;
    return 0;
}

/* Fill what p does not know yet from r. */
static int fill(struct hunt_tree *t, struct hunt_proc *p, const struct hunt_record *r)
{
    bool failed = false;
    const char *image = r->image;
    char *from_cmd = NULL;
    if (!image && !p->image && r->cmdline && (r->cmdline[0] == '/' || strchr(r->cmdline, '\\')))
        image = from_cmd = hunt_cmdline_image(r->cmdline);
    if (!p->image && image && *image) {
        p->image = hunt_strdup(image, &failed);
        p->image_norm = hunt_path_normalize(image, t->rs->system_root);
        if (!p->image_norm)
            failed = true;
    }
    const char *name = r->name && *r->name ? r->name : image ? hunt_path_basename(image) : NULL;
    if ((!p->name || p->phantom) && name && *name) {
        free(p->name);
        p->name = hunt_strdup(name, &failed);
    }
    free(from_cmd);
    if (!p->cmdline && r->cmdline && *r->cmdline)
        p->cmdline = hunt_strdup(r->cmdline, &failed);
    if (!p->user && r->user && *r->user)
        p->user = hunt_strdup(r->user, &failed);
    if (p->session < 0)
        p->session = r->session;
    if (p->ppid < 0)
        p->ppid = r->ppid;
    if (p->creator_pid < 0)
        p->creator_pid = r->creator_pid;
    if (!p->has_priority && r->has_priority) {
        p->has_priority = true;
        p->priority = r->priority;
    }
    if (p->start == HUNT_TIME_UNKNOWN && r->kind != HUNT_REC_EXIT)
        p->start = r->time;
    if (r->kind == HUNT_REC_RUNNING) {
        p->alive = r->exit_time == HUNT_TIME_UNKNOWN;
        if (r->exit_time != HUNT_TIME_UNKNOWN)
            p->exit = r->exit_time;
        p->seen = r->seen;
    }
    if (!p->os)
        p->os = r->os;
    if (add_evidence(p, r) < 0)
        failed = true;
    return failed ? -1 : 0;
}

static struct hunt_proc *proc_new(struct hunt_tree *t, int64_t pid)
{
    struct hunt_proc *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->pid = pid;
    p->ppid = p->creator_pid = -1;
    p->session = -1;
    p->start = p->exit = p->seen = HUNT_TIME_UNKNOWN;
    t->nprocs++;
    return p;
}

static bool windows_record(const struct hunt_record *r)
{
    return r->os && !(r->os & HUNT_OS_LINUX);
}

/* A parent known only from the child's record (Sysmon's ParentImage, PID 4 = System). */
static struct hunt_proc *phantom(struct hunt_tree *t, const struct hunt_record *r)
{
    const char *image = r->parent_image && *r->parent_image ? r->parent_image : NULL;
    if (!image && !(r->ppid == 4 && windows_record(r)))
        return NULL;
    struct hunt_proc *q = proc_new(t, r->ppid);
    if (!q)
        return NULL;
    struct hunt_record pr = {.kind = HUNT_REC_START, .pid = r->ppid, .ppid = -1,
                             .creator_pid = -1, .image = image,
                             .name = image ? NULL : "System", .cmdline = r->parent_cmdline,
                             .session = -1, .time = HUNT_TIME_UNKNOWN,
                             .exit_time = HUNT_TIME_UNKNOWN, .os = r->os};
    if (r->ppid == 4 && !image)
        pr.ppid = 0;
    if (fill(t, q, &pr) < 0 || hold(t, q) < 0) {
        t->nprocs--;
        hunt_proc_free(q);
        return NULL;
    }
    q->phantom = true;
    boot_append(cur(t), q);
    if (!cur(t)->master && hunt_smss_role(q) == HUNT_SMSS_MASTER)
        cur(t)->master = q;
    return q;
}

static int resolve_parent(struct hunt_tree *t, struct hunt_proc *p, const struct hunt_record *r)
{
    if (p->parent || p->ppid < 0 || (p->ppid == 0 && p->pid <= 4))
        return 0;
    if (p->ppid == 0 && !windows_record(r))
        return 0;
    struct hunt_proc *q = lookup(t, p->ppid);
    if (q == p)
        return 0;
    if (q) {
        /* PID reuse: a process that started after the child cannot be its parent. */
        if (q->start != HUNT_TIME_UNKNOWN && p->start != HUNT_TIME_UNKNOWN && q->start > p->start)
            return 0;
        link_child(q, p);
        return 0;
    }
    q = phantom(t, r);
    if (!q && (r->parent_image || (r->ppid == 4 && windows_record(r))))
        return -1;
    if (q)
        link_child(q, p);
    return 0;
}

/* Whether a session 0 smss child starts a new boot: not when the boot holds only what
 * comes before session 0 (System, Registry, the master and its BootExecute programs). */
static bool boot_is_fresh(const struct hunt_boot *b, const struct hunt_record *r)
{
    for (const struct hunt_proc *p = b->head; p; p = p->next_in_boot) {
        if (p->phantom || p->retired)
            continue;
        if (p->pid == r->ppid || p->ppid == r->ppid || p->pid == 4 || p->ppid == 4)
            continue;
        return false;
    }
    return true;
}

/* Equal without case; equal first bytes once 0x20 is set are needed for it, and most
 * names differ there. */
static bool same_name(const char *a, const char *b)
{
    return a && b && (a[0] | 0x20) == (b[0] | 0x20) && !strcasecmp(a, b);
}

/* Does this START record begin a new boot? Sets *carry to a master to move into it. */
static bool boot_signal(struct hunt_tree *t, const struct hunt_record *r, struct hunt_proc **carry)
{
    struct hunt_boot *b = cur(t);
    *carry = NULL;
    if (!b->head)
        return false;
    const char *name = r->name ? r->name : r->image ? hunt_path_basename(r->image) : NULL;
    if (r->pid == 4 && same_name(name, "System"))
        return true;
    if (!same_name(name, "smss.exe") && !(name && !strcmp(name, "smss")))
        return false;
    size_t n;
    const char *args = hunt_cmdline_args(r->cmdline, &n);
    struct hunt_proc *parent = lookup(t, r->ppid);
    bool child = r->cmdline ? hunt_args_session_child(args, n)
                            : parent && hunt_smss_role(parent) == HUNT_SMSS_MASTER;
    if (!child)
        return false;
    /* The first session child of a master that is not this boot's master: that master
     * was a reboot's, not a second instance. */
    if (parent && !parent->phantom && b->master && parent != b->master &&
        hunt_smss_role(parent) == HUNT_SMSS_MASTER) {
        *carry = parent;
        return true;
    }
    return r->session == 0 && !boot_is_fresh(b, r);
}

static int64_t boot_time_of(const struct hunt_record *r, const struct hunt_proc *carry)
{
    if (carry && carry->start != HUNT_TIME_UNKNOWN)
        return carry->start;
    return r->time;
}

/* The boot's time when it had none: System, a master, or the first session 0 child. */
static void note_boot_time(struct hunt_boot *b, const struct hunt_proc *p)
{
    if (b->time != HUNT_TIME_UNKNOWN || p->start == HUNT_TIME_UNKNOWN)
        return;
    enum hunt_smss_role role = hunt_smss_role(p);
    if ((p->pid == 4 && same_name(p->name, "System")) ||
        (role == HUNT_SMSS_MASTER && (p->ppid == 4 || p->ppid == 0)) ||
        (role == HUNT_SMSS_CHILD && p->session == 0 && boot_is_fresh(b, &(struct hunt_record){
                                                          .pid = p->pid, .ppid = p->ppid})))
        b->time = p->start;
}

static bool same_process(const struct hunt_proc *p, const struct hunt_record *r)
{
    if (p->phantom)
        return true;
    if (p->start == HUNT_TIME_UNKNOWN || r->time == HUNT_TIME_UNKNOWN)
        return true;
    int64_t d = p->start - r->time;
    return d >= -HUNT_SECOND && d <= HUNT_SECOND;
}

static int add_process(struct hunt_tree *t, const struct hunt_record *r)
{
    struct hunt_proc *carry = NULL;
    if (r->kind == HUNT_REC_START && boot_signal(t, r, &carry) &&
        new_boot(t, boot_time_of(r, carry), carry) < 0)
        return -1;
    struct hunt_proc *p = lookup(t, r->pid);
    if (p && same_process(p, r)) {
        bool was_phantom = p->phantom;
        p->phantom = false;
        if (fill(t, p, r) < 0)
            return -1;
        if (was_phantom && p->parent == NULL && resolve_parent(t, p, r) < 0)
            return -1;
    } else {
        if (p && p->start != HUNT_TIME_UNKNOWN && r->time != HUNT_TIME_UNKNOWN &&
            p->start < r->time)
            retire(t, p); /* its PID was reused: it had ended */
        else if (p)
            p = NULL;     /* an older process than the one holding the PID: kept apart */
        bool older = lookup(t, r->pid) != NULL;
        p = proc_new(t, r->pid);
        if (!p)
            return -1;
        boot_append(cur(t), p);
        if (fill(t, p, r) < 0 || (!older && hold(t, p) < 0)) {
            destroy(t, p);
            return -1;
        }
        if (older)
            p->retired = true;
        if (resolve_parent(t, p, r) < 0)
            return -1;
    }
    struct hunt_boot *b = cur(t);
    note_boot_time(b, p);
    /* wininit exists from Vista on: this evidence is not from Windows XP. */
    if (same_name(p->name, "wininit.exe") && (t->judge.os & ~HUNT_OS_XP & HUNT_OS_WINDOWS))
        t->judge.os &= ~HUNT_OS_XP;
    if (!p->retired && hunt_smss_role(p) == HUNT_SMSS_MASTER &&
        (!b->master || b->master->retired))
        b->master = p;
    hunt_judge_start(&t->judge, p, b);
    if (p->retired) { /* an older holder of a PID now used by another */
        hunt_judge_end(&t->judge, p, b);
        if (!t->keep_all)
            destroy(t, p);
    } else if (r->kind == HUNT_REC_RUNNING && r->exit_time != HUNT_TIME_UNKNOWN) {
        retire(t, p);
    }
    return 0;
}

static int add_exit(struct hunt_tree *t, const struct hunt_record *r)
{
    struct hunt_proc *p = lookup(t, r->pid);
    if (!p || (p->start != HUNT_TIME_UNKNOWN && r->time != HUNT_TIME_UNKNOWN && p->start > r->time))
        return 0;
    p->exit = r->time;
    if (add_evidence(p, r) < 0)
        return -1;
    retire(t, p);
    return 0;
}

static int add_boot(struct hunt_tree *t, const struct hunt_record *r)
{
    struct hunt_boot *b = cur(t);
    if (!b->head) {
        b->time = r->time;
        return 0;
    }
    /* The same boot seen by another input: its first process started shortly after. */
    int64_t first = HUNT_TIME_UNKNOWN;
    for (const struct hunt_proc *p = b->head; p; p = p->next_in_boot)
        if (p->start != HUNT_TIME_UNKNOWN && (first == HUNT_TIME_UNKNOWN || p->start < first))
            first = p->start;
    if (r->time != HUNT_TIME_UNKNOWN && first != HUNT_TIME_UNKNOWN &&
        first >= r->time - 5 * HUNT_SECOND && first <= r->time + t->rs->boot_window) {
        if (b->time == HUNT_TIME_UNKNOWN || r->time < b->time)
            b->time = r->time;
        return 0;
    }
    return new_boot(t, r->time, NULL);
}

int hunt_tree_add(struct hunt_tree *t, const struct hunt_record *r)
{
    int rc;
    switch (r->kind) {
    case HUNT_REC_BOOT: rc = add_boot(t, r); break;
    case HUNT_REC_EXIT: rc = add_exit(t, r); break;
    default: rc = r->pid < 0 ? 0 : add_process(t, r); break;
    }
    if (rc < 0)
        errno = ENOMEM;
    return rc;
}

void hunt_tree_finish(struct hunt_tree *t)
{
    struct hunt_boot *b = cur(t);
    for (struct hunt_proc *p = b->head; p; p = p->next_in_boot)
        if (!p->retired)
            hunt_judge_end(&t->judge, p, b);
}

/* ------------------------------------------------------------------ life cycle */

struct hunt_tree *hunt_tree_new(const struct hunt_ruleset *rs,
                                const struct hunt_tree_options *o, hunt_emit_fn emit, void *ctx)
{
    struct hunt_tree *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->rs = rs;
    t->keep_all = o && o->keep_all;
    t->nbuckets = 256;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    t->boots = calloc(1, sizeof *t->boots);
    t->judge.clean = calloc(HUNT_NAME_CACHE, sizeof *t->judge.clean);
    if (o && o->smss_dir)
        t->smss_dir = strdup(o->smss_dir);
    if (!t->buckets || !t->boots || !t->judge.clean || (o && o->smss_dir && !t->smss_dir)) {
        hunt_tree_free(t);
        return NULL;
    }
    t->boots[0] = (struct hunt_boot){.index = 0, .time = HUNT_TIME_UNKNOWN};
    t->nboots = 1;
    t->judge = (struct hunt_judge){.rs = rs, .clean = t->judge.clean,
                                   .os = o && o->os ? o->os : HUNT_OS_ALL,
                                   .smss_dir = t->smss_dir, .emit = emit, .ctx = ctx};
    return t;
}

void hunt_tree_set_smss_dir(struct hunt_tree *t, const char *dir)
{
    char *d = dir ? strdup(dir) : NULL;
    if (dir && !d)
        return;
    free(t->smss_dir);
    t->smss_dir = d;
    t->judge.smss_dir = d;
}

void hunt_tree_free(struct hunt_tree *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nboots; i++)
        for (struct hunt_proc *p = t->boots[i].head, *next; p; p = next) {
            next = p->next_in_boot;
            hunt_proc_free(p);
        }
    free(t->boots);
    free(t->buckets);
    free(t->judge.clean);
    free(t->smss_dir);
    free(t);
}

size_t hunt_tree_nboots(const struct hunt_tree *t) { return t->nboots; }

const struct hunt_boot *hunt_tree_boot(const struct hunt_tree *t, size_t i)
{
    return i < t->nboots ? &t->boots[i] : NULL;
}

size_t hunt_tree_nfindings(const struct hunt_tree *t) { return t->judge.findings; }
size_t hunt_tree_nprocs(const struct hunt_tree *t) { return t->nprocs; }
bool hunt_tree_oom(const struct hunt_tree *t) { return t->judge.oom; }
