// sieste-load: the command line and shared helpers. usage() lists the modes.
#define _GNU_SOURCE
#include "load.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static void usage(void) {
    fputs(
        "usage: sieste-load MODE HOST:PORT [options]\n"
        "\n"
        "client modes (print one key=value line, exit 0 when every connection succeeded):\n"
        "  echo        connect, send the request, shut down the write side, read to EOF,\n"
        "              check that the reply equals the request; latency is connect to EOF\n"
        "  ping        connect, send the request, read as many bytes back, close\n"
        "              (no half-close); latency is connect to the last byte\n"
        "  first-byte  connect, send the request, time the first byte of the reply,\n"
        "              then read to EOF (default request: an HTTP/1.0 GET of /)\n"
        "  bulk        per stream: send an 8-byte big-endian length and that many bytes,\n"
        "              then read the sink's 8-byte count; prints MiB/s over all streams\n"
        "  hold        open COUNT connections, check one ping on each, print `held N`,\n"
        "              keep them open until standard input closes or the time limit\n"
        "server modes (run until the time limit):\n"
        "  echo-server epoll echo server: returns every byte, closes after the client's EOF\n"
        "  sink        reads the length header and payload, replies with the byte count\n"
        "\n"
        "options:\n"
        "  -c N          connections or streams in flight (default 1)\n"
        "  -n COUNT      connections to make or hold (default 1000)\n"
        "  -t SECONDS    time limit (default 60)\n"
        "  --request S   bytes to send; \\n, \\r and \\\\ are unescaped (default \"ping\\n\")\n"
        "  --bytes N     payload per stream in bulk mode, with an optional K, M or G\n"
        "                suffix (powers of 1024; default 1G)\n"
        "HOST must be a loopback address (127.0.0.0/8).\n",
        stderr);
}

uint64_t load_now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static int compare_u64(const void *left, const void *right) {
    uint64_t a = *(const uint64_t *)left;
    uint64_t b = *(const uint64_t *)right;
    return (a > b) - (a < b);
}

void load_print_latencies(uint64_t *latencies, long count) {
    if (count <= 0) {
        printf(" p50_ms=nan p99_ms=nan max_ms=nan");
        return;
    }
    qsort(latencies, (size_t)count, sizeof latencies[0], compare_u64);
    // Nearest-rank percentiles.
    long p50 = (count * 50 + 99) / 100 - 1;
    long p99 = (count * 99 + 99) / 100 - 1;
    printf(" p50_ms=%.3f p99_ms=%.3f max_ms=%.3f", latencies[p50] / 1e6, latencies[p99] / 1e6,
           latencies[count - 1] / 1e6);
}

void load_raise_fd_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

static int parse_address(const char *text, struct sockaddr_in *address) {
    const char *colon = strrchr(text, ':');
    if (colon == NULL || colon == text) return -1;
    char host[64];
    size_t host_length = (size_t)(colon - text);
    if (host_length >= sizeof host) return -1;
    memcpy(host, text, host_length);
    host[host_length] = '\0';

    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port < 1 || port > 65535) return -1;

    memset(address, 0, sizeof *address);
    address->sin_family = AF_INET;
    address->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &address->sin_addr) != 1) return -1;
    // Loopback only: this tool must never load another host.
    if ((ntohl(address->sin_addr.s_addr) >> 24) != 127) return -2;
    return 0;
}

// Turns \n, \r and \\ into the bytes they name. The result is heap memory
// that lives as long as the process.
static char *unescape(const char *text, size_t *length) {
    char *result = malloc(strlen(text) + 1);
    if (result == NULL) abort();
    size_t out = 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
            char escaped = *p;
            if (escaped == 'n') escaped = '\n';
            if (escaped == 'r') escaped = '\r';
            result[out++] = escaped;
        } else {
            result[out++] = *p;
        }
    }
    result[out] = '\0';
    *length = out;
    return result;
}

static int parse_bytes(const char *text, uint64_t *bytes) {
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text) return -1;
    switch (*end) {
    case 'K': value <<= 10; end++; break;
    case 'M': value <<= 20; end++; break;
    case 'G': value <<= 30; end++; break;
    default: break;
    }
    if (*end != '\0' || value == 0) return -1;
    *bytes = value;
    return 0;
}

static int parse_long(const char *text, long minimum, long maximum, long *value) {
    char *end;
    errno = 0;
    long parsed = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || parsed < minimum || parsed > maximum) return -1;
    *value = parsed;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        usage();
        return 64;
    }
    const char *mode = argv[1];
    struct load_options options = {
        .concurrency = 1,
        .count = 1000,
        .time_limit = 60,
        .bulk_bytes = 1ull << 30,
    };
    int status = parse_address(argv[2], &options.address);
    if (status == -2) {
        fprintf(stderr, "sieste-load: %s is not a loopback address; only 127.0.0.0/8 is allowed\n", argv[2]);
        return 64;
    }
    if (status != 0) {
        fprintf(stderr, "sieste-load: invalid address %s; expected IPv4-HOST:PORT such as 127.0.0.1:9000\n",
                argv[2]);
        return 64;
    }

    const char *request = NULL;
    for (int i = 3; i < argc; i++) {
        const char *option = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value == NULL) {
            fprintf(stderr, "sieste-load: option %s is unknown or its value is missing\n", option);
            return 64;
        }
        long number;
        if (strcmp(option, "-c") == 0) {
            if (parse_long(value, 1, 10000, &number) != 0) {
                fprintf(stderr, "sieste-load: invalid -c %s; expected 1 to 10000\n", value);
                return 64;
            }
            options.concurrency = (int)number;
        } else if (strcmp(option, "-n") == 0) {
            if (parse_long(value, 1, 100000000, &number) != 0) {
                fprintf(stderr, "sieste-load: invalid -n %s; expected 1 to 100000000\n", value);
                return 64;
            }
            options.count = number;
        } else if (strcmp(option, "-t") == 0) {
            char *end;
            options.time_limit = strtod(value, &end);
            if (*end != '\0' || !(options.time_limit > 0 && options.time_limit <= 3600)) {
                fprintf(stderr, "sieste-load: invalid -t %s; expected seconds above 0, at most 3600\n", value);
                return 64;
            }
        } else if (strcmp(option, "--request") == 0) {
            request = value;
        } else if (strcmp(option, "--bytes") == 0) {
            if (parse_bytes(value, &options.bulk_bytes) != 0) {
                fprintf(stderr, "sieste-load: invalid --bytes %s; expected a count such as 1048576 or 512M\n",
                        value);
                return 64;
            }
        } else {
            fprintf(stderr, "sieste-load: unknown option %s\n", option);
            usage();
            return 64;
        }
        i++;
    }

    int first_byte = strcmp(mode, "first-byte") == 0;
    if (request == NULL) request = first_byte ? "GET / HTTP/1.0\\r\\n\\r\\n" : "ping\\n";
    options.request = unescape(request, &options.request_length);
    if (!first_byte) {
        options.expect = options.request;
        options.expect_length = options.request_length;
    }

    if (strcmp(mode, "echo") == 0) return load_run_connections(&options, 1, 0);
    if (strcmp(mode, "ping") == 0) return load_run_connections(&options, 0, 0);
    if (first_byte) return load_run_connections(&options, 1, 1);
    if (strcmp(mode, "bulk") == 0) return load_run_bulk(&options);
    if (strcmp(mode, "hold") == 0) return load_run_hold(&options);
    if (strcmp(mode, "echo-server") == 0) return load_serve_echo(&options);
    if (strcmp(mode, "sink") == 0) return load_serve_sink(&options);
    fprintf(stderr, "sieste-load: unknown mode %s\n", mode);
    usage();
    return 64;
}
