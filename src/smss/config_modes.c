/* smss --check-config and --print-config. */
#include "config.h"
#include "smss_modes.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Load the store and its typed view; every diagnostic is kept for the caller. */
static int load(const struct smss_options *o, struct reg_store **store, struct smss_config *c,
                struct diags *d)
{
    *store = reg_store_new();
    if (!*store) {
        diag_add(d, DIAG_ERROR, "smss", "out of memory");
        return -1;
    }
    if (smss_config_load_store(*store, &o->sources, d) < 0)
        return -1;
    if (smss_config_from_store(c, *store, d) < 0) {
        diag_add(d, DIAG_ERROR, "smss", "out of memory reading the configuration");
        return -1;
    }
    smss_config_check(c, d);
    return 0;
}

int smss_check_config(const struct smss_options *o)
{
    struct reg_store *store = NULL;
    struct smss_config c = {0};
    struct diags d = DIAGS_INIT;
    int loaded = load(o, &store, &c, &d);
    diags_print(&d, STDOUT_FILENO);
    printf("%zu error%s, %zu warning%s\n", d.errors, d.errors == 1 ? "" : "s", d.warnings,
           d.warnings == 1 ? "" : "s");
    int rc = loaded < 0 || d.errors ? 2 : 0;
    if (loaded == 0)
        smss_config_free(&c);
    diags_free(&d);
    reg_store_free(store);
    return rc;
}

int smss_print_config(const struct smss_options *o)
{
    struct reg_store *store = NULL;
    struct smss_config c = {0};
    struct diags d = DIAGS_INIT;
    int rc = 2;
    if (load(o, &store, &c, &d) == 0) {
        smss_config_free(&c);
        struct buf out = BUF_INIT;
        if (smss_config_print(store, &out, o->utf16) == 0 &&
            fwrite(out.p, 1, out.len, stdout) == out.len && fflush(stdout) == 0)
            rc = 0;
        else
            perror("smss: writing the configuration");
        buf_free(&out);
    }
    diags_print(&d, STDERR_FILENO); /* warnings too, so nothing is silently defaulted */
    diags_free(&d);
    reg_store_free(store);
    return rc;
}
