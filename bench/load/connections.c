// The echo, ping and first-byte client modes: one thread, one epoll set,
// `concurrency` non-blocking connections in flight. A finished connection
// is replaced at once until `count` connections were made or the time
// limit passes.
#define _GNU_SOURCE
#include "load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum phase { CONNECTING, SENDING, READING };

struct slot {
    int fd;
    enum phase phase;
    uint64_t start_ns;
    uint64_t first_byte_ns;
    size_t sent;
    size_t received;
};

struct run {
    const struct load_options *options;
    int half_close;
    int first_byte;
    int epoll;
    struct slot *slots;
    uint64_t *latencies;
    long launched;
    long succeeded;
    long failed;
    uint64_t last_finish_ns;
    char first_error[160];
};

static void note_error(struct run *run, const char *what, int code) {
    run->failed++;
    if (run->first_error[0] == '\0') {
        snprintf(run->first_error, sizeof run->first_error, "%s: %s", what,
                 code != 0 ? strerror(code) : "unexpected reply");
    }
}

static void launch(struct run *run, int index);

static void finish(struct run *run, int index, int succeeded, const char *what, int code) {
    struct slot *slot = &run->slots[index];
    uint64_t now = load_now_ns();
    close(slot->fd);
    slot->fd = -1;
    if (succeeded) {
        uint64_t end = run->first_byte ? slot->first_byte_ns : now;
        run->latencies[run->succeeded++] = end - slot->start_ns;
        run->last_finish_ns = now;
    } else {
        note_error(run, what, code);
    }
    launch(run, index);
}

// Starts the next connection in this slot, unless `count` are launched.
// A connect that fails at once counts as a failed connection.
static void launch(struct run *run, int index) {
    struct slot *slot = &run->slots[index];
    while (run->launched < run->options->count) {
        run->launched++;
        memset(slot, 0, sizeof *slot);
        slot->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (slot->fd < 0) {
            note_error(run, "socket", errno);
            continue;
        }
        slot->start_ns = load_now_ns();
        slot->phase = CONNECTING;
        if (connect(slot->fd, (const struct sockaddr *)&run->options->address, sizeof run->options->address) != 0 &&
            errno != EINPROGRESS) {
            note_error(run, "connect", errno);
            close(slot->fd);
            slot->fd = -1;
            continue;
        }
        struct epoll_event event = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.u32 = (uint32_t)index};
        if (epoll_ctl(run->epoll, EPOLL_CTL_ADD, slot->fd, &event) != 0) {
            note_error(run, "epoll_ctl", errno);
            close(slot->fd);
            slot->fd = -1;
            continue;
        }
        return;
    }
    slot->fd = -1;
}

// Advances one connection as far as it goes without blocking.
static void advance(struct run *run, int index) {
    static char buffer[65536];
    struct slot *slot = &run->slots[index];
    const struct load_options *options = run->options;
    // echo and first-byte read until the server closes, while ping stops
    // after the reply's length.
    int until_eof = run->half_close || run->first_byte;

    if (slot->phase == CONNECTING) {
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(slot->fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) {
            finish(run, index, 0, "connect", error);
            return;
        }
        slot->phase = SENDING;
    }

    if (slot->phase == SENDING) {
        while (slot->sent < options->request_length) {
            ssize_t count = send(slot->fd, options->request + slot->sent, options->request_length - slot->sent,
                                 MSG_NOSIGNAL);
            if (count < 0) {
                if (errno != EAGAIN) finish(run, index, 0, "send", errno);
                return;
            }
            slot->sent += (size_t)count;
        }
        if (run->half_close && shutdown(slot->fd, SHUT_WR) != 0) {
            finish(run, index, 0, "shutdown", errno);
            return;
        }
        slot->phase = READING;
        struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)index};
        epoll_ctl(run->epoll, EPOLL_CTL_MOD, slot->fd, &event);
    }

    while (1) {
        ssize_t count = recv(slot->fd, buffer, sizeof buffer, 0);
        if (count < 0) {
            if (errno != EAGAIN) finish(run, index, 0, "recv", errno);
            return;
        }
        if (count == 0) {
            int complete = options->expect == NULL ? slot->received > 0 : slot->received == options->expect_length;
            finish(run, index, until_eof && complete, "reply cut short", 0);
            return;
        }
        if (slot->received == 0) slot->first_byte_ns = load_now_ns();
        if (options->expect != NULL) {
            if (slot->received + (size_t)count > options->expect_length ||
                memcmp(buffer, options->expect + slot->received, (size_t)count) != 0) {
                finish(run, index, 0, "reply differs from the request", 0);
                return;
            }
        }
        slot->received += (size_t)count;
        if (!until_eof && slot->received == options->expect_length) {
            finish(run, index, 1, NULL, 0);
            return;
        }
    }
}

int load_run_connections(const struct load_options *options, int half_close, int first_byte) {
    load_raise_fd_limit();
    struct run run = {.options = options, .half_close = half_close, .first_byte = first_byte};
    run.epoll = epoll_create1(EPOLL_CLOEXEC);
    run.slots = calloc((size_t)options->concurrency, sizeof run.slots[0]);
    run.latencies = calloc((size_t)options->count, sizeof run.latencies[0]);
    if (run.epoll < 0 || run.slots == NULL || run.latencies == NULL) {
        perror("sieste-load: setup");
        return 71;
    }

    uint64_t start = load_now_ns();
    uint64_t deadline = start + (uint64_t)(options->time_limit * 1e9);
    run.last_finish_ns = start;
    for (int i = 0; i < options->concurrency; i++) launch(&run, i);

    struct epoll_event events[256];
    int timed_out = 0;
    while (1) {
        int open = 0;
        for (int i = 0; i < options->concurrency; i++) open += run.slots[i].fd >= 0;
        if (open == 0) break;
        if (load_now_ns() >= deadline) {
            timed_out = 1;
            break;
        }
        int ready = epoll_wait(run.epoll, events, 256, 100);
        for (int i = 0; i < ready; i++) {
            int index = (int)events[i].data.u32;
            if (run.slots[index].fd >= 0) advance(&run, index);
        }
    }

    long unfinished = 0;
    for (int i = 0; i < options->concurrency; i++) {
        if (run.slots[i].fd >= 0) {
            close(run.slots[i].fd);
            unfinished++;
        }
    }
    unfinished += options->count - run.launched;
    double elapsed = (run.last_finish_ns - start) / 1e9;
    printf("ok=%ld errors=%ld unfinished=%ld timed_out=%d elapsed_s=%.3f rate=%.1f", run.succeeded, run.failed,
           unfinished, timed_out, elapsed, elapsed > 0 ? run.succeeded / elapsed : 0.0);
    load_print_latencies(run.latencies, run.succeeded);
    printf("\n");
    fflush(stdout);
    if (run.first_error[0] != '\0') fprintf(stderr, "sieste-load: first error: %s\n", run.first_error);
    return run.failed == 0 && unfinished == 0 ? 0 : 1;
}
