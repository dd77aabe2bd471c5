#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const char *log_program = "smss";
static enum log_level log_max = LOG_LEVEL_INFO;
void log_init(const char *program, enum log_level max_level)
{
    log_program = program;
    log_max = max_level;
}

void log_set_level(enum log_level max_level) { log_max = max_level; }

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    if (level > log_max)
        return;
    int saved = errno;
    /* Seconds since the machine booted, as the kernel's log counts: every process of the
     * system stamps its lines on the same clock, so merged lines read in order. */
    struct timespec now;
    clock_gettime(CLOCK_BOOTTIME, &now);
    double t = (double)now.tv_sec + now.tv_nsec / 1e9;
    /* One write per line, so lines of several processes on one console never interleave. */
    char line[4096];
    int n = snprintf(line, sizeof line, "[%10.6f] %s[%d]: %s: ", t, log_program, (int)getpid(),
                     names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof line)
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line - 1)
        n = sizeof line - 2;
    line[n++] = '\n';
    ssize_t w;
    do
        w = write(STDERR_FILENO, line, (size_t)n);
    while (w < 0 && errno == EINTR);
    errno = saved;
}
