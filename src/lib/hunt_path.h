/* Windows and Linux image paths made comparable: the many spellings of the system
 * directory reduced to one form, base names, and command-line arguments. */
#ifndef SMSS_HUNT_PATH_H
#define SMSS_HUNT_PATH_H
#include <stdbool.h>
#include <stddef.h>

/* A path in one comparable form (malloc'd, NULL on ENOMEM):
 *   Windows: lower case, '\' separators, "\??\", "\\?\" dropped, "\SystemRoot",
 *   "%SystemRoot%", "%windir%" replaced by system_root, "\Device\HarddiskVolumeN" and a
 *   bare leading "\" replaced by the system root's drive, "\\" collapsed;
 *   Linux (the path starts with '/'): kept as it is, "//" collapsed.
 * system_root is the Windows directory, e.g. "C:\Windows" (NULL: that). */
char *hunt_path_normalize(const char *path, const char *system_root);

/* The last component of a path (after '\' or '/'), pointing into path. */
const char *hunt_path_basename(const char *path);

/* The image of a command line: its first word (quotes honoured), malloc'd. */
char *hunt_cmdline_image(const char *cmdline);
/* The arguments of a command line: what follows the first word, leading blanks skipped,
 * trailing blanks kept out; points into cmdline ("" when there are none). Sets *len. */
const char *hunt_cmdline_args(const char *cmdline, size_t *len);

/* True when args are exactly two 8-hex-digit words (a session child smss), e.g.
 * "00000001 0000003c". */
bool hunt_args_session_child(const char *args, size_t len);

/* ASCII lower-case copy (malloc'd). */
char *hunt_lower(const char *s);

#endif
