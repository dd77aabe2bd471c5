/* The SM API and SB API wire format: the one definition the master, the session child
 * instances, the subsystems (csrss), wininit, winlogon and smssctl share.
 *
 * Transport: UNIX-domain stream sockets. SmApiPort is <runtime>/SmApiPort (the master);
 * each subsystem serves its SbApiPort at <runtime>/Sessions/<N>/<Subsystem>/SbApiPort.
 * Callers are identified by the kernel (SO_PEERCRED), never by what they claim.
 *
 * A message is a fixed header followed by `length` bytes of body. Every body is a
 * fixed-size struct of the message's type (no pointers; strings are NUL-terminated
 * arrays; lists are counted arrays), except the replies marked "records" (a counted
 * sequence of fixed-size records) and "JSON" (UTF-8 JSON text). File descriptors travel
 * as SCM_RIGHTS ancillary data with the message named. All integers are in the host's
 * byte order (the sockets never leave the machine). A reply repeats the request's type
 * and cookie, with status 0 or an SMAPI_E_* code and, on error, a struct smapi_error.
 *
 * Limits: a request body is at most SMAPI_MAX_REQUEST bytes, a reply body at most
 * SMAPI_MAX_REPLY; a peer that sends a wrong magic or version, a length over the limit
 * or a body whose size does not match its type gets an error reply and is disconnected. */
#ifndef SMSS_SMAPI_H
#define SMSS_SMAPI_H
#include <stdint.h>

#define SMAPI_MAGIC 0x50414d53u /* "SMAP" */
#define SMAPI_VERSION 1
#define SMAPI_MAX_REQUEST (64 * 1024)
#define SMAPI_MAX_REPLY (4 * 1024 * 1024)
#define SMAPI_NAME_MAX 32
#define SMAPI_PATH_MAX 256
#define SMAPI_CMD_MAX 2048
#define SMAPI_MAX_SUBSYSTEMS 8
#define SMAPI_SESSION_NONE 0xFFFFFFFFu

struct smapi_header {
    uint32_t magic;
    uint16_t version;
    uint16_t type;   /* enum smapi_type */
    uint32_t length; /* bytes of body after the header */
    int32_t status;  /* replies: 0 or an SMAPI_E_* code */
    uint64_t cookie; /* chosen by the requester, repeated in the reply */
};

enum smapi_type {
    /* SM API, NT's numbers. */
    SM_CREATE_FOREIGN_SESSION = 0,
    SM_SESSION_COMPLETE = 1,        /* subsystem → master: the session's last process is gone */
    SM_TERMINATE_FOREIGN_SESSION = 2,
    SM_EXEC_PGM = 3,                /* start a program in a session through its subsystem */
    SM_LOAD_DEFERED_SUBSYSTEM = 4,  /* start an Optional subsystem in the caller's session */
    SM_START_CSR = 5,               /* create a session */
    SM_STOP_CSR = 6,                /* end a session */
    /* SM API, this project's. */
    SM_QUERY = 16,                  /* reply: JSON */
    SM_TREE = 17,                   /* reply: records of struct smapi_process */
    SM_SHUTDOWN = 18,
    SM_CONNECT_SUBSYSTEM = 19,      /* a subsystem registers (only one smss started as it) */
    SM_SESSION_LIST = 20,           /* reply: records of struct smapi_session */
    /* Session child instance ↔ master, over the socket the child inherits. */
    SM_CHILD_REQUEST = 32,          /* master → child: what to create */
    SM_CHILD_STARTED = 33,          /* child → master: a process it started (before waiting) */
    SM_CHILD_REPORT = 34,           /* child → master: the session stands (or why not) */
    /* SB API, NT's numbers + 0x100. */
    SB_CREATE_SESSION = 0x100,
    SB_TERMINATE_SESSION = 0x101,
    SB_FOREIGN_SESSION_COMPLETE = 0x102,
    SB_CREATE_PROCESS = 0x103,
    SB_PROCESS_EXITED = 0x110,      /* subsystem → requester that asked to wait */
};

enum smapi_status {
    SMAPI_OK = 0,
    SMAPI_E_PROTOCOL = 1,   /* malformed message */
    SMAPI_E_DENIED = 2,     /* the caller may not do this */
    SMAPI_E_NOT_FOUND = 3,  /* no such session, subsystem or program */
    SMAPI_E_FAILED = 4,     /* the operation failed; the message says why */
    SMAPI_E_BUSY = 5,       /* shutting down, or a limit reached */
    SMAPI_E_UNSUPPORTED = 6,
};

/* The body of every error reply. */
struct smapi_error {
    int32_t errnum;  /* errno of the failure, 0 if none */
    char message[512];
};

/* SM_CONNECT_SUBSYSTEM */
struct smapi_connect_subsystem {
    uint32_t session;
    char name[SMAPI_NAME_MAX];        /* "Windows" */
    char sb_port[SMAPI_PATH_MAX];     /* where its SbApiPort listens */
};

/* SM_START_CSR request; reply: struct smapi_session_info */
struct smapi_start_csr {
    uint32_t session;                 /* SMAPI_SESSION_NONE: the lowest free ID */
    char command[SMAPI_CMD_MAX];      /* initial command; "" = the configured one */
};
struct smapi_session_info {
    uint32_t session;
    int32_t csrss_pid;
    int32_t initial_pid;
};

/* SM_STOP_CSR, SM_TERMINATE_FOREIGN_SESSION, SM_SESSION_COMPLETE */
struct smapi_session_ref {
    uint32_t session;
    int32_t exit_status;              /* SM_SESSION_COMPLETE: the session's status */
};

/* SB_CREATE_SESSION: the session's initial process, handed to its subsystem (NT hands it
 * so the subsystem can adopt it); the subsystem watches it and sends SM_SESSION_COMPLETE
 * when it ends. Reply: empty. */
struct smapi_sb_create_session {
    uint32_t session;
    int32_t initial_pid;
};

/* SM_EXEC_PGM and SB_CREATE_PROCESS. argv is argc NUL-terminated strings back to back.
 * fds 0-2 may travel as SCM_RIGHTS (stdio_fds of them, in order stdin, stdout, stderr).
 * Reply: struct smapi_process_started. With wait set, a later SB_PROCESS_EXITED
 * (struct smapi_process_exited) follows on the same connection. */
struct smapi_exec {
    uint32_t session;
    uint32_t flags;                   /* SMAPI_EXEC_* */
    char user[SMAPI_NAME_MAX];        /* "" = root */
    char cwd[SMAPI_PATH_MAX];         /* "" = the image's directory */
    uint32_t argc;
    uint32_t argv_len;
    char argv[SMAPI_CMD_MAX * 2];
};
enum { SMAPI_EXEC_WAIT = 1, SMAPI_EXEC_STDIO = 2 };
struct smapi_process_started {
    int32_t pid;
    uint32_t session;
};
struct smapi_process_exited {
    int32_t pid;
    int32_t wait_status;              /* as waitpid() gives it */
};

/* SM_LOAD_DEFERED_SUBSYSTEM */
struct smapi_load_subsystem {
    char name[SMAPI_NAME_MAX];
};

/* SM_SHUTDOWN */
struct smapi_shutdown {
    uint32_t action;                  /* SMAPI_SHUTDOWN_* */
};
enum { SMAPI_SHUTDOWN_HALT = 0, SMAPI_SHUTDOWN_REBOOT = 1, SMAPI_SHUTDOWN_POWEROFF = 2 };

/* SM_TREE reply: records. */
enum smapi_role {
    SMAPI_ROLE_MASTER, SMAPI_ROLE_SESSION_CHILD, SMAPI_ROLE_SUBSYSTEM, SMAPI_ROLE_INITIAL,
    SMAPI_ROLE_SERVICE, SMAPI_ROLE_USER, SMAPI_ROLE_OTHER,
};
struct smapi_process {
    int32_t pid, ppid, creator_pid;
    uint32_t session;                 /* SMAPI_SESSION_NONE when not in a session */
    uint32_t uid;
    int32_t nice;
    uint32_t role;                    /* enum smapi_role */
    uint32_t exited;                  /* a creator recorded that has exited */
    uint64_t start_time_ns;           /* CLOCK_REALTIME nanoseconds */
    char name[SMAPI_NAME_MAX];        /* "csrss" */
    char image[SMAPI_PATH_MAX];       /* /proc/PID/exe */
    char cmdline[1024];               /* arguments separated by NUL, ending "\0\0" */
};

/* SM_SESSION_LIST reply: records. */
struct smapi_session {
    uint32_t session;
    uint32_t state;                   /* 0 creating, 1 active, 2 terminating */
    int32_t csrss_pid, initial_pid, child_pid;
    uint32_t processes;
    uint64_t created_ns;
};

/* SM_CHILD_REQUEST: everything the child instance needs to create its session. */
struct smapi_child_subsystem {
    char name[SMAPI_NAME_MAX];
    char command[SMAPI_CMD_MAX];      /* expanded */
};
struct smapi_child_request {
    uint32_t session;
    uint32_t flags;                   /* SMAPI_SESSION_* */
    int32_t subsystem_nice, initial_nice;
    char runtime_dir[SMAPI_PATH_MAX];
    char cgroup_dir[SMAPI_PATH_MAX];  /* "" = no cgroup; else created and joined */
    char terminal[SMAPI_PATH_MAX];    /* the session's terminal for winlogon; "" = none */
    uint32_t nsubsystems;
    struct smapi_child_subsystem subsystems[SMAPI_MAX_SUBSYSTEMS];
    char initial_command[SMAPI_CMD_MAX];
};
enum { SMAPI_SESSION_IPC_NS = 1, SMAPI_SESSION_PRIVATE_SHM = 2 };

/* SM_CHILD_STARTED */
struct smapi_child_started {
    uint32_t session;
    uint32_t role;                    /* SMAPI_ROLE_SUBSYSTEM or SMAPI_ROLE_INITIAL */
    int32_t pid;
    char name[SMAPI_NAME_MAX];
};

/* SM_CHILD_REPORT */
struct smapi_child_report {
    uint32_t session;
    int32_t status;                   /* 0, or SMAPI_E_FAILED with message */
    int32_t csrss_pid, initial_pid;
    char message[512];
};

const char *smapi_type_name(uint16_t type);
const char *smapi_role_name(uint32_t role);

#endif
