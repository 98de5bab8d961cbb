// Thin wrappers over libc for the parts Swift cannot reach directly.
#include "csieste.h"

#include <dlfcn.h>
#include <link.h>
#include <sys/mman.h>
#include <malloc.h>
#include <sys/ioctl.h>

int csieste_errno(void) { return errno; }
void csieste_set_errno(int value) { errno = value; }
int csieste_wifexited(int status) { return WIFEXITED(status); }
int csieste_wexitstatus(int status) { return WEXITSTATUS(status); }
int csieste_wifsignaled(int status) { return WIFSIGNALED(status); }
int csieste_wtermsig(int status) { return WTERMSIG(status); }

// MARK: addresses

static socklen_t to_sockaddr(const csieste_addr *address, struct sockaddr_storage *storage) {
    memset(storage, 0, sizeof(*storage));
    switch (address->family) {
    case AF_INET: {
        struct sockaddr_in *in = (struct sockaddr_in *)storage;
        in->sin_family = AF_INET;
        in->sin_port = htons(address->port);
        memcpy(&in->sin_addr, address->bytes, 4);
        return sizeof(*in);
    }
    case AF_INET6: {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)storage;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(address->port);
        in6->sin6_scope_id = address->scope_id;
        memcpy(&in6->sin6_addr, address->bytes, 16);
        return sizeof(*in6);
    }
    case AF_UNIX: {
        struct sockaddr_un *un = (struct sockaddr_un *)storage;
        un->sun_family = AF_UNIX;
        int length = address->path_len;
        if (length > (int)sizeof(un->sun_path)) length = sizeof(un->sun_path);
        memcpy(un->sun_path, address->path, (size_t)length);
        // A path gets its terminating NUL counted only when it fits; an
        // abstract name (leading NUL) is exactly path_len bytes long.
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)length);
    }
    default:
        return 0;
    }
}

static void from_sockaddr(const struct sockaddr_storage *storage, socklen_t length, csieste_addr *address) {
    memset(address, 0, sizeof(*address));
    address->family = storage->ss_family;
    switch (storage->ss_family) {
    case AF_INET: {
        const struct sockaddr_in *in = (const struct sockaddr_in *)storage;
        address->port = ntohs(in->sin_port);
        memcpy(address->bytes, &in->sin_addr, 4);
        break;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)storage;
        address->port = ntohs(in6->sin6_port);
        address->scope_id = in6->sin6_scope_id;
        memcpy(address->bytes, &in6->sin6_addr, 16);
        break;
    }
    case AF_UNIX: {
        const struct sockaddr_un *un = (const struct sockaddr_un *)storage;
        size_t offset = offsetof(struct sockaddr_un, sun_path);
        int path_length = length > offset ? (int)(length - offset) : 0;
        if (path_length > 0 && un->sun_path[0] != 0) path_length = (int)strnlen(un->sun_path, (size_t)path_length);
        if (path_length > (int)sizeof(address->path)) path_length = sizeof(address->path);
        memcpy(address->path, un->sun_path, (size_t)path_length);
        address->path_len = path_length;
        break;
    }
    default:
        break;
    }
}

int csieste_bind(int fd, const csieste_addr *address) {
    struct sockaddr_storage storage;
    socklen_t length = to_sockaddr(address, &storage);
    if (length == 0) { errno = EAFNOSUPPORT; return -1; }
    return bind(fd, (struct sockaddr *)&storage, length);
}

int csieste_connect(int fd, const csieste_addr *address) {
    struct sockaddr_storage storage;
    socklen_t length = to_sockaddr(address, &storage);
    if (length == 0) { errno = EAFNOSUPPORT; return -1; }
    return connect(fd, (struct sockaddr *)&storage, length);
}

int csieste_accept(int fd, csieste_addr *peer, int nonblocking) {
    struct sockaddr_storage storage;
    socklen_t length = sizeof(storage);
    int flags = SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0);
    int connection = accept4(fd, (struct sockaddr *)&storage, &length, flags);
    if (connection >= 0 && peer != NULL) from_sockaddr(&storage, length, peer);
    return connection;
}

int csieste_getsockname(int fd, csieste_addr *address) {
    struct sockaddr_storage storage;
    socklen_t length = sizeof(storage);
    if (getsockname(fd, (struct sockaddr *)&storage, &length) < 0) return -1;
    from_sockaddr(&storage, length, address);
    return 0;
}

int csieste_getpeername(int fd, csieste_addr *address) {
    struct sockaddr_storage storage;
    socklen_t length = sizeof(storage);
    if (getpeername(fd, (struct sockaddr *)&storage, &length) < 0) return -1;
    from_sockaddr(&storage, length, address);
    return 0;
}

int csieste_setsockopt_int(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof(value));
}

int csieste_getsockopt_int(int fd, int level, int name, int *value) {
    socklen_t length = sizeof(*value);
    return getsockopt(fd, level, name, value, &length);
}

// MARK: _GNU_SOURCE calls

int csieste_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

ssize_t csieste_splice(int fd_in, int fd_out, size_t length) {
    return splice(fd_in, NULL, fd_out, NULL, length, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
}


// MARK: epoll

int csieste_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &event);
}

int csieste_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event ready[64];
    if (max > 64) max = 64;
    int count = epoll_wait(epfd, ready, max, timeout_ms);
    for (int i = 0; i < count; i++) {
        datas[i] = ready[i].data.u64;
        events[i] = ready[i].events;
    }
    return count;
}

// MARK: signals

int csieste_signalfd_open(void) {
    sigset_t handled;
    sigemptyset(&handled);
    sigaddset(&handled, SIGCHLD);
    sigaddset(&handled, SIGHUP);
    sigaddset(&handled, SIGTERM);
    sigaddset(&handled, SIGINT);
    sigaddset(&handled, SIGUSR1);
    sigset_t blocked = handled;
    sigaddset(&blocked, SIGPIPE);
    if (sigprocmask(SIG_BLOCK, &blocked, NULL) < 0) return -1;
    return signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
}

int csieste_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t count = read(fd, &info, sizeof(info));
    if (count == (ssize_t)sizeof(info)) return (int)info.ssi_signo;
    if (count < 0 && errno == EAGAIN) return 0;
    return -1;
}

// MARK: timers

int csieste_timerfd_open(void) {
    return timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
}

int csieste_timerfd_arm(int fd, int64_t deadline_ms) {
    struct itimerspec spec;
    memset(&spec, 0, sizeof(spec));
    if (deadline_ms > 0) {
        spec.it_value.tv_sec = deadline_ms / 1000;
        spec.it_value.tv_nsec = (deadline_ms % 1000) * 1000000;
    }
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, NULL);
}

int csieste_timerfd_drain(int fd) {
    uint64_t expirations;
    return read(fd, &expirations, sizeof(expirations)) < 0 ? -1 : 0;
}

int64_t csieste_monotonic_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int64_t csieste_wallclock_seconds(void) {
    return (int64_t)time(NULL);
}

// MARK: names

int csieste_service_port(const char *name, const char *protocol) {
    struct servent *entry = getservbyname(name, protocol);
    return entry == NULL ? -1 : ntohs((uint16_t)entry->s_port);
}

int csieste_lookup_user(const char *name, uint32_t *uid, uint32_t *gid) {
    struct passwd *entry = getpwnam(name);
    if (entry == NULL) return -1;
    *uid = entry->pw_uid;
    *gid = entry->pw_gid;
    return 0;
}

int csieste_lookup_group(const char *name, uint32_t *gid) {
    struct group *entry = getgrnam(name);
    if (entry == NULL) return -1;
    *gid = entry->gr_gid;
    return 0;
}

int csieste_user_groups(const char *name, uint32_t gid, uint32_t *groups, int max) {
    int count = max;
    if (getgrouplist(name, gid, (gid_t *)groups, &count) < 0) return -1;
    return count;
}

int csieste_resolve_host(const char *host, csieste_addr *address) {
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *found = NULL;
    int status = getaddrinfo(host, NULL, &hints, &found);
    if (status != 0 || found == NULL) return -1;
    from_sockaddr((const struct sockaddr_storage *)found->ai_addr, found->ai_addrlen, address);
    freeaddrinfo(found);
    return 0;
}

// MARK: systemd

int csieste_sd_notify(const char *state) {
    static int loaded = 0;
    static int (*notify)(int, const char *) = NULL;
    if (!loaded) {
        loaded = 1;
        // Outside systemd there is nobody to notify, and loading
        // libsystemd with its dependencies would cost about 270 KiB of Pss.
        if (getenv("NOTIFY_SOCKET") == NULL) return 0;
        void *library = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        if (library != NULL) notify = (int (*)(int, const char *))dlsym(library, "sd_notify");
    }
    return notify == NULL ? 0 : notify(0, state);
}

// MARK: helpers

ssize_t csieste_write_all(int fd, const void *buffer, size_t length) {
    const char *cursor = buffer;
    size_t left = length;
    while (left > 0) {
        ssize_t written = write(fd, cursor, left);
        if (written < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        cursor += written;
        left -= (size_t)written;
    }
    return (ssize_t)length;
}

int csieste_readdir_names(const char *path, char *buffer, size_t capacity) {
    DIR *directory = opendir(path);
    if (directory == NULL) return -1;
    size_t used = 0;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        size_t length = strlen(entry->d_name) + 1;
        if (used + length > capacity) {
            closedir(directory);
            errno = ERANGE;
            return -1;
        }
        memcpy(buffer + used, entry->d_name, length);
        used += length;
    }
    closedir(directory);
    return (int)used;
}

int csieste_fcntl_getfl(int fd) { return fcntl(fd, F_GETFL); }
int csieste_set_cloexec(int fd) { return fcntl(fd, F_SETFD, FD_CLOEXEC); }
int csieste_fcntl_setfl(int fd, int flags) { return fcntl(fd, F_SETFL, flags); }
int csieste_open(const char *path, int flags, int mode) { return open(path, flags, (mode_t)mode); }

int csieste_stat_mode(const char *path, uint32_t *mode) {
    struct stat status;
    if (stat(path, &status) < 0) return -1;
    *mode = status.st_mode;
    return 0;
}

int csieste_pending_bytes(int fd) {
    int count = 0;
    return ioctl(fd, FIONREAD, &count) < 0 ? -1 : count;
}

int csieste_drain_datagram(int fd) {
    char byte;
    return (int)recv(fd, &byte, 1, MSG_DONTWAIT | MSG_TRUNC);
}

// MARK: builtin services

ssize_t csieste_recvfrom(int fd, void *buffer, size_t length, csieste_addr *sender) {
    struct sockaddr_storage storage;
    socklen_t size = sizeof(storage);
    ssize_t count = recvfrom(fd, buffer, length, MSG_DONTWAIT, (struct sockaddr *)&storage, &size);
    if (count >= 0 && sender != NULL) from_sockaddr(&storage, size, sender);
    return count;
}

ssize_t csieste_sendto(int fd, const void *buffer, size_t length, const csieste_addr *target) {
    struct sockaddr_storage storage;
    socklen_t size = to_sockaddr(target, &storage);
    if (size == 0) { errno = EAFNOSUPPORT; return -1; }
    return sendto(fd, buffer, length, MSG_DONTWAIT, (struct sockaddr *)&storage, size);
}

int csieste_daytime(char *buffer, int capacity) {
    time_t now = time(NULL);
    struct tm local;
    if (localtime_r(&now, &local) == NULL) return 0;
    size_t length = strftime(buffer, (size_t)capacity, "%a %b %e %H:%M:%S %Y\r\n", &local);
    return (int)length;
}

// MARK: process arguments

static int saved_argc;
static char **saved_argv;

// glibc passes argc, argv and envp to the functions of .init_array, which
// is how the arguments reach Swift code that has no CommandLine.
static void save_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}
__attribute__((section(".init_array"), used)) static void (*save_arguments_entry)(int, char **, char **) = save_arguments;

int csieste_argument_count(void) { return saved_argc; }
const char *csieste_argument(int index) {
    return index >= 0 && index < saved_argc ? saved_argv[index] : "";
}

void csieste_release_free_memory(void) {
    malloc_trim(0);
}

// Called for the main program only (the first object dl_iterate_phdr reports).
static int drop_read_only_segments(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    long page = sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[i];
        // Only segments never written: code and read-only data. A writable
        // segment (data, relocated RELRO) holds private changes that
        // MADV_DONTNEED would throw away.
        if (header->p_type != PT_LOAD || (header->p_flags & PF_W)) continue;
        uintptr_t start = (uintptr_t)(info->dlpi_addr + header->p_vaddr) & ~(uintptr_t)(page - 1);
        uintptr_t end = (uintptr_t)(info->dlpi_addr + header->p_vaddr + header->p_memsz);
        madvise((void *)start, end - start, MADV_DONTNEED);
    }
    return 1;
}

void csieste_drop_unused_code_pages(void) {
    dl_iterate_phdr(drop_read_only_segments, NULL);
}
