/* Who created whom. The master records every process it or a session child instance
 * started, with its creator, session and role, so that after Linux reparents csrss,
 * wininit and winlogon to the master the tree can still say which (exited) smss child
 * created them, as Process Explorer does on NT. */
#include "master.h"
#include "platform.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

static struct proc_rec *recs;
static size_t nrecs, caprecs;

struct proc_rec *proc_find(pid_t pid)
{
    /* Newest first: a reused PID's newer record wins. */
    for (size_t i = nrecs; i-- > 0;)
        if (recs[i].pid == pid && !recs[i].exited)
            return &recs[i];
    return NULL;
}

struct proc_rec *proc_add(pid_t pid, pid_t creator, uint32_t session, uint32_t role,
                          const char *name, const char *critical)
{
    struct proc_rec *old = proc_find(pid);
    if (old)
        old->exited = true; /* the PID was reused: the old record describes another process */
    if (nrecs == caprecs) {
        size_t cap = caprecs ? caprecs * 2 : 64;
        struct proc_rec *v = realloc(recs, cap * sizeof *v);
        if (!v)
            return NULL;
        recs = v;
        caprecs = cap;
    }
    struct proc_rec *r = &recs[nrecs++];
    memset(r, 0, sizeof *r);
    r->pid = pid;
    r->start_ticks = platform_process_start_ticks(pid);
    r->start_ns = platform_ticks_to_realtime_ns(r->start_ticks);
    r->creator = creator;
    r->session = session;
    r->role = role;
    r->critical = critical;
    str_copy(r->name, sizeof r->name, name);
    platform_process_cmdline(pid, r->cmdline, sizeof r->cmdline);
    return r;
}

void proc_forget_session(uint32_t session)
{
    size_t j = 0;
    for (size_t i = 0; i < nrecs; i++)
        if (!(recs[i].session == session && recs[i].exited))
            recs[j++] = recs[i];
    nrecs = j;
}

size_t proc_count(void) { return nrecs; }
struct proc_rec *proc_at(size_t i) { return &recs[i]; }
