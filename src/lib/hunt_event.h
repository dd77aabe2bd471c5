/* Windows process events by field name, whatever carried them (EVTX XML, Winlogbeat,
 * NXLog or dataset JSON): Sysmon 1 (process create) and 5 (terminate), Security 4688
 * (create), 4689 (exit) and 4608 (start-up), turned into hunt records. Field names are
 * the events' own (ProcessId, Image, NewProcessName, ...); any schema version works as
 * long as the names are there. */
#ifndef SMSS_HUNT_EVENT_H
#define SMSS_HUNT_EVENT_H
#include "hunt_model.h"
#include <stddef.h>
#include <stdint.h>

enum hunt_field {
    HF_UTC_TIME,
    HF_PROCESS_ID,
    HF_IMAGE,
    HF_COMMAND_LINE,
    HF_USER,
    HF_TERMINAL_SESSION_ID,
    HF_PARENT_PROCESS_ID,
    HF_PARENT_IMAGE,
    HF_PARENT_COMMAND_LINE,
    HF_NEW_PROCESS_ID,
    HF_NEW_PROCESS_NAME,
    HF_SUBJECT_USER_SID,
    HF_SUBJECT_USER_NAME,
    HF_SUBJECT_DOMAIN_NAME,
    HF_TARGET_USER_SID,
    HF_TARGET_USER_NAME,
    HF_TARGET_DOMAIN_NAME,
    HF_PARENT_PROCESS_NAME,
    HF_PROCESS_NAME,
    HF_COUNT
};

/* The field a name stands for (exact event field names), or -1. */
int hunt_field_lookup(const char *name, size_t len);
/* A field's name ("ProcessId", ...). */
const char *hunt_field_name(enum hunt_field f);

/* One event: its header and the fields that matter (NUL-terminated, NULL = absent). */
struct hunt_event {
    unsigned id;
    bool has_id;
    const char *provider;  /* "Microsoft-Windows-Sysmon", ... (may be NULL) */
    int64_t time;          /* TimeCreated, HUNT_TIME_UNKNOWN when absent */
    uint64_t recno;        /* EventRecordID, 0 when absent */
    const char *v[HF_COUNT];
};

/* Whether an event ID (with its provider, which may be unknown) is one we read. */
bool hunt_event_wanted(unsigned id, const char *provider);

/* Turn an event into a record (strings point into e, or into scratch). False when the
 * event is not a process event we read or lacks its process ID. source and what are set
 * by the caller. scratch: at least 512 bytes for a user name built from its parts. */
bool hunt_event_record(const struct hunt_event *e, struct hunt_record *r, char *scratch,
                       size_t scratch_size);

/* "3688", "0x0000000000000e68" → number; -1 when neither. */
int64_t hunt_parse_pid(const char *s);

#endif
