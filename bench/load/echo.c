// The echo server (one thread, epoll) and the hold mode that keeps many
// connections open through a proxy while bench/run reads its memory.
#define _GNU_SOURCE
#include "load.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int load_listen(const struct load_options *options) {
    load_raise_fd_limit();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        bind(fd, (const struct sockaddr *)&options->address, sizeof options->address) != 0 || listen(fd, 4096) != 0) {
        perror("sieste-load: listen");
        return -1;
    }
    return fd;
}

enum { ECHO_BUFFER = 4096 };

struct echo_connection {
    int fd;
    int eof;
    size_t pending_offset;
    size_t pending_length;
    char pending[ECHO_BUFFER];
};

static void echo_close(struct echo_connection *connection) {
    close(connection->fd);
    free(connection);
}

// Writes what is pending. Returns 1 when all of it went out, 0 when the
// socket is full and -1 on an error.
static int echo_flush(struct echo_connection *connection) {
    while (connection->pending_offset < connection->pending_length) {
        ssize_t count = send(connection->fd, connection->pending + connection->pending_offset,
                             connection->pending_length - connection->pending_offset, MSG_NOSIGNAL);
        if (count < 0) return errno == EAGAIN ? 0 : -1;
        connection->pending_offset += (size_t)count;
    }
    connection->pending_offset = connection->pending_length = 0;
    return 1;
}

// Reads one buffer per readiness (level-triggered) and echoes it. While a
// reply is pending, the connection waits for EPOLLOUT instead of reading.
static void echo_event(int epoll, struct echo_connection *connection, uint32_t events) {
    if (connection->pending_length == 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        ssize_t count = recv(connection->fd, connection->pending, ECHO_BUFFER, 0);
        if (count < 0 && errno == EAGAIN) return;
        if (count < 0) {
            echo_close(connection);
            return;
        }
        if (count == 0) {
            connection->eof = 1;
        } else {
            connection->pending_length = (size_t)count;
        }
    }

    int flushed = echo_flush(connection);
    if (flushed < 0 || (flushed == 1 && connection->eof)) {
        echo_close(connection);
        return;
    }
    struct epoll_event event = {.events = flushed ? EPOLLIN : EPOLLOUT, .data.ptr = connection};
    epoll_ctl(epoll, EPOLL_CTL_MOD, connection->fd, &event);
}

int load_serve_echo(const struct load_options *options) {
    int listener = load_listen(options);
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    if (listener < 0 || epoll < 0) return 71;
    // The listener's data.ptr is NULL, and every connection has its own.
    struct epoll_event listen_event = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &listen_event);

    uint64_t deadline = load_now_ns() + (uint64_t)(options->time_limit * 1e9);
    struct epoll_event events[256];
    while (load_now_ns() < deadline) {
        int ready = epoll_wait(epoll, events, 256, 200);
        for (int i = 0; i < ready; i++) {
            struct echo_connection *connection = events[i].data.ptr;
            if (connection != NULL) {
                echo_event(epoll, connection, events[i].events);
                continue;
            }
            while (1) {
                int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) break;
                connection = malloc(sizeof *connection);
                if (connection == NULL) {
                    close(fd);
                    continue;
                }
                connection->fd = fd;
                connection->eof = 0;
                connection->pending_offset = connection->pending_length = 0;
                struct epoll_event event = {.events = EPOLLIN, .data.ptr = connection};
                if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) echo_close(connection);
            }
        }
    }
    return 0;
}

// Opens one connection and checks a round trip of the request through it.
// Returns the descriptor, or -1 after storing the failed step.
static int hold_open(const struct load_options *options, const char **step) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *step = "socket";
        return -1;
    }
    struct timeval timeout = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    char reply[256];
    size_t received = 0;
    *step = "connect";
    if (connect(fd, (const struct sockaddr *)&options->address, sizeof options->address) != 0) goto failed;
    *step = "send";
    if (send(fd, options->request, options->request_length, MSG_NOSIGNAL) != (ssize_t)options->request_length)
        goto failed;
    *step = "recv";
    while (received < options->expect_length && received < sizeof reply) {
        ssize_t count = recv(fd, reply + received, sizeof reply - received, 0);
        if (count <= 0) goto failed;
        received += (size_t)count;
    }
    *step = "reply differs from the request";
    errno = 0;
    if (received != options->expect_length || memcmp(reply, options->expect, received) != 0) goto failed;
    return fd;

failed:
    close(fd);
    return -1;
}

int load_run_hold(const struct load_options *options) {
    load_raise_fd_limit();
    int *fds = calloc((size_t)options->count, sizeof fds[0]);
    if (fds == NULL) abort();
    uint64_t deadline = load_now_ns() + (uint64_t)(options->time_limit * 1e9);
    long held = 0, failed = 0;
    for (long i = 0; i < options->count && load_now_ns() < deadline; i++) {
        const char *step = NULL;
        int fd = hold_open(options, &step);
        if (fd < 0) {
            if (failed++ == 0) fprintf(stderr, "sieste-load: hold failed at %s: %s\n", step, strerror(errno));
            continue;
        }
        fds[held++] = fd;
    }
    printf("held=%ld errors=%ld\n", held, failed);
    fflush(stdout);

    // Keep the connections until standard input reaches EOF or the time
    // limit passes.
    while (1) {
        uint64_t now = load_now_ns();
        if (now >= deadline) break;
        uint64_t left_ms = (deadline - now) / 1000000 + 1;
        struct pollfd input = {.fd = 0, .events = POLLIN};
        int ready = poll(&input, 1, left_ms > 1000 ? 1000 : (int)left_ms);
        if (ready > 0) {
            char byte;
            if (read(0, &byte, 1) <= 0) break;
        }
    }
    for (long i = 0; i < held; i++) close(fds[i]);
    free(fds);
    return failed == 0 ? 0 : 1;
}
