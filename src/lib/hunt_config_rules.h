/* The configuration rules: the Session Manager key of a SYSTEM hive or a .reg file,
 * audited value by value from the raw store (not the typed view, which would hide
 * unexpected entries): SubSystems, BootExecute, SetupExecute/Execute, S0InitialCommand,
 * KnownDLLs and ExcludeFromKnownDlls, PendingFileRenameOperations, AppCertDlls, and
 * program paths in user-writable places. */
#ifndef SMSS_HUNT_CONFIG_RULES_H
#define SMSS_HUNT_CONFIG_RULES_H
#include "diag.h"
#include "hunt_judge.h"
#include "hunt_rules.h"
#include "regmodel.h"

/* Load a SYSTEM hive (is_hive) or a .reg file into store. 0, or -1 (diags say why). */
int hunt_config_load(struct reg_store *store, const char *path, bool is_hive,
                     struct diags *d);

/* Audit the store's Session Manager key against the config baseline for os. Each finding
 * goes to emit; *nfindings counts them. 0, or -1 when the store has no Session Manager
 * key (an error in diags naming source). */
int hunt_config_audit(const struct hunt_ruleset *rs, const struct reg_store *store,
                      const char *source, unsigned os, hunt_emit_fn emit, void *ctx,
                      size_t *nfindings, struct diags *d);

#endif
