// The C side of sieste: libc as seen from Swift, plus what must not run in
// Swift. Embedded Swift cannot import Glibc, so every libc declaration the
// daemon uses comes through this header, and the few calls Glibc hides
// behind _GNU_SOURCE (accept4, splice, pipe2, close_range) are wrapped here.
#ifndef CSIESTE_H
#define CSIESTE_H

#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// MARK: errno and wait status (macros Swift cannot import)

int csieste_errno(void);
void csieste_set_errno(int value);
int csieste_wifexited(int status);
int csieste_wexitstatus(int status);
int csieste_wifsignaled(int status);
int csieste_wtermsig(int status);

// MARK: socket addresses
//
// One flat address type keeps sockaddr casts out of Swift. family is
// AF_INET, AF_INET6 or AF_UNIX. For AF_INET the address is in bytes[0..3];
// for AF_UNIX, path holds path_len bytes and an abstract name starts with
// a NUL byte.

typedef struct {
    int family;
    uint16_t port;
    uint8_t bytes[16];
    uint32_t scope_id;
    int path_len;
    char path[108];
} csieste_addr;

int csieste_bind(int fd, const csieste_addr *address);
int csieste_connect(int fd, const csieste_addr *address);
/// accept4(2) with SOCK_CLOEXEC, and SOCK_NONBLOCK when nonblocking is
/// set; fills peer when not NULL.
int csieste_accept(int fd, csieste_addr *peer, int nonblocking);
int csieste_getsockname(int fd, csieste_addr *address);
int csieste_getpeername(int fd, csieste_addr *address);
int csieste_setsockopt_int(int fd, int level, int name, int value);
int csieste_getsockopt_int(int fd, int level, int name, int *value);

// MARK: Linux calls Glibc exports only under _GNU_SOURCE

int csieste_pipe2(int fds[2], int flags);
/// splice(2) between a socket and a pipe, with SPLICE_F_MOVE and
/// SPLICE_F_NONBLOCK (those flags need _GNU_SOURCE, which Swift does not see).
ssize_t csieste_splice(int fd_in, int fd_out, size_t length);

// MARK: epoll
//
// struct epoll_event is packed on x86_64, so Swift sees it through these.

int csieste_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
int csieste_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout_ms);

// MARK: signals

/// Blocks CHLD, HUP, TERM, INT, USR1 and PIPE and returns a signalfd for the
/// first five; SIGPIPE stays blocked so writes report EPIPE instead.
int csieste_signalfd_open(void);
/// Reads one signal from a signalfd; returns the signal number, 0 when none
/// is pending, -1 on error.
int csieste_signalfd_read(int fd);

// MARK: timers

int csieste_timerfd_open(void);
/// Arms a one-shot timer at an absolute CLOCK_MONOTONIC time; 0 disarms.
int csieste_timerfd_arm(int fd, int64_t deadline_ms);
int csieste_timerfd_drain(int fd);
int64_t csieste_monotonic_ms(void);
int64_t csieste_wallclock_seconds(void);

// MARK: names resolved at configuration load (never after fork)

/// Port of a service name in /etc/services, or -1.
int csieste_service_port(const char *name, const char *protocol);
/// Fills uid, gid and home of a user name; returns 0, or -1 when unknown.
int csieste_lookup_user(const char *name, uint32_t *uid, uint32_t *gid);
int csieste_lookup_group(const char *name, uint32_t *gid);
/// Supplementary groups of a user, as initgroups(3) would set them; returns
/// the count written, or -1 if max was too small.
int csieste_user_groups(const char *name, uint32_t gid, uint32_t *groups, int max);
/// Resolves a host name to its first IPv4 or IPv6 address (getaddrinfo).
int csieste_resolve_host(const char *host, csieste_addr *address);

// MARK: spawning

enum csieste_spawn_step {
    CSIESTE_STEP_NONE = 0,
    CSIESTE_STEP_FORK,
    CSIESTE_STEP_SETSID,
    CSIESTE_STEP_DUP,
    CSIESTE_STEP_CLOSE,
    CSIESTE_STEP_RLIMIT,
    CSIESTE_STEP_SETGROUPS,
    CSIESTE_STEP_SETGID,
    CSIESTE_STEP_SETUID,
    CSIESTE_STEP_NICE,
    CSIESTE_STEP_CHDIR,
    CSIESTE_STEP_SIGNALS,
    CSIESTE_STEP_EXEC,
};

/// Everything the child does between vfork and execve, prepared by the
/// parent so the child only makes system calls.
typedef struct {
    const char *path;
    char *const *argv;
    char *const *envp;
    /// sources[i] becomes fd i in the child, for i < fd_count.
    const int *sources;
    int fd_count;
    int set_ids;
    uint32_t uid;
    uint32_t gid;
    int set_groups;
    const uint32_t *groups;
    int group_count;
    int rlimit_count;
    const int *rlimit_resources;
    const struct rlimit *rlimit_values;
    int set_nice;
    int nice_value;
    int umask_value; // -1 keeps the parent's
    const char *cwd; // NULL keeps the parent's
    /// When not NULL, points at the digits of "LISTEN_PID=" inside envp,
    /// with room for 20 characters; the child writes its own pid there.
    char *listen_pid_digits;
    // Written by the child on failure; read by the parent after vfork returns.
    volatile int failed_step;
    volatile int failed_errno;
} csieste_spawn_plan;

/// Starts plan->path in a new process with vfork. Returns the child's pid,
/// or -1 with plan->failed_step and plan->failed_errno set when any step
/// before a successful execve failed (the child has then exited with 127
/// and must still be reaped).
pid_t csieste_spawn(csieste_spawn_plan *plan);

/// Sets every signal to its default disposition. Called once at start-up,
/// so that a signal ignored by whoever started sieste (nohup, a shell's
/// background job) is not inherited by the services, and the vfork child
/// has no dispositions left to reset.
void csieste_reset_signal_dispositions(void);

// MARK: systemd, loaded with dlopen only when sieste runs under it

/// sd_notify(0, state) through dlopen("libsystemd.so.0"), loaded on the
/// first call and only when NOTIFY_SOCKET is set; returns what sd_notify
/// returned, or 0 when there is no systemd to notify.
int csieste_sd_notify(const char *state);

// MARK: builtin services

/// recvfrom(2) without blocking, filling the sender; -1 with errno on error.
ssize_t csieste_recvfrom(int fd, void *buffer, size_t length, csieste_addr *sender);
/// sendto(2) without blocking.
ssize_t csieste_sendto(int fd, const void *buffer, size_t length, const csieste_addr *target);
/// Writes the local time in ctime(3) form with CRLF (RFC 867); returns the length.
int csieste_daytime(char *buffer, int capacity);

/// Returns the heap's free memory to the kernel (malloc_trim(3)), after
/// loading a configuration leaves its parse trees behind.
void csieste_release_free_memory(void);

/// Unmaps sieste's own code and read-only data from its page tables
/// (madvise MADV_DONTNEED), after start-up or a reload has run the
/// configuration code. The pages stay in the page cache, and those the
/// event loop runs are mapped again on first use.
/// - Note: the kernel maps up to 64 KiB of cached neighbours with each
///   fault (fault-around), so the loop brings back more than it runs.
void csieste_drop_unused_code_pages(void);

// MARK: process arguments

/// The program's argc, captured at start-up (Embedded Swift has no
/// CommandLine).
int csieste_argument_count(void);
/// The program's argv[index].
const char *csieste_argument(int index);

// MARK: small helpers

ssize_t csieste_write_all(int fd, const void *buffer, size_t length);
int csieste_fcntl_getfl(int fd);
int csieste_set_cloexec(int fd);
int csieste_fcntl_setfl(int fd, int flags);
/// open(2) without the variadic mode argument Swift cannot call.
int csieste_open(const char *path, int flags, int mode);
/// stat(2) reduced to st_mode.
int csieste_stat_mode(const char *path, uint32_t *mode);
/// Counts the TCP connections (any state but LISTEN) whose local address
/// is `local`, through sock_diag netlink; also reports the accept queue
/// length of the listener on that address. Returns the count or -1.
int csieste_count_tcp_connections(const csieste_addr *local, int *accept_queue);
/// The same for a Unix stream listener, identified by its socket inode.
int csieste_count_unix_connections(int listener_fd, int *accept_queue);

/// Bytes waiting in a socket's receive queue (FIONREAD), or -1.
int csieste_pending_bytes(int fd);
/// Receives and drops one datagram without blocking.
int csieste_drain_datagram(int fd);

int csieste_readdir_names(const char *path, char *buffer, size_t capacity);

#endif
