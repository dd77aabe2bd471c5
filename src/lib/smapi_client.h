/* The SM API client library: what smssctl, the subsystems, winlogon and the tests call,
 * so no part of the project speaks the protocol by hand. Every call returns 0, or -1
 * with a human-readable reason in err (what failed and what to do). */
#ifndef SMSS_SMAPI_CLIENT_H
#define SMSS_SMAPI_CLIENT_H
#include "smapi.h"
#include "smapi_wire.h"
#include <stddef.h>
#include <sys/types.h>

struct smapi_client_error {
    int status;       /* SMAPI_E_*, or -1 for a transport failure */
    int errnum;
    char message[600];
};

/* The runtime directory a client should use: explicit, else $SMSS_RUNTIME_DIR (set in
 * every session), else /run/smss. */
const char *smapi_runtime_dir(const char *explicit_dir);
/* Connect to <runtime>/SmApiPort. */
int smapi_open(const char *runtime_dir, int timeout_ms, struct smapi_client_error *err);

int smapi_tree(int fd, struct smapi_process **recs, size_t *n, struct smapi_client_error *err);
int smapi_sessions(int fd, struct smapi_session **v, size_t *n, struct smapi_client_error *err);
/* The query's JSON text (malloc'd). */
int smapi_query(int fd, char **json, struct smapi_client_error *err);
int smapi_shutdown(int fd, uint32_t action, struct smapi_client_error *err);
/* Create a session (SMAPI_SESSION_NONE: the lowest free ID); command "" = configured. */
int smapi_start_csr(int fd, uint32_t session, const char *command,
                    struct smapi_session_info *out, int timeout_ms,
                    struct smapi_client_error *err);
int smapi_stop_csr(int fd, uint32_t session, struct smapi_client_error *err);
/* Start argv in a session through its subsystem; stdio (3 descriptors) when not NULL. */
int smapi_exec(int fd, uint32_t session, const char *user, char *const *argv,
               const int *stdio, pid_t *pid, struct smapi_client_error *err);
int smapi_load_subsystem(int fd, const char *name, struct smapi_client_error *err);

/* A generic round trip with a fixed request body and reply checks; the reply (when
 * status is OK) is handed over in *reply. */
int smapi_request(int fd, uint16_t type, const void *body, size_t len, const int *fds,
                  int nfds, struct smapi_message *reply, int timeout_ms,
                  struct smapi_client_error *err);

#endif
