/* The platform layer: the Linux-only system calls smss and its programs use, each in one
 * small function, so the rest of the code reads as NT's responsibilities. */
#ifndef SMSS_PLATFORM_H
#define SMSS_PLATFORM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Block these signals and return a signalfd for them (non-blocking, close-on-exec). */
int platform_signalfd(const int *signals, size_t n);
/* Become the reaper of orphaned descendants (when not PID 1). */
int platform_set_subreaper(void);
/* The NT base priority → nice mapping, the one rule: nice = 8 - priority (11 → -3,
 * 13 → -5, 8 → 0), clamped to Linux's -20..19. */
int platform_nice_for_priority(int nt_priority);
int platform_set_nice(int nice);

/* fork(), the child born in the cgroup v2 directory cgroup_fd (clone3 with
 * CLONE_INTO_CGROUP). -1 with errno (ENOSYS on kernels before 5.7). */
pid_t platform_fork_into_cgroup(int cgroup_fd);

/* Close every descriptor from 3 up except keep1 and keep2 (-1: none). */
int platform_close_all_except(int keep1, int keep2);

/* Show argv (NULL-terminated) as this process's command line (/proc/PID/cmdline, ps)
 * without executing anything: what a forked copy of a program does to be seen as the
 * instance it is (PR_SET_MM_MAP: kernels with checkpoint/restore support; no capability
 * needed). At most 4096 bytes. */
int platform_set_cmdline(char *const argv[]);
/* Make the mount that holds `path` a slave (nothing mounted beneath it propagates back to
 * the parent namespace), falling back to every mount when it is not a mount point. */
int platform_mount_slave_at(const char *path);
/* fork(), the child in new namespaces (CLONE_NEW* flags); the caller's own are kept. */
pid_t platform_fork_into(int clone_flags);
/* New namespaces for the caller (CLONE_NEW* flags). */
int platform_unshare(int clone_flags);
/* Make every mount private (nothing propagates back to the parent namespace). */
int platform_mounts_private(void);
/* Make every mount a slave (the parent's new mounts still arrive; ours do not leave). */
int platform_mounts_slave(void);
int platform_mount_proc(const char *where);
int platform_mount_tmpfs(const char *where, mode_t mode);
/* mkdir -p with mode for the directories it creates. */
int platform_mkdir_p(const char *path, mode_t mode);

/* The mount point of a writable cgroup v2 hierarchy (cached), or NULL. */
const char *platform_cgroup2_root(void);
/* The caller's cgroup v2 path relative to that root ("/" when at the root). */
int platform_cgroup2_self(char *out, size_t n);
/* Kill every process of a cgroup (cgroup.kill) and remove the directory when empty. */
int platform_cgroup_kill(const char *dir);
int platform_cgroup_remove(const char *dir);

/* Start time of a process in clock ticks since boot (/proc/PID/stat field 22), 0 when
 * it does not exist. With the PID this names a process uniquely (PID reuse). */
uint64_t platform_process_start_ticks(pid_t pid);
/* The same as CLOCK_REALTIME nanoseconds. */
uint64_t platform_ticks_to_realtime_ns(uint64_t ticks);
/* The process's uid (real), or -1. */
long platform_process_uid(pid_t pid);
/* The process's parent PID, or -1. */
pid_t platform_process_ppid(pid_t pid);
/* /proc/PID/exe into out, "" when unreadable. */
void platform_process_image(pid_t pid, char *out, size_t n);
/* /proc/PID/cmdline (NUL-separated) into out; returns its length. */
size_t platform_process_cmdline(pid_t pid, char *out, size_t n);
/* The process's nice value, or 0. */
int platform_process_nice(pid_t pid);

/* Send sig to every process whose stat field (4: parent PID, 6: POSIX session ID)
 * equals value. Returns how many were signalled. */
enum { PLATFORM_BY_PPID = 4, PLATFORM_BY_SID = 6 };
int platform_signal_where(int field, pid_t value, int sig);
/* Every live descendant of `ancestor` (through /proc's parent links), into pids (up to
 * max). Returns the count. */
size_t platform_descendants(pid_t ancestor, pid_t *pids, size_t max);

/* After boot: unmap the clean read-only pages of file mappings (program and library
 * text and constants; they stay in the page cache and come back on first touch), so the
 * idle master's resident memory is what it uses. Mappings with private dirty pages
 * (relocated GOTs, data) are never touched. Returns the KiB released. */
size_t platform_release_clean_file_pages(void);
/* reboot(2): RB_AUTOBOOT or RB_POWER_OFF; only meaningful for a machine's PID 1. */
int platform_reboot(bool power_off);
/* A pidfd for a process (readable when it exits), -1 with errno. */
int platform_pidfd_open(pid_t pid);
/* The peer's credentials on a UNIX socket. */
int platform_peer_cred(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

#endif
