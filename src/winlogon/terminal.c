/* The session's terminal: opened afresh for each logon (a hangup at logoff may have
 * closed the previous descriptor), never as winlogon's controlling terminal, so the
 * user's session can take it. */
#include "winlogon.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* A line discipline fit for a prompt: canonical input, echo, CR→NL, NL→CRNL output. */
static void sane_mode(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) < 0)
        return;
    t.c_lflag |= ICANON | ECHO | ECHOE | ECHOK | ISIG | IEXTEN;
    t.c_lflag &= ~(ECHONL | NOFLSH | TOSTOP);
    t.c_iflag |= ICRNL;
    t.c_iflag &= ~(INLCR | IGNCR);
    t.c_oflag |= OPOST | ONLCR;
    tcsetattr(fd, TCSANOW, &t);
}

int term_open(struct winlogon *w)
{
    if (w->tty >= 0)
        return 0;
    w->tty = open(w->terminal, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (w->tty < 0) {
        log_error("cannot open the terminal %s (SMSS_TERMINAL): %s", w->terminal,
                  strerror(errno));
        return -1;
    }
    if (!isatty(w->tty))
        log_warning("%s (SMSS_TERMINAL) is not a terminal", w->terminal);
    sane_mode(w->tty);
    return 0;
}

void term_close(struct winlogon *w)
{
    if (w->tty >= 0)
        close(w->tty);
    w->tty = -1;
}

void term_write(struct winlogon *w, const char *text)
{
    size_t n = strlen(text);
    while (w->tty >= 0 && n) {
        ssize_t r = write(w->tty, text, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return; /* a hung-up terminal: nothing to show it to */
        text += r;
        n -= (size_t)r;
    }
}

static void set_echo(int fd, bool on)
{
    struct termios t;
    if (tcgetattr(fd, &t) < 0)
        return;
    if (on)
        t.c_lflag |= ECHO;
    else
        t.c_lflag &= ~ECHO;
    /* Echo off drops what was typed before the prompt (as getpass does); echo on keeps
     * what is typed after the password. */
    tcsetattr(fd, on ? TCSANOW : TCSAFLUSH, &t);
}

/* Read what the terminal has; 1 when a whole line is in b, 0 at end of file or hangup. */
static int read_some(int fd, char *b, size_t *len, size_t cap)
{
    ssize_t n = read(fd, b + *len, cap - 1 - *len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 2;
    if (n <= 0)
        return 0;
    *len += (size_t)n;
    b[*len] = 0;
    if (memchr(b, '\n', *len) || *len >= cap - 1)
        return 1;
    return 2;
}

int term_read_line(struct winlogon *w, const char *prompt, bool echo, char **line)
{
    char b[1024];
    size_t len = 0;
    int r = 2;
    if (!echo)
        set_echo(w->tty, false);
    term_write(w, prompt);
    while (r == 2) {
        struct pollfd p[2] = {{w->sig_fd, POLLIN, 0}, {w->tty, POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents & POLLIN) {
            int sas = serve_signals(w);
            if (w->terminate) {
                r = READ_TERMINATE;
                break;
            }
            if (sas) { /* Ctrl-Alt-Del at the prompt: a fresh prompt, typing discarded */
                log_info("secure attention sequence at the prompt: prompt redrawn");
                tcflush(w->tty, TCIFLUSH);
                len = 0;
                term_write(w, "\n");
                term_write(w, prompt);
            }
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
            r = read_some(w->tty, b, &len, sizeof b);
    }
    if (!echo) {
        set_echo(w->tty, true);
        term_write(w, "\n");
    }
    if (r != 1) {
        w->tty_eof = r != READ_TERMINATE;
        return r == READ_TERMINATE ? READ_TERMINATE : READ_EOF;
    }
    b[strcspn(b, "\r\n")] = 0;
    *line = strdup(b);
    return *line ? READ_LINE : READ_EOF;
}

void wait_serving_signals(struct winlogon *w, int ms)
{
    struct pollfd p = {w->sig_fd, POLLIN, 0};
    if (poll(&p, 1, ms) > 0)
        serve_signals(w);
}
