/* Dispatch to a mode, and recognising a session child's command line. */
#include "smss_modes.h"

#include <ctype.h>
#include <string.h>

bool smss_is_session_child(int argc, char **argv)
{
    if (argc != 2)
        return false;
    for (int i = 0; i < 2; i++) {
        if (strlen(argv[i]) != 8)
            return false;
        for (int j = 0; j < 8; j++)
            if (!isxdigit((unsigned char)argv[i][j]))
                return false;
    }
    return true;
}

int smss_run_mode(const struct smss_options *o)
{
    switch (o->mode) {
    case SMSS_MODE_CHECK_CONFIG: return smss_check_config(o);
    case SMSS_MODE_PRINT_CONFIG: return smss_print_config(o);
    case SMSS_MODE_BOOT: return smss_boot(o);
    case SMSS_MODE_SESSION_CHILD: return smss_session_child(o);
    case SMSS_MODE_SANDBOX: return smss_sandbox(o);
    }
    return 2;
}
