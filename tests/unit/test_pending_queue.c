/* The queue file of delayed renames: record framing, torn appends from a crash detected and
 * discarded whole, corruption reported, concurrent appenders never losing or interleaving. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pending_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256], qpath[300];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_pending_queue.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(qpath, sizeof qpath, "%s/%s", dir, PENDING_QUEUE_FILE);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static void append_one(uint32_t flags, const char *src, const char *dst)
{
    struct pq_entry e = {flags, (char *)src, (char *)dst, 0, 1700000000};
    struct diags d = DIAGS_INIT;
    assert_int_equal(pq_append(dir, &e, 1, NULL, &d), 0);
    assert_int_equal(d.errors, 0);
    diags_free(&d);
}

static off_t file_size(const char *p)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return st.st_size;
}

static void test_crc32c_known_value(void **state)
{
    (void)state;
    /* The standard check value of CRC-32C. */
    assert_int_equal(prec_crc32c(0, "123456789", 9), 0xe3069283u);
}

static void test_append_and_read_back_in_order(void **state)
{
    (void)state;
    append_one(0, "/a/b", "/a/c");
    append_one(PQ_REPLACE, "/x y/\n tab\t", "/dst");
    append_one(PQ_DELETE, "/gone", "");
    struct pq_list l = PQ_LIST_INIT;
    struct diags d = DIAGS_INIT;
    assert_int_equal(pq_read(qpath, &l, &d), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[0].source, "/a/b");
    assert_string_equal(l.v[0].destination, "/a/c");
    assert_string_equal(l.v[1].source, "/x y/\n tab\t");
    assert_int_equal(l.v[1].flags, PQ_REPLACE);
    assert_int_equal(l.v[2].flags, PQ_DELETE);
    assert_string_equal(l.v[2].destination, "");
    assert_int_equal(l.v[2].time, 1700000000);
    pq_list_free(&l);
}

static void test_missing_queue_is_empty(void **state)
{
    (void)state;
    struct pq_list l = PQ_LIST_INIT;
    struct diags d = DIAGS_INIT;
    assert_int_equal(pq_read(qpath, &l, &d), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(d.n, 0);
}

/* Cut the file at every byte inside its last record: the reader must see exactly the
 * earlier records and warn; the next append must discard the torn bytes. */
static void test_torn_tail_at_every_offset(void **state)
{
    (void)state;
    append_one(0, "/one", "/two");
    off_t good = file_size(qpath);
    append_one(PQ_REPLACE, "/three", "/four");
    off_t full = file_size(qpath);
    for (off_t cut = good + 1; cut < full; cut++) {
        assert_int_equal(truncate(qpath, cut), 0);
        struct pq_list l = PQ_LIST_INIT;
        struct diags d = DIAGS_INIT;
        assert_int_equal(pq_read(qpath, &l, &d), 0);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.v[0].source, "/one");
        assert_int_equal(d.warnings, 1);
        assert_non_null(strstr(d.v[0].message, "torn"));
        pq_list_free(&l);
        diags_free(&d);
        append_one(PQ_REPLACE, "/three", "/four");
        assert_int_equal(file_size(qpath), full);
    }
    struct pq_list l = PQ_LIST_INIT;
    struct diags d = DIAGS_INIT;
    assert_int_equal(pq_read(qpath, &l, &d), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(d.n, 0);
    pq_list_free(&l);
}

/* A torn tail that a crash filled with zeros (as ext4 may show after power loss). */
static void test_torn_tail_of_zeros(void **state)
{
    (void)state;
    append_one(0, "/one", "/two");
    off_t good = file_size(qpath);
    int fd = open(qpath, O_WRONLY | O_APPEND);
    char zeros[100] = {0};
    assert_int_equal(write(fd, zeros, sizeof zeros), (ssize_t)sizeof zeros);
    close(fd);
    struct pq_list l = PQ_LIST_INIT;
    struct diags d = DIAGS_INIT;
    assert_int_equal(pq_read(qpath, &l, &d), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(d.warnings, 1);
    pq_list_free(&l);
    diags_free(&d);
    append_one(0, "/three", "/four");
    assert_true(file_size(qpath) > good);
    assert_int_equal(pq_read(qpath, &l, &d), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(d.n, 0);
    pq_list_free(&l);
}

static void flip_byte(off_t at)
{
    int fd = open(qpath, O_RDWR);
    char c;
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

/* A flipped byte inside a record is never misread: in the last record it is a torn tail;
 * between valid records it is damage, reported as an error and skipped. */
static void test_corrupt_byte_never_misread(void **state)
{
    (void)state;
    append_one(0, "/aaaa", "/bbbb");
    off_t first_end = file_size(qpath);
    append_one(0, "/cccc", "/dddd");
    off_t second_end = file_size(qpath);
    append_one(0, "/eeee", "/ffff");
    flip_byte(first_end + 20);
    struct pq_list l = PQ_LIST_INIT;
    struct diags d = DIAGS_INIT;
    assert_int_equal(pq_read(qpath, &l, &d), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].source, "/aaaa");
    assert_string_equal(l.v[1].source, "/eeee");
    assert_int_equal(d.errors, 1);
    assert_non_null(strstr(d.v[0].message, "damaged"));
    pq_list_free(&l);
    diags_free(&d);
    flip_byte(second_end + 20);
    assert_int_equal(pq_read(qpath, &l, &d), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].source, "/aaaa");
    assert_int_equal(d.warnings, 1);
    pq_list_free(&l);
    diags_free(&d);
}

static void test_not_a_queue_file(void **state)
{
    (void)state;
    FILE *f = fopen(qpath, "w");
    fputs("this is not a queue\n", f);
    fclose(f);
    struct pq_list l = PQ_LIST_INIT;
    struct diags d = DIAGS_INIT;
    assert_int_equal(pq_read(qpath, &l, &d), -1);
    assert_int_equal(d.errors, 1);
    assert_non_null(strstr(d.v[0].message, "not a smss queue file"));
    diags_free(&d);
    struct pq_entry e = {0, "/a", "/b", 0, 0};
    assert_int_equal(pq_append(dir, &e, 1, NULL, &d), -1);
    assert_true(d.errors >= 1);
    diags_free(&d);
    /* Nothing of the foreign file was overwritten. */
    assert_int_equal(file_size(qpath), 20);
}

/* A CRC-valid record whose payload does not decode (a relative path): an error naming
 * the record, the others kept. */
static void test_undecodable_record_skipped(void **state)
{
    (void)state;
    append_one(0, "/ok", "/fine");
    struct buf rec = BUF_INIT, p = BUF_INIT;
    pq_put_u32(&p, 0);
    pq_put_u32(&p, 0);
    pq_put_u64(&p, 0);
    pq_put_str(&p, "relative");
    pq_put_str(&p, "/x");
    assert_int_equal(prec_encode(&rec, 0x544e4551u, p.p, p.len), 0);
    int fd = open(qpath, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, rec.p, rec.len), (ssize_t)rec.len);
    close(fd);
    buf_free(&rec);
    buf_free(&p);
    append_one(0, "/ok2", "/fine2");
    struct pq_list l = PQ_LIST_INIT;
    struct diags d = DIAGS_INIT;
    assert_int_equal(pq_read(qpath, &l, &d), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(d.errors, 1);
    assert_non_null(strstr(d.v[0].message, "record 2"));
    pq_list_free(&l);
    diags_free(&d);
}

/* Many processes appending at once: every entry present exactly once, each whole. */
static void test_concurrent_appenders(void **state)
{
    (void)state;
    enum { PROCS = 12, EACH = 60 };
    for (int p = 0; p < PROCS; p++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            for (int i = 0; i < EACH; i++) {
                char s[64], dst[300];
                snprintf(s, sizeof s, "/src/p%d/%d", p, i);
                snprintf(dst, sizeof dst, "/dst/p%d/%d/%0200d", p, i, 0);
                struct pq_entry e = {0, s, dst, (uint32_t)p, i};
                struct diags d = DIAGS_INIT;
                if (pq_append(dir, &e, 1, NULL, &d))
                    _exit(1);
                diags_free(&d);
            }
            _exit(0);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int st;
        assert_true(wait(&st) > 0);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    struct pq_list l = PQ_LIST_INIT;
    struct diags d = DIAGS_INIT;
    assert_int_equal(pq_read(qpath, &l, &d), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(l.n, PROCS * EACH);
    static bool seen[PROCS][EACH];
    memset(seen, 0, sizeof seen);
    int last[PROCS];
    for (int p = 0; p < PROCS; p++)
        last[p] = -1;
    for (size_t i = 0; i < l.n; i++) {
        int p, k;
        assert_int_equal(sscanf(l.v[i].source, "/src/p%d/%d", &p, &k), 2);
        assert_false(seen[p][k]);
        seen[p][k] = true;
        assert_true(k > last[p]); /* each writer's entries stay in its order */
        last[p] = k;
        char dst[64];
        snprintf(dst, sizeof dst, "/dst/p%d/%d/", p, k);
        assert_memory_equal(l.v[i].destination, dst, strlen(dst));
    }
    pq_list_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_known_value),
        cmocka_unit_test_setup_teardown(test_append_and_read_back_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_queue_is_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_at_every_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_of_zeros, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_byte_never_misread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_queue_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_undecodable_record_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_appenders, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
