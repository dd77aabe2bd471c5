/* Kmode: the kernel-mode part of the Windows subsystem (NT's win32k.sys), on Linux an
 * optional kernel module named by SubSystems\Kmode and loaded with finit_module(2).
 *
 * The value is "MODULE [parameters]": MODULE is a path to a .ko file (compressed ones are
 * handed to the kernel to decompress), or a bare module name looked up in modules.dep of
 * /lib/modules/$(uname -r) (its dependencies loaded first, as modprobe does; '-' and '_'
 * alike). NT's own value, \SystemRoot\System32\win32k.sys, and any other Windows path is
 * recognised and skipped as "not a Linux module". Never fatal: a module that cannot be
 * loaded (no CAP_SYS_MODULE in a container or user namespace, modules disabled, a kernel
 * without modules, no such module) is reported with the reason, and boot goes on. */
#ifndef SMSS_KMODE_H
#define SMSS_KMODE_H
#include "buf.h"
#include "config.h"
#include "sysenv.h"
#include <jansson.h>
#include <stdbool.h>

enum kmode_state { KMODE_NOT_CONFIGURED, KMODE_LOADED, KMODE_ALREADY_LOADED, KMODE_SKIPPED,
                   KMODE_FAILED };

struct kmode_result {
    enum kmode_state state;
    char *value;            /* the configured line, expanded */
    char *module;           /* the module file, when one was found */
    char *params;           /* the parameters passed to the kernel */
    struct strlist deps;    /* dependencies, in the order they were loaded */
    int errnum;             /* the failing errno (KMODE_FAILED, some KMODE_SKIPPED) */
    char *reason;           /* why skipped or failed */
};
#define KMODE_RESULT_INIT {0}

/* "\SystemRoot\...", "C:\...", a '\' anywhere, or a .sys file: a Windows driver. */
bool kmode_is_windows_path(const char *s);
/* The module file for a name ('/' in it: taken as it is) from modules_dir/modules.dep,
 * malloc'd; its dependencies appended to deps in load order. NULL with *why (malloc'd). */
char *kmode_resolve(const char *name, const char *modules_dir, struct strlist *deps, char **why);

/* Load the Kmode module when configured (env expands a REG_EXPAND_SZ value; may be NULL;
 * modules_dir NULL = /lib/modules/$(uname -r)). 0 whatever happened (r says what; the
 * caller logs it); -1 only when out of memory. */
int kmode_load(struct kmode_result *r, const struct smss_config *c, const struct sysenv *env,
               const char *modules_dir);

const char *kmode_state_name(enum kmode_state s);
json_t *kmode_to_json(const struct kmode_result *r);
void kmode_result_free(struct kmode_result *r);

#endif
