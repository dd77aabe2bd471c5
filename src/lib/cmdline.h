/* Command lines as the registry holds them (ImagePath, Shell, Userinit): words separated
 * by blanks (spaces and tabs); a double-quoted stretch belongs to one word, so an image
 * path with blanks can be written "/opt/my service/run" -x, as on NT. A quote opens and
 * closes a stretch and is not kept; there is no other escape. */
#ifndef SMSS_CMDLINE_H
#define SMSS_CMDLINE_H
#include <stddef.h>

/* Split line into a malloc'd, NULL-terminated argv (*argc words; 0 for a blank line).
 * 0, or -1 with errno: ENOMEM, or EINVAL for an unclosed quote. Free with cmdline_free. */
int cmdline_split(const char *line, char ***argv, size_t *argc);
void cmdline_free(char **argv);

#endif
