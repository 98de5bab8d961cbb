// spawn-limit: the per-connection work of a superserver with no
// superserver and no TCP. Each "connection" is a socketpair, and a child
// runs the program with one end on its stdin and stdout. The client side
// does what sieste-load's echo mode does: send the request, shut down the
// write side, read to EOF and check the echo. The rate this reaches is the
// physical limit that a superserver spawning the same program can
// approach.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum method { METHOD_VFORK, METHOD_POSIX_SPAWN, METHOD_FORK };

struct options {
    enum method method;
    int concurrency;
    long count;
    double time_limit;
    const char *program;
};

static struct options options = {METHOD_VFORK, 1, 3000, 60, "/bin/cat"};
static const char request[] = "ping\n";

// Shared between the worker threads.
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long launched;
static long succeeded;
static long failed;
static uint64_t *latencies;
static uint64_t deadline_ns;
static uint64_t last_finish_ns;
static char first_error[160];

static uint64_t now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

// Starts the program with `fd` as its stdin and stdout, and stderr
// inherited. Returns the pid, or -1 with errno set.
static pid_t spawn(int fd) {
    char *argv[] = {(char *)options.program, NULL};
    pid_t pid;
    switch (options.method) {
    case METHOD_VFORK:
        pid = vfork();
        if (pid == 0) {
            // Only async-signal-safe calls run between vfork and exec.
            // dup2 clears close-on-exec on the copies.
            if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0) _exit(126);
            execve(options.program, argv, environ);
            _exit(127);
        }
        return pid;
    case METHOD_FORK:
        pid = fork();
        if (pid == 0) {
            if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0) _exit(126);
            execve(options.program, argv, environ);
            _exit(127);
        }
        return pid;
    case METHOD_POSIX_SPAWN: {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fd, 0);
        posix_spawn_file_actions_adddup2(&actions, fd, 1);
        int error = posix_spawn(&pid, options.program, &actions, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        if (error != 0) {
            errno = error;
            return -1;
        }
        return pid;
    }
    }
    return -1;
}

// Runs one connection. Returns 0 on success, else the errno (or -1 for a
// wrong reply) and sets *step to the step that failed.
static int run_one(uint64_t *latency, const char **step) {
    int pair[2];
    *step = "socketpair";
    uint64_t start = now_ns();
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return errno;
    *step = "spawn";
    pid_t pid = spawn(pair[1]);
    int error = pid < 0 ? errno : 0;
    close(pair[1]);
    if (pid < 0) {
        close(pair[0]);
        return error;
    }

    char reply[64];
    size_t received = 0;
    *step = "send";
    if (send(pair[0], request, sizeof request - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof request - 1)) error = errno;
    if (error == 0 && shutdown(pair[0], SHUT_WR) != 0) error = errno;
    while (error == 0) {
        *step = "recv";
        ssize_t count = recv(pair[0], reply + received, sizeof reply - received, 0);
        if (count < 0 && errno == EINTR) continue;
        if (count < 0) error = errno;
        if (count <= 0) break;
        received += (size_t)count;
        if (received == sizeof reply) break;
    }
    *latency = now_ns() - start;
    close(pair[0]);
    waitpid(pid, NULL, 0);
    if (error == 0 && (received != sizeof request - 1 || memcmp(reply, request, received) != 0)) {
        *step = "reply differs from the request";
        error = -1;
    }
    return error;
}

static void *worker(void *unused) {
    (void)unused;
    while (1) {
        pthread_mutex_lock(&lock);
        int more = launched < options.count && now_ns() < deadline_ns;
        if (more) launched++;
        pthread_mutex_unlock(&lock);
        if (!more) return NULL;

        uint64_t latency = 0;
        const char *step = NULL;
        int error = run_one(&latency, &step);

        pthread_mutex_lock(&lock);
        if (error == 0) {
            latencies[succeeded++] = latency;
            last_finish_ns = now_ns();
        } else if (failed++ == 0) {
            snprintf(first_error, sizeof first_error, "%s: %s", step,
                     error > 0 ? strerror(error) : "unexpected reply");
        }
        pthread_mutex_unlock(&lock);
    }
}

static int compare_u64(const void *left, const void *right) {
    uint64_t a = *(const uint64_t *)left;
    uint64_t b = *(const uint64_t *)right;
    return (a > b) - (a < b);
}

static void usage(void) {
    fputs("usage: spawn-limit [-m vfork|posix_spawn|fork] [-c N] [-n COUNT] [-t SECONDS] [PROGRAM]\n"
          "  runs COUNT times PROGRAM (default /bin/cat) on a socketpair with N in flight,\n"
          "  sends \"ping\\n\", shuts down the write side, reads to EOF, checks the echo;\n"
          "  prints rate and latency (socketpair to EOF) as key=value\n",
          stderr);
}

int main(int argc, char **argv) {
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        const char *value = argv[i + 1];
        char *end = NULL;
        int valid = 1;
        if (strcmp(argv[i], "-m") == 0) {
            if (strcmp(value, "vfork") == 0) options.method = METHOD_VFORK;
            else if (strcmp(value, "posix_spawn") == 0) options.method = METHOD_POSIX_SPAWN;
            else if (strcmp(value, "fork") == 0) options.method = METHOD_FORK;
            else valid = 0;
        } else if (strcmp(argv[i], "-c") == 0) {
            options.concurrency = (int)strtol(value, &end, 10);
            valid = *end == '\0' && options.concurrency >= 1 && options.concurrency <= 256;
        } else if (strcmp(argv[i], "-n") == 0) {
            options.count = strtol(value, &end, 10);
            valid = *end == '\0' && options.count >= 1 && options.count <= 10000000;
        } else if (strcmp(argv[i], "-t") == 0) {
            options.time_limit = strtod(value, &end);
            valid = *end == '\0' && options.time_limit > 0 && options.time_limit <= 3600;
        } else {
            valid = 0;
        }
        if (!valid) {
            fprintf(stderr, "spawn-limit: invalid option %s %s\n", argv[i], value);
            usage();
            return 64;
        }
    }
    if (i < argc && argv[i][0] == '-') {
        usage();
        return 64;
    }
    if (i < argc) options.program = argv[i++];
    if (i < argc) {
        usage();
        return 64;
    }

    latencies = calloc((size_t)options.count, sizeof latencies[0]);
    pthread_t *threads = calloc((size_t)options.concurrency, sizeof threads[0]);
    if (latencies == NULL || threads == NULL) abort();

    uint64_t start = now_ns();
    deadline_ns = start + (uint64_t)(options.time_limit * 1e9);
    last_finish_ns = start;
    for (int t = 0; t < options.concurrency; t++) {
        if (pthread_create(&threads[t], NULL, worker, NULL) != 0) {
            perror("spawn-limit: pthread_create");
            return 71;
        }
    }
    for (int t = 0; t < options.concurrency; t++) pthread_join(threads[t], NULL);

    double elapsed = (last_finish_ns - start) / 1e9;
    long unfinished = options.count - launched;
    printf("ok=%ld errors=%ld unfinished=%ld timed_out=%d elapsed_s=%.3f rate=%.1f", succeeded, failed, unfinished,
           unfinished > 0, elapsed, elapsed > 0 ? succeeded / elapsed : 0.0);
    if (succeeded > 0) {
        qsort(latencies, (size_t)succeeded, sizeof latencies[0], compare_u64);
        long p50 = (succeeded * 50 + 99) / 100 - 1;
        long p99 = (succeeded * 99 + 99) / 100 - 1;
        printf(" p50_ms=%.3f p99_ms=%.3f max_ms=%.3f", latencies[p50] / 1e6, latencies[p99] / 1e6,
               latencies[succeeded - 1] / 1e6);
    }
    printf("\n");
    if (first_error[0] != '\0') fprintf(stderr, "spawn-limit: first error: %s\n", first_error);
    return failed == 0 && unfinished == 0 ? 0 : 1;
}
