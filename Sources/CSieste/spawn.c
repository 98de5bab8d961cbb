// The child side of spawning. Everything between vfork and execve is here,
// in C, so that no Swift code runs in a child that shares the parent's
// memory. Each call below is async-signal-safe (signal-safety(7)); the child
// allocates nothing, looks up no names and logs nothing. A failed step is
// written into the shared plan (vfork shares the address space and suspends
// the parent until the child execs or exits), which replaces the usual
// close-on-exec pipe and saves two descriptors and two calls per spawn.
#include "csieste.h"

#include <sys/syscall.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static void fail(csieste_spawn_plan *plan, int step) {
    plan->failed_errno = errno;
    plan->failed_step = step;
    _exit(127);
}

static void write_pid_digits(char *digits, pid_t pid) {
    char reversed[20];
    int count = 0;
    unsigned long value = (unsigned long)pid;
    do {
        reversed[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0 && count < 20);
    for (int i = 0; i < count; i++) digits[i] = reversed[count - 1 - i];
    digits[count] = 0;
}

/// Marks every descriptor from `first` on close-on-exec, so that execve
/// closes what the child must not inherit; descriptors below `first` are
/// the child's own.
static int mark_rest_cloexec(int first) {
    if (syscall(SYS_close_range, (unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return 0;
    // Kernels before 5.11 lack CLOSE_RANGE_CLOEXEC: walk the table instead.
    long limit = sysconf(_SC_OPEN_MAX);
    if (limit < 0 || limit > 1048576) limit = 1048576;
    for (int fd = first; fd < limit; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0 && !(flags & FD_CLOEXEC)) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
    return 0;
}

pid_t csieste_spawn(csieste_spawn_plan *plan) {
    plan->failed_step = CSIESTE_STEP_NONE;
    plan->failed_errno = 0;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    pid_t pid = vfork();
#pragma GCC diagnostic pop
    if (pid < 0) {
        plan->failed_step = CSIESTE_STEP_FORK;
        plan->failed_errno = errno;
        return -1;
    }
    if (pid > 0) {
        // The child has exec'd or exited by now.
        return plan->failed_step == CSIESTE_STEP_NONE ? pid : -1;
    }

    // Child. Signal dispositions are already the defaults: the parent
    // reset them at start-up (csieste_reset_signal_dispositions) and never
    // installs a handler, so the child has nothing to undo but the mask,
    // which is cleared just before execve.
    if (setsid() < 0) fail(plan, CSIESTE_STEP_SETSID);

    // Move every source above the target range first, so that placing one
    // target never overwrites a source that another target still needs.
    int high = plan->fd_count > 3 ? plan->fd_count : 3;
    int moved[64];
    int count = plan->fd_count > 64 ? 64 : plan->fd_count;
    for (int i = 0; i < count; i++) {
        moved[i] = fcntl(plan->sources[i], F_DUPFD_CLOEXEC, high + 64);
        if (moved[i] < 0) fail(plan, CSIESTE_STEP_DUP);
    }
    for (int i = 0; i < count; i++) {
        // dup2 clears FD_CLOEXEC on the new descriptor.
        if (dup2(moved[i], i) < 0) fail(plan, CSIESTE_STEP_DUP);
    }
    if (mark_rest_cloexec(count) < 0) fail(plan, CSIESTE_STEP_CLOSE);

    for (int i = 0; i < plan->rlimit_count; i++) {
        if (setrlimit(plan->rlimit_resources[i], &plan->rlimit_values[i]) < 0) fail(plan, CSIESTE_STEP_RLIMIT);
    }
    if (plan->set_nice) {
        errno = 0;
        if (nice(plan->nice_value) == -1 && errno != 0) fail(plan, CSIESTE_STEP_NICE);
    }
    if (plan->set_groups) {
        if (setgroups((size_t)plan->group_count, (const gid_t *)plan->groups) < 0) fail(plan, CSIESTE_STEP_SETGROUPS);
    }
    if (plan->set_ids) {
        // The group goes first: after setuid the process may no longer
        // have the right to change it.
        if (setgid(plan->gid) < 0) fail(plan, CSIESTE_STEP_SETGID);
        if (setuid(plan->uid) < 0) fail(plan, CSIESTE_STEP_SETUID);
    }
    if (plan->umask_value >= 0) umask((mode_t)plan->umask_value);
    if (plan->cwd != NULL && chdir(plan->cwd) < 0) fail(plan, CSIESTE_STEP_CHDIR);
    if (plan->listen_pid_digits != NULL) write_pid_digits(plan->listen_pid_digits, getpid());

    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) fail(plan, CSIESTE_STEP_SIGNALS);

    execve(plan->path, plan->argv, plan->envp);
    fail(plan, CSIESTE_STEP_EXEC);
    return -1;
}

void csieste_reset_signal_dispositions(void) {
    struct sigaction defaults;
    memset(&defaults, 0, sizeof(defaults));
    defaults.sa_handler = SIG_DFL;
    for (int signal_number = 1; signal_number < NSIG; signal_number++) {
        if (signal_number == SIGKILL || signal_number == SIGSTOP) continue;
        sigaction(signal_number, &defaults, NULL);
    }
}
