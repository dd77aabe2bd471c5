/* ptydrive: run a program with a pseudo-terminal as its session's terminal and follow a
 * script against it, as a person at the terminal would.
 *
 *   ptydrive [-t TRANSCRIPT] SCRIPT COMMAND [ARG...]
 *
 * The command runs in a new POSIX session, stdin /dev/null, stdout and stderr inherited,
 * with SMSS_TERMINAL set to the pty's slave (which it opens itself). SCRIPT lines:
 *   expect TEXT     wait until TEXT appears in the output after the previous match
 *   absent TEXT     fail if TEXT appeared anywhere in the output so far
 *   send TEXT       write TEXT to the terminal (\n \r \t \\ \xHH escapes)
 *   signal NAME     send TERM, USR1, INT, HUP or KILL to the command
 *   exit CODE       wait for the command to exit with status CODE
 *   sleep MS        pause
 *   timeout SECONDS the limit for expect and exit (default 10)
 *   # ...           a comment
 * Each step is reported on stdout; the first failure ends the run (exit 1, the command
 * killed); 0 when every step passed. The output seen is written to TRANSCRIPT. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char out[1 << 20];
static size_t out_len, mark;
static int master = -1;
static pid_t child;
static int exit_status = -1;
static FILE *transcript;

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/* Read what the terminal shows, for at most ms; also notice the command's exit. */
static void pump(int ms)
{
    struct pollfd p = {master, POLLIN, 0};
    if (poll(&p, 1, ms) > 0 && (p.revents & POLLIN)) {
        ssize_t n = read(master, out + out_len, sizeof out - 1 - out_len);
        if (n > 0) {
            if (transcript)
                fwrite(out + out_len, 1, (size_t)n, transcript), fflush(transcript);
            out_len += (size_t)n;
            out[out_len] = 0;
        }
    }
    int st;
    if (exit_status < 0 && child > 0 && waitpid(child, &st, WNOHANG) == child)
        exit_status = st;
}

static void unescape(const char *s, char *d)
{
    while (*s) {
        if (*s != '\\' || !s[1]) {
            *d++ = *s++;
            continue;
        }
        s++;
        switch (*s) {
        case 'n': *d++ = '\n'; s++; break;
        case 'r': *d++ = '\r'; s++; break;
        case 't': *d++ = '\t'; s++; break;
        case 'x': *d++ = (char)strtol((char[3]){s[1], s[2], 0}, NULL, 16); s += 3; break;
        default: *d++ = *s++;
        }
    }
    *d = 0;
}

static int signal_number(const char *name)
{
    static const struct { const char *n; int s; } t[] = {
        {"TERM", SIGTERM}, {"USR1", SIGUSR1}, {"INT", SIGINT}, {"HUP", SIGHUP}, {"KILL", SIGKILL}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(name, t[i].n))
            return t[i].s;
    return -1;
}

static void show_tail(void)
{
    size_t from = out_len > 400 ? out_len - 400 : 0;
    printf("# output since the last match:\n# ");
    for (size_t i = mark > from ? mark : from; i < out_len; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c == '\n')
            printf("\\n\n# ");
        else if (c < 32 || c > 126)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    printf("\n");
}

/* One step. 0 passed, -1 failed (said why). */
static int step(const char *cmd, const char *arg, int timeout_s)
{
    char text[4096];
    unescape(arg, text);
    if (!strcmp(cmd, "expect")) {
        long long end = now_ms() + timeout_s * 1000LL;
        char *hit;
        while (!(hit = strstr(out + mark, text)) && now_ms() < end && out_len < sizeof out - 1)
            pump(50);
        if (!hit) {
            printf("# expected \"%s\" within %d s\n", arg, timeout_s);
            show_tail();
            return -1;
        }
        mark = (size_t)(hit - out) + strlen(text);
    } else if (!strcmp(cmd, "absent")) {
        pump(0);
        if (strstr(out, text)) {
            printf("# \"%s\" appeared\n", arg);
            return -1;
        }
    } else if (!strcmp(cmd, "send")) {
        size_t n = strlen(text);
        if (write(master, text, n) != (ssize_t)n) {
            printf("# write: %s\n", strerror(errno));
            return -1;
        }
    } else if (!strcmp(cmd, "signal")) {
        int s = signal_number(arg);
        if (s < 0 || kill(child, s) < 0) {
            printf("# cannot send signal %s\n", arg);
            return -1;
        }
    } else if (!strcmp(cmd, "exit")) {
        long long end = now_ms() + timeout_s * 1000LL;
        while (exit_status < 0 && now_ms() < end)
            pump(50);
        if (exit_status < 0) {
            printf("# still running after %d s\n", timeout_s);
            return -1;
        }
        if (!WIFEXITED(exit_status) || WEXITSTATUS(exit_status) != atoi(arg)) {
            printf("# ended with wait status 0x%x, not exit %s\n", (unsigned)exit_status, arg);
            return -1;
        }
    } else if (!strcmp(cmd, "sleep")) {
        long long end = now_ms() + atoi(arg);
        while (now_ms() < end)
            pump((int)(end - now_ms()));
    } else {
        printf("# unknown step \"%s\"\n", cmd);
        return -1;
    }
    return 0;
}

static pid_t start(char **argv, const char *slave)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setsid();
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    setenv("SMSS_TERMINAL", slave, 1);
    execvp(argv[0], argv);
    fprintf(stderr, "ptydrive: %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static void finish_child(void)
{
    if (exit_status >= 0 || child <= 0)
        return;
    kill(child, SIGTERM);
    for (int i = 0; i < 40 && exit_status < 0; i++)
        pump(50);
    if (exit_status < 0) {
        kill(child, SIGKILL);
        waitpid(child, &exit_status, 0);
    }
}

int main(int argc, char **argv)
{
    int a = 1;
    if (argc > 2 && !strcmp(argv[1], "-t")) {
        transcript = fopen(argv[2], "w");
        a = 3;
    }
    if (argc - a < 2) {
        fprintf(stderr, "usage: ptydrive [-t TRANSCRIPT] SCRIPT COMMAND [ARG...]\n");
        return 2;
    }
    FILE *script = fopen(argv[a], "r");
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (!script || master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
        perror("ptydrive");
        return 2;
    }
    const char *slave = ptsname(master);
    /* Held open all along, so the master never reads EIO between two opens of the slave. */
    int keep = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
    child = start(argv + a + 1, slave);
    char line[4096];
    int timeout_s = 10, n = 0, failed = 0;
    while (!failed && fgets(line, sizeof line, script)) {
        line[strcspn(line, "\n")] = 0;
        if (!line[0] || line[0] == '#')
            continue;
        char *sp = strchr(line, ' ');
        const char *arg = sp ? sp + 1 : "";
        if (sp)
            *sp = 0;
        n++;
        if (!strcmp(line, "timeout")) {
            timeout_s = atoi(arg);
            continue;
        }
        failed = step(line, arg, timeout_s) < 0;
        printf("%s step %d: %s %s\n", failed ? "FAIL" : "pass", n, line, arg);
        fflush(stdout);
    }
    finish_child();
    if (keep >= 0)
        close(keep);
    if (transcript)
        fclose(transcript);
    fclose(script);
    return failed ? 1 : 0;
}
