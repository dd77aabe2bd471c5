/* Object directories and DOS devices: NT's object namespace as directories under the
 * runtime directory.
 *
 * Every ObjectDirectories entry (\Windows, \RPC Control, ...) becomes a directory: the
 * leading '\' dropped, each '\' a '/' ("\RPC Control" → <runtime>/RPC Control). So do the
 * fixed ones smss itself uses: Sessions/, KnownDlls/ and GLOBAL??/ (NT's \??). Modes, by
 * ProtectionMode bit 0 (NT's protective security descriptors):
 *   bit 0 set:   0755 owned by root (world-readable, root-writable); the two NT gives
 *                its liberal descriptor, \Windows and \RPC Control, 01777 (anyone may
 *                create entries, only the owner removes them: the sticky /tmp rule);
 *   bit 0 clear: 0777 for every directory.
 * Each DOS Devices value NAME → TARGET is the symbolic link GLOBAL??/NAME → TARGET; an
 * NT target "\DosDevices\X", "\??\X" or "\GLOBAL??\X" points at its sibling X, another
 * NT object path at the same path under the runtime directory, a Linux path stays as it
 * is. An existing link is replaced atomically (a temporary name, then rename(2)).
 * The first failure stops the work and is fatal, as in NT: the error names the entry. */
#ifndef SMSS_OBJDIRS_H
#define SMSS_OBJDIRS_H
#include "config.h"
#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct objdir {
    char *nt_name;   /* "\RPC Control"; the fixed ones by their NT name too */
    char *path;      /* <runtime>/RPC Control */
    mode_t mode;
    bool existed;    /* there before: mode and owner set again */
};

struct dosdevice {
    char *name;      /* AUX */
    char *target;    /* the configured target */
    char *link;      /* <runtime>/GLOBAL??/AUX */
    char *points_to; /* the link's text */
    bool replaced;   /* an earlier link was replaced */
};

struct objdirs_result {
    struct objdir *dirs;
    size_t ndirs;
    struct dosdevice *links;
    size_t nlinks;
    char *error;     /* the fatal failure, naming the entry (when -1) */
};
#define OBJDIRS_RESULT_INIT {0}

/* The mode an object directory gets (pure: ProtectionMode and the NT name). */
mode_t objdirs_mode(uint32_t protection_mode, const char *nt_name);
/* The path of an NT object name under the runtime directory (malloc'd), or NULL with
 * errno EINVAL for a name with an empty, "." or ".." component, or a '/'. */
char *objdirs_path(const char *runtime_dir, const char *nt_name);

/* Create the directories, then the links. 0, or -1 with r->error (the first failure). */
int objdirs_create(struct objdirs_result *r, const struct smss_config *c, const char *runtime_dir);

json_t *objdirs_to_json(const struct objdirs_result *r);
void objdirs_result_free(struct objdirs_result *r);

#endif
