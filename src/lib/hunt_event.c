#include "hunt_event.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const field_names[HF_COUNT] = {
    "UtcTime",           "ProcessId",         "Image",
    "CommandLine",       "User",              "TerminalSessionId",
    "ParentProcessId",   "ParentImage",       "ParentCommandLine",
    "NewProcessId",      "NewProcessName",    "SubjectUserSid",
    "SubjectUserName",   "SubjectDomainName", "TargetUserSid",
    "TargetUserName",    "TargetDomainName",  "ParentProcessName",
    "ProcessName",
};

const char *hunt_field_name(enum hunt_field f)
{
    return (unsigned)f < HF_COUNT ? field_names[f] : NULL;
}

int hunt_field_lookup(const char *name, size_t len)
{
    static size_t lens[HF_COUNT];
    if (!lens[0])
        for (int i = 0; i < HF_COUNT; i++)
            lens[i] = strlen(field_names[i]);
    /* Every name we read starts with an upper-case letter of these. */
    switch (name[0]) {
    case 'C': case 'I': case 'N': case 'P': case 'S': case 'T': case 'U': break;
    default: return -1;
    }
    if (len < 4 || len > 18)
        return -1;
    for (int i = 0; i < HF_COUNT; i++)
        if (lens[i] == len && field_names[i][0] == name[0] && memcmp(field_names[i], name, len) == 0)
            return i;
    return -1;
}

static bool is_sysmon(const char *provider)
{
    return !provider || strstr(provider, "Sysmon") || strstr(provider, "sysmon");
}

static bool is_security(const char *provider)
{
    return !provider || strstr(provider, "Security-Auditing") || !strcmp(provider, "Security");
}

bool hunt_event_wanted(unsigned id, const char *provider)
{
    switch (id) {
    case 1:
    case 5: return is_sysmon(provider);
    case 4688:
    case 4689:
    case 4608: return is_security(provider);
    default: return false;
    }
}

int64_t hunt_parse_pid(const char *s)
{
    if (!s || !*s)
        return -1;
    while (*s == ' ')
        s++;
    /* Plain decimal digits, the common case, without strtoll: up to 18 of them cannot
     * overflow; anything else is left to it. */
    int64_t v = 0;
    const char *d = s;
    for (; (unsigned)(*d - '0') < 10 && d - s < 18; d++)
        v = v * 10 + (*d - '0');
    if (d > s && (*d == '\0' || *d == ' '))
        return v;
    char *end;
    errno = 0;
    long long big = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? strtoll(s + 2, &end, 16)
                                                                   : strtoll(s, &end, 10);
    if (errno || end == s || big < 0 || (*end && *end != ' '))
        return -1;
    return big;
}

static bool present(const char *s) { return s && *s && strcmp(s, "-") != 0; }

/* A 4688 account: the new process's own (Target*) when the event has it, else the
 * creator's (Subject*), as DOMAIN\name or the SID. */
static const char *account_4688(const struct hunt_event *e, char *scratch, size_t size)
{
    const char *sid = e->v[HF_TARGET_USER_SID], *name = e->v[HF_TARGET_USER_NAME],
               *dom = e->v[HF_TARGET_DOMAIN_NAME];
    if (!present(sid) || !strcmp(sid, "S-1-0-0")) {
        sid = e->v[HF_SUBJECT_USER_SID];
        name = e->v[HF_SUBJECT_USER_NAME];
        dom = e->v[HF_SUBJECT_DOMAIN_NAME];
    }
    if (present(sid))
        return sid;
    if (present(name)) {
        snprintf(scratch, size, "%s%s%s", present(dom) ? dom : "", present(dom) ? "\\" : "",
                 name);
        return scratch;
    }
    return NULL;
}

static int session_of(const char *s)
{
    int64_t v = hunt_parse_pid(s);
    return v < 0 || v > 1000000 ? -1 : (int)v;
}

bool hunt_event_record(const struct hunt_event *e, struct hunt_record *r, char *scratch,
                       size_t scratch_size)
{
    *r = (struct hunt_record){.ppid = -1, .creator_pid = -1, .session = -1,
                              .exit_time = HUNT_TIME_UNKNOWN, .seen = HUNT_TIME_UNKNOWN,
                              .os = HUNT_OS_WINDOWS, .recno = e->recno};
    if (!e->has_id || !hunt_event_wanted(e->id, e->provider))
        return false;
    int64_t utc = hunt_time_parse(e->v[HF_UTC_TIME]);
    r->time = utc != HUNT_TIME_UNKNOWN ? utc : e->time;
    switch (e->id) {
    case 1:
        r->kind = HUNT_REC_START;
        r->pid = hunt_parse_pid(e->v[HF_PROCESS_ID]);
        r->ppid = hunt_parse_pid(e->v[HF_PARENT_PROCESS_ID]);
        r->image = e->v[HF_IMAGE];
        r->cmdline = e->v[HF_COMMAND_LINE];
        r->user = e->v[HF_USER];
        r->session = session_of(e->v[HF_TERMINAL_SESSION_ID]);
        r->parent_image = e->v[HF_PARENT_IMAGE];
        r->parent_cmdline = e->v[HF_PARENT_COMMAND_LINE];
        r->what = "Sysmon 1";
        /* Sysmon 1 without ProcessId is another product's event 1. */
        return r->pid >= 0 && present(r->image);
    case 5:
        r->kind = HUNT_REC_EXIT;
        r->pid = hunt_parse_pid(e->v[HF_PROCESS_ID]);
        r->image = e->v[HF_IMAGE];
        r->what = "Sysmon 5";
        return r->pid >= 0;
    case 4688:
        r->kind = HUNT_REC_START;
        r->pid = hunt_parse_pid(e->v[HF_NEW_PROCESS_ID]);
        r->ppid = hunt_parse_pid(e->v[HF_PROCESS_ID]);
        r->image = e->v[HF_NEW_PROCESS_NAME];
        r->cmdline = present(e->v[HF_COMMAND_LINE]) ? e->v[HF_COMMAND_LINE] : NULL;
        r->user = account_4688(e, scratch, scratch_size);
        r->parent_image = present(e->v[HF_PARENT_PROCESS_NAME]) ? e->v[HF_PARENT_PROCESS_NAME]
                                                                : NULL;
        r->time = e->time;
        r->what = "Security 4688";
        return r->pid >= 0;
    case 4689:
        r->kind = HUNT_REC_EXIT;
        r->pid = hunt_parse_pid(e->v[HF_PROCESS_ID]);
        r->image = e->v[HF_PROCESS_NAME];
        r->time = e->time;
        r->what = "Security 4689";
        return r->pid >= 0;
    case 4608:
        r->kind = HUNT_REC_BOOT;
        r->time = e->time;
        r->what = "Security 4608";
        return r->time != HUNT_TIME_UNKNOWN;
    }
    return false;
}
