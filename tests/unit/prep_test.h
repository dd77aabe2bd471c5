/* Shared fixtures of the machine-preparation tests: configurations filled by hand, scratch
 * directories on the disk (/var/tmp, never tmpfs, for the swap files), tree removal and
 * the output of a command. */
#ifndef SMSS_PREP_TEST_H
#define SMSS_PREP_TEST_H
#include "buf.h"
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNUSED __attribute__((unused))

static UNUSED void named_push(struct sm_named_list *l, const char *name, const char *value,
                              bool expand)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            abort();
    }
    l->v[l->n++] = (struct sm_named){strdup(name), strdup(value), expand, {0, 0}};
}

static UNUSED void named_free(struct sm_named_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].value);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Free what the tests put in a configuration (the lists and strings they fill). */
static UNUSED void test_config_free(struct smss_config *c)
{
    strlist_free(&c->object_directories);
    strlist_free(&c->boot_execute);
    strlist_free(&c->setup_execute);
    strlist_free(&c->execute);
    strlist_free(&c->exclude_from_known_dlls);
    free(c->known_dll_directory);
    named_free(&c->known_dlls);
    named_free(&c->dos_devices);
    named_free(&c->environment);
    named_free(&c->subsystems);
    for (size_t i = 0; i < c->npaging_files; i++)
        free(c->paging_files[i].path);
    free(c->runtime_dir);
    memset(c, 0, sizeof *c);
}

static UNUSED int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        chmod(path, 0700); /* read-only snapshot directories */
    return remove(path) < 0 ? 0 : 0;
}

static UNUSED void rm_tree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh scratch directory on the disk: /var/tmp/smss-test-NAME.XXXXXX. */
static UNUSED char *scratch_dir(const char *name)
{
    char *p;
    if (asprintf(&p, "/var/tmp/smss-test-%s.XXXXXX", name) < 0 || !mkdtemp(p))
        abort();
    return p;
}

static UNUSED char *path_join(const char *a, const char *b)
{
    char *p;
    if (asprintf(&p, "%s/%s", a, b) < 0)
        abort();
    return p;
}

static UNUSED void write_text(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

/* The standard output of a shell command, trailing newline removed; NULL if it failed. */
static UNUSED char *command_output(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        buf_append(&b, chunk, n);
    int st = pclose(p);
    if (st != 0) {
        buf_free(&b);
        return NULL;
    }
    while (b.len && b.p[b.len - 1] == '\n')
        b.p[--b.len] = '\0';
    return b.p ? buf_steal(&b) : strdup("");
}

#endif
