/* Temporary: the boot, session child and sandbox modes arrive with the Session Manager
 * itself. */
#include "smss_modes.h"
#include <stdio.h>

int smss_boot(const struct smss_options *o) { (void)o; fputs("smss: boot mode is not built yet\n", stderr); return 2; }
int smss_session_child(const struct smss_options *o) { (void)o; fputs("smss: session mode is not built yet\n", stderr); return 2; }
int smss_sandbox(const struct smss_options *o) { (void)o; fputs("smss: sandbox mode is not built yet\n", stderr); return 2; }
