// sieste-load: the load generator and test servers that bench/run drives.
// Every mode talks to loopback addresses only and stops by itself after a
// count or a time limit.
#ifndef SIESTE_LOAD_H
#define SIESTE_LOAD_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/// Options shared by every mode, filled by main.c from the command line.
struct load_options {
    struct sockaddr_in address;  // target (client modes) or listen address (servers)
    int concurrency;             // connections or streams in flight
    long count;                  // connections to make, or connections to hold
    double time_limit;           // seconds after which every mode stops
    const char *request;         // bytes each client connection sends
    size_t request_length;
    const char *expect;          // expected reply, or NULL to accept any reply
    size_t expect_length;
    uint64_t bulk_bytes;         // payload per stream in bulk mode
};

/// Monotonic clock in nanoseconds.
uint64_t load_now_ns(void);

/// Prints ` p50_ms=... p99_ms=... max_ms=...` for the latencies
/// (nanoseconds) on stdout, sorting the array in place.
void load_print_latencies(uint64_t *latencies, long count);

/// Client modes. Each prints one `key=value ...` line on stdout and
/// returns the process exit status (0 when every connection succeeded).
int load_run_connections(const struct load_options *options, int half_close, int first_byte);
int load_run_bulk(const struct load_options *options);
int load_run_hold(const struct load_options *options);

/// Opens a TCP listening socket on the options' address with a backlog of
/// 4096. Returns -1 after printing the error.
int load_listen(const struct load_options *options);

/// Server modes: serve until the time limit, then exit.
int load_serve_echo(const struct load_options *options);
int load_serve_sink(const struct load_options *options);

/// Raises RLIMIT_NOFILE to its hard limit, because the hold and server
/// modes need thousands of descriptors.
void load_raise_fd_limit(void);

#endif
