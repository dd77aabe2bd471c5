/* The phases of the master's boot, in NT's order (boot.c holds the table). Each returns
 * 0 when done, 1 when done in part (what was skipped is logged), -1 on failure. */
#ifndef SMSS_BOOT_PHASES_H
#define SMSS_BOOT_PHASES_H

enum { PHASE_ANOTHER_MASTER = -2 };

int phase_configuration(void);
int phase_master_duties(void);
int phase_object_directories(void);
int phase_boot_execute(void);
int phase_pending_renames(void);
int phase_known_dlls(void);
int phase_paging_files(void);
int phase_environment(void);
int phase_setup_execute(void);
int phase_kmode(void);
int phase_api_port(void);
int phase_initial_sessions(void);
int phase_execute(void);

#endif
