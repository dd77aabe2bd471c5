/* spawn_process: programs started with each step reported, and copies of the caller (run)
 * shown with their own command line, their own environment and only the descriptors they
 * were given; platform_close_all_except and platform_set_cmdline underneath. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "platform.h"
#include "process_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int exit_status(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static size_t read_cmdline(pid_t pid, char *buf, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t got = read(fd, buf, n);
    close(fd);
    assert_true(got > 0);
    return (size_t)got;
}

/* The copy waits for a byte on the descriptor it inherited, then checks its world: the
 * environment it was given, and no descriptor but that one (and 0-2). */
static int copy_checks_itself(void *arg)
{
    int gate = *(int *)arg;
    char b;
    if (read(gate, &b, 1) != 1)
        return 10;
    const char *v = getenv("SPAWN_TEST");
    if (!v || strcmp(v, "copy"))
        return 11;
    for (int fd = 3; fd < 64; fd++)
        if (fd != gate && fcntl(fd, F_GETFD) >= 0)
            return 12;
    return 42;
}

static void test_run_copy(void **state)
{
    (void)state;
    int gate[2], stray = open("/dev/null", O_RDONLY);
    assert_int_equal(pipe(gate), 0);
    assert_true(stray >= 0);
    char *argv[] = {"smss", "00000007", "0000000c", NULL};
    char *envp[] = {"SPAWN_TEST=copy", NULL};
    struct spawn_request rq = SPAWN_REQUEST_INIT;
    rq.path = "/nonexistent/executed-only-where-the-kernel-cannot-rename";
    rq.argv = argv;
    rq.envp = envp;
    rq.inherit_fd = gate[0];
    rq.run = copy_checks_itself;
    rq.run_arg = &gate[0];
    pid_t pid;
    struct spawn_error err;
    assert_int_equal(spawn_process(&rq, &pid, &err), 0);
    /* The command line is the copy's already when spawn_process returns. */
    char cl[256];
    size_t n = read_cmdline(pid, cl, sizeof cl);
    assert_int_equal(n, 5 + 9 + 9);
    assert_memory_equal(cl, "smss\0" "00000007\0" "0000000c", n);
    assert_int_equal(write(gate[1], "x", 1), 1);
    assert_int_equal(exit_status(pid), 42);
    close(gate[0]);
    close(gate[1]);
    close(stray);
}

static void test_exec_failure_names_the_step(void **state)
{
    (void)state;
    char *argv[] = {"missing", NULL};
    struct spawn_request rq = SPAWN_REQUEST_INIT;
    rq.path = "/nonexistent/program";
    rq.argv = argv;
    pid_t pid = -1;
    struct spawn_error err;
    assert_int_equal(spawn_process(&rq, &pid, &err), -1);
    assert_string_equal(err.step, "exec");
    assert_int_equal(err.errnum, ENOENT);
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* nothing left to reap */
}

static void test_program_runs(void **state)
{
    (void)state;
    char *argv[] = {"sh", "-c", "exit 7", NULL};
    struct spawn_request rq = SPAWN_REQUEST_INIT;
    rq.path = "/bin/sh";
    rq.argv = argv;
    pid_t pid;
    struct spawn_error err;
    assert_int_equal(spawn_process(&rq, &pid, &err), 0);
    assert_int_equal(exit_status(pid), 7);
}

static void test_close_all_except(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY),
            c = open("/dev/null", O_RDONLY), d = open("/dev/null", O_RDONLY);
        if (platform_close_all_except(d, b) < 0)
            _exit(1);
        bool ok = fcntl(b, F_GETFD) >= 0 && fcntl(d, F_GETFD) >= 0 && fcntl(a, F_GETFD) < 0 &&
                  fcntl(c, F_GETFD) < 0 && fcntl(2, F_GETFD) >= 0;
        if (!ok || platform_close_all_except(-1, -1) < 0 || fcntl(b, F_GETFD) >= 0)
            _exit(2);
        _exit(0);
    }
    assert_int_equal(exit_status(pid), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_copy),
        cmocka_unit_test(test_exec_failure_names_the_step),
        cmocka_unit_test(test_program_runs),
        cmocka_unit_test(test_close_all_except),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
