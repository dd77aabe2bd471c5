/* NT paths to Linux paths: the one documented rule (docs/RENAMES.md, "Mapping NT paths")
 * by which a path written in the registry (PendingFileRenameOperations) names a Linux file.
 *
 *   /linux/path                      taken as it is (the configuration speaks Linux)
 *   \??\X:\a\b   \\?\X:\a\b          the root of drive X, then a/b
 *   \DosDevices\X:\a  \GLOBAL??\X:\a the same
 *   X:\a\b                           the same
 *   \SystemRoot\a\b                  the system root (%SystemRoot%: smss's directory), then a/b
 *
 * The root of a drive is its "X:" entry in Session Manager\DOS Devices when there is one,
 * otherwise "/" for C: (the system drive); other drives have no root. '\' and '/' both
 * separate components; repeated separators collapse; case is kept (Linux names are exact).
 * Not mappable, with the reason: UNC paths (\\server\share, \??\UNC\...), device paths
 * (\Device\..., \\.\...), drive-relative (X:a) and relative paths, a drive without a root,
 * "." and ".." components, alternate data streams (':' after the drive), and NUL. */
#ifndef SMSS_NTPATH_H
#define SMSS_NTPATH_H
#include "config.h"

struct ntpath_rules {
    char *drive_root[26]; /* index 0 = A:; NULL = no root */
    char *system_root;    /* NULL = \SystemRoot is not mappable */
};

/* C: → "/", and the given system root (may be NULL). 0, or -1 (ENOMEM). */
int ntpath_rules_default(struct ntpath_rules *r, const char *system_root);
/* The defaults, then every "X:" DOS Devices entry of the configuration whose target is an
 * absolute Linux path. 0, or -1 (ENOMEM). */
int ntpath_rules_from_config(struct ntpath_rules *r, const struct smss_config *c,
                             const char *system_root);
void ntpath_rules_free(struct ntpath_rules *r);

/* Map one NT path. 0 and *out (malloc'd, absolute, no trailing '/'), or -1 with *why set
 * (a static reason; ENOMEM when *why is NULL). */
int ntpath_to_linux(const struct ntpath_rules *r, const char *nt, char **out, const char **why);

#endif
