#include "cmdline.h"
#include "buf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

void cmdline_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* One word from *p on: quotes group blanks, and are dropped. */
static int next_word(const char **p, struct buf *w)
{
    bool quoted = false;
    const char *s = *p;
    for (; *s && (quoted || !is_blank(*s)); s++) {
        if (*s == '"')
            quoted = !quoted;
        else if (buf_putc(w, *s) < 0)
            return -1;
    }
    *p = s;
    if (quoted) {
        errno = EINVAL;
        return -1;
    }
    if (!w->p && buf_puts(w, "") < 0) /* "" is an empty word */
        return -1;
    return 0;
}

int cmdline_split(const char *line, char ***argv, size_t *argc)
{
    struct strlist words = STRLIST_INIT;
    const char *p = line;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (!*p)
            break;
        struct buf w = BUF_INIT;
        char *word = NULL;
        if (next_word(&p, &w) < 0 || !(word = buf_steal(&w)) ||
            strlist_push_owned(&words, word) < 0) {
            int e = errno;
            buf_free(&w);
            strlist_free(&words);
            errno = e;
            return -1;
        }
    }
    char **v = realloc(words.v, (words.n + 1) * sizeof *v);
    if (!v) {
        strlist_free(&words);
        errno = ENOMEM;
        return -1;
    }
    v[words.n] = NULL;
    *argv = v;
    *argc = words.n;
    return 0;
}
