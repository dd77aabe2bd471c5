/* Growable byte buffers and string lists: the two containers the project uses. */
#ifndef SMSS_BUF_H
#define SMSS_BUF_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* A byte buffer, always NUL-terminated after len (when p is not NULL). Functions that
 * grow it return 0, or -1 with errno = ENOMEM and the buffer unchanged. */
struct buf {
    char *p;
    size_t len, cap;
};
#define BUF_INIT {NULL, 0, 0}

int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Hand the contents over as a malloc'd string (never NULL on success) and reset b. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

/* An ordered list of owned, NUL-terminated strings. */
struct strlist {
    char **v;
    size_t n, cap;
};
#define STRLIST_INIT {NULL, 0, 0}

int strlist_push(struct strlist *l, const char *s);           /* copies s */
int strlist_push_n(struct strlist *l, const char *s, size_t n);
int strlist_push_owned(struct strlist *l, char *s);           /* takes s; frees it on failure */
void strlist_free(struct strlist *l);
/* Index of the first element equal to s without ASCII case, or -1. */
long strlist_find_nocase(const struct strlist *l, const char *s);

/* Copy src into dst[n] (n > 0), cut to fit and always NUL-terminated, as strlcpy.
 * Returns strlen(src): a result >= n means it was cut. For fixed-size message fields. */
size_t str_copy(char *dst, size_t n, const char *src);
/* The same for a field of a received message, which may lack its NUL: reads at most
 * src_size bytes of src. */
#define FIELD_COPY(dst, src) str_copy_field((dst), sizeof(dst), (src), sizeof(src))
size_t str_copy_field(char *dst, size_t n, const char *src, size_t src_size);

/* Read a whole file (regular file, pipe or device) into b. 0, or -1 with errno. */
int read_file(const char *path, struct buf *b);

#endif
