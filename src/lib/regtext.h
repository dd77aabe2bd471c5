/* .reg files, regedit's text format: reading (both versions, every encoding regedit and
 * people write) and writing (regedit's own form). */
#ifndef SMSS_REGTEXT_H
#define SMSS_REGTEXT_H
#include "buf.h"
#include "diag.h"
#include "regmodel.h"
#include <stdbool.h>

/* Apply a .reg file to the store: keys created (with missing parents), values set,
 * [-key] and "name"=- deletions carried out. Any error rejects the file whole: the store
 * is left untouched, and diags lists every error with file:line:column and what was
 * expected. Returns 0 when applied, -1 when rejected (diags->errors > 0) or on a system
 * error (errno set, one diagnostic added). */
int regtext_load(struct reg_store *store, const char *path, struct diags *diags);
/* Same, for bytes in memory; name is used in diagnostics and as the values' source. */
int regtext_load_buffer(struct reg_store *store, const char *name, const void *data,
                        size_t len, struct diags *diags);

enum regtext_encoding {
    REGTEXT_UTF8,    /* UTF-8, no byte-order mark, LF line ends */
    REGTEXT_UTF16LE, /* regedit's own: UTF-16LE with byte-order mark, CRLF line ends */
};

/* Write keys (each with its whole subtree when recursive) as a Version 5.00 .reg file in
 * regedit's form, appending to out in the given encoding. A value that cannot be
 * expressed (a name with a line break) is written as a comment and counted in
 * *skipped (may be NULL). 0, or -1 with errno. */
struct regtext_writer {
    struct buf text;  /* UTF-8 text being built */
    size_t skipped;
};
void regtext_writer_init(struct regtext_writer *w);
int regtext_write_comment(struct regtext_writer *w, const char *comment);
int regtext_write_key(struct regtext_writer *w, const struct reg_key *k, bool recursive);
/* Same, written under another path (e.g. a ControlSet001 key as CurrentControlSet). */
int regtext_write_key_as(struct regtext_writer *w, const struct reg_key *k, const char *path,
                         bool recursive);
/* A key line for a path that need not exist in any store, then its values. */
int regtext_write_key_header(struct regtext_writer *w, const char *path);
int regtext_write_value(struct regtext_writer *w, const struct reg_value *v);
/* Finish: header + body in the encoding, appended to out; resets w. */
int regtext_writer_finish(struct regtext_writer *w, enum regtext_encoding enc, struct buf *out);
void regtext_writer_free(struct regtext_writer *w);

#endif
