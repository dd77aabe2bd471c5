#include "diag.h"
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void diag_addv(struct diags *d, enum diag_level level, char *where, const char *fmt,
                      va_list ap)
{
    if (level == DIAG_ERROR)
        d->errors++;
    else
        d->warnings++;
    struct buf msg = BUF_INIT;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        struct diag *v = realloc(d->v, cap * sizeof *v);
        if (!v) {
            free(where);
            return;
        }
        d->v = v;
        d->cap = cap;
    }
    char *text = buf_vprintf(&msg, fmt, ap) == 0 ? buf_steal(&msg) : NULL;
    buf_free(&msg);
    d->v[d->n++] = (struct diag){level, where ? where : strdup("?"),
                                 text ? text : strdup("(out of memory formatting message)")};
}

void diag_add(struct diags *d, enum diag_level level, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_addv(d, level, strdup(where ? where : "?"), fmt, ap);
    va_end(ap);
}

void diag_at(struct diags *d, enum diag_level level, const char *file, unsigned line,
             unsigned column, const char *fmt, ...)
{
    struct buf w = BUF_INIT;
    if (line && column)
        buf_printf(&w, "%s:%u:%u", file, line, column);
    else if (line)
        buf_printf(&w, "%s:%u", file, line);
    else
        buf_puts(&w, file);
    va_list ap;
    va_start(ap, fmt);
    diag_addv(d, level, buf_steal(&w), fmt, ap);
    va_end(ap);
}

void diags_move(struct diags *dst, struct diags *src)
{
    for (size_t i = 0; i < src->n; i++) {
        struct diag *s = &src->v[i];
        diag_add(dst, s->level, s->where, "%s", s->message);
    }
    diags_free(src);
}

void diags_free(struct diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].where);
        free(d->v[i].message);
    }
    free(d->v);
    *d = (struct diags)DIAGS_INIT;
}

void diags_print(const struct diags *d, int fd)
{
    for (size_t i = 0; i < d->n; i++)
        dprintf(fd, "%s: %s: %s\n", d->v[i].where,
                d->v[i].level == DIAG_ERROR ? "error" : "warning", d->v[i].message);
}
