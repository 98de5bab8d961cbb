// Bulk throughput: the client streams (one blocking thread each) and the
// sink server they talk to. The protocol is an 8-byte big-endian length,
// that many payload bytes, then the sink's 8-byte big-endian count of what
// it received, so the client's clock stops only when every byte arrived.
#define _GNU_SOURCE
#include "load.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum { BUFFER_SIZE = 256 * 1024 };

static void encode_u64(uint64_t value, unsigned char out[8]) {
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(value & 0xff);
        value >>= 8;
    }
}

static uint64_t decode_u64(const unsigned char in[8]) {
    uint64_t value = 0;
    for (int i = 0; i < 8; i++) value = (value << 8) | in[i];
    return value;
}

// Bounds every blocking send and recv, so that a stalled peer cannot hold
// a thread past the time limit.
static void set_timeouts(int fd, double seconds) {
    struct timeval timeout = {.tv_sec = (time_t)seconds, .tv_usec = (suseconds_t)((seconds - (time_t)seconds) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

static int send_all(int fd, const void *data, size_t length) {
    const char *bytes = data;
    while (length > 0) {
        ssize_t count = send(fd, bytes, length, MSG_NOSIGNAL);
        if (count < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        bytes += count;
        length -= (size_t)count;
    }
    return 0;
}

static int recv_all(int fd, void *data, size_t length) {
    char *bytes = data;
    while (length > 0) {
        ssize_t count = recv(fd, bytes, length, 0);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) return -1;
        bytes += count;
        length -= (size_t)count;
    }
    return 0;
}

struct stream {
    pthread_t thread;
    const struct load_options *options;
    int succeeded;
    int error;
    const char *step;
    uint64_t end_ns;
};

static void *run_stream(void *argument) {
    struct stream *stream = argument;
    const struct load_options *options = stream->options;
    static char payload[BUFFER_SIZE];  // zeros: the sink only counts bytes

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        stream->step = "socket";
        stream->error = errno;
        return NULL;
    }
    set_timeouts(fd, options->time_limit);
    if (connect(fd, (const struct sockaddr *)&options->address, sizeof options->address) != 0) {
        stream->step = "connect";
        stream->error = errno;
        close(fd);
        return NULL;
    }

    unsigned char header[8];
    encode_u64(options->bulk_bytes, header);
    stream->step = "send";
    int failed = send_all(fd, header, sizeof header);
    uint64_t left = options->bulk_bytes;
    while (!failed && left > 0) {
        size_t chunk = left < BUFFER_SIZE ? (size_t)left : BUFFER_SIZE;
        failed = send_all(fd, payload, chunk);
        left -= chunk;
    }
    unsigned char reply[8];
    if (!failed) {
        stream->step = "recv count";
        failed = recv_all(fd, reply, sizeof reply);
    }
    stream->end_ns = load_now_ns();
    if (failed) {
        stream->error = errno;
    } else if (decode_u64(reply) != options->bulk_bytes) {
        stream->step = "sink count differs from the bytes sent";
        stream->error = 0;
    } else {
        stream->succeeded = 1;
    }
    close(fd);
    return NULL;
}

int load_run_bulk(const struct load_options *options) {
    struct stream *streams = calloc((size_t)options->concurrency, sizeof streams[0]);
    if (streams == NULL) abort();
    uint64_t start = load_now_ns();
    for (int i = 0; i < options->concurrency; i++) {
        streams[i].options = options;
        if (pthread_create(&streams[i].thread, NULL, run_stream, &streams[i]) != 0) {
            perror("sieste-load: pthread_create");
            return 71;
        }
    }

    int succeeded = 0;
    uint64_t end = start;
    for (int i = 0; i < options->concurrency; i++) {
        pthread_join(streams[i].thread, NULL);
        if (streams[i].succeeded) {
            succeeded++;
        } else {
            fprintf(stderr, "sieste-load: stream %d failed at %s: %s\n", i, streams[i].step,
                    streams[i].error != 0 ? strerror(streams[i].error) : "protocol error");
        }
        if (streams[i].end_ns > end) end = streams[i].end_ns;
    }

    double elapsed = (end - start) / 1e9;
    double mebibytes = (double)options->bulk_bytes * succeeded / (1024.0 * 1024.0);
    printf("ok=%d errors=%d elapsed_s=%.3f mib=%.0f mib_per_s=%.1f\n", succeeded, options->concurrency - succeeded,
           elapsed, mebibytes, elapsed > 0 ? mebibytes / elapsed : 0.0);
    free(streams);
    return succeeded == options->concurrency ? 0 : 1;
}

// Serves one bulk connection: reads the header and payload, sends the count.
static void *sink_connection(void *argument) {
    int fd = (int)(intptr_t)argument;
    char *buffer = malloc(BUFFER_SIZE);
    unsigned char header[8];
    set_timeouts(fd, 30);
    if (buffer != NULL && recv_all(fd, header, sizeof header) == 0) {
        uint64_t expected = decode_u64(header);
        uint64_t received = 0;
        while (received < expected) {
            size_t want = expected - received < BUFFER_SIZE ? (size_t)(expected - received) : BUFFER_SIZE;
            ssize_t count = recv(fd, buffer, want, 0);
            if (count < 0 && errno == EINTR) continue;
            if (count <= 0) break;
            received += (uint64_t)count;
        }
        unsigned char reply[8];
        encode_u64(received, reply);
        send_all(fd, reply, sizeof reply);
    }
    free(buffer);
    close(fd);
    return NULL;
}

int load_serve_sink(const struct load_options *options) {
    int listener = load_listen(options);
    if (listener < 0) return 71;
    uint64_t deadline = load_now_ns() + (uint64_t)(options->time_limit * 1e9);
    while (load_now_ns() < deadline) {
        struct pollfd poll_listener = {.fd = listener, .events = POLLIN};
        if (poll(&poll_listener, 1, 200) <= 0) continue;
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        pthread_t thread;
        if (pthread_create(&thread, NULL, sink_connection, (void *)(intptr_t)fd) != 0) {
            close(fd);
            continue;
        }
        pthread_detach(thread);
    }
    return 0;
}
