/* SYSTEM and SOFTWARE hives (regf files) read with hivex into the registry model.
 *
 * A SYSTEM hive (it has a Select key) is placed under HKEY_LOCAL_MACHINE\SYSTEM: hives
 * have no CurrentControlSet, so Select\Current names the ControlSet00N that is read and
 * placed as HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet. A SOFTWARE hive (it has a
 * Microsoft key and no Select) is placed under HKEY_LOCAL_MACHINE\SOFTWARE. */
#ifndef SMSS_HIVE_H
#define SMSS_HIVE_H
#include "diag.h"
#include "regmodel.h"

enum hive_flags {
    HIVE_UNSAFE = 1, /* read a damaged hive as far as it goes, and say so in diags */
};

/* Read the listed subtrees (for a SYSTEM hive relative to the current control set, for a
 * SOFTWARE hive relative to its root; NULL-terminated; NULL = the whole control set or
 * hive; a subtree the hive lacks is simply absent) into the store, merged over what it
 * holds. A SYSTEM hive's Select key is copied too. Keys and values keep the hive's order
 * and spelling; values keep every byte and their type, unknown types included. REG_SZ and
 * REG_EXPAND_SZ data stored as 8-bit text is detected and turned into UTF-16LE (with a
 * warning). Every key and value has the origin source "hive PATH", line 0; diagnostics
 * say where as "hive PATH: KEY\VALUE" with KEY the path inside the hive.
 *
 * Damage (a file hivex refuses, a truncated file, an unreadable key or value, a loop of
 * keys) is an error, and nothing is added; with HIVE_UNSAFE the damaged parts are skipped
 * with a warning naming the key and the rest is read. A hive saved uncleanly gets a
 * warning: hivex does not apply transaction logs. 0, or -1 with an error in diags
 * (nothing added). */
int hive_load(struct reg_store *store, const char *path, const char *const *subtrees,
              unsigned flags, struct diags *diags);

#endif
