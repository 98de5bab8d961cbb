// Connection counts from the kernel through sock_diag netlink (the source
// `ss` reads), so that sieste can tell whether a service it handed a
// listening socket to still has clients without touching their sockets.
#include "csieste.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <linux/rtnetlink.h>

enum { TCP_STATE_ESTABLISHED = 1, TCP_STATE_SYN_RECV = 3, TCP_STATE_CLOSE_WAIT = 8, TCP_STATE_LISTEN = 10 };

static int open_diag_socket(void) {
    return socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
}

static int send_request(int fd, void *request, size_t length) {
    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof(kernel));
    kernel.nl_family = AF_NETLINK;
    struct iovec vector = { request, length };
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    message.msg_name = &kernel;
    message.msg_namelen = sizeof(kernel);
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    return sendmsg(fd, &message, 0) < 0 ? -1 : 0;
}

static int local_matches(const struct inet_diag_msg *entry, const csieste_addr *local) {
    if (ntohs(entry->id.idiag_sport) != local->port) return 0;
    static const uint8_t zero[16] = {0};
    int length = local->family == AF_INET ? 4 : 16;
    if (memcmp(local->bytes, zero, (size_t)length) == 0) return 1;
    if (entry->idiag_family == local->family) return memcmp(entry->id.idiag_src, local->bytes, (size_t)length) == 0;
    return 0;
}

typedef void (*diag_visitor)(const struct nlmsghdr *header, void *context);

// Sends one dump request and calls `visit` for every message of the
// answer; returns 0 at NLMSG_DONE, or -1 with errno set.
static int run_dump(void *request, size_t length, diag_visitor visit, void *context) {
    int fd = open_diag_socket();
    if (fd < 0) return -1;
    if (send_request(fd, request, length) < 0) {
        close(fd);
        return -1;
    }
    long buffer[8192 / sizeof(long)];
    for (;;) {
        ssize_t count = recv(fd, buffer, sizeof(buffer), 0);
        if (count < 0) {
            if (errno == EINTR) continue;
            close(fd);
            return -1;
        }
        struct nlmsghdr *header = (struct nlmsghdr *)buffer;
        for (; NLMSG_OK(header, (size_t)count); header = NLMSG_NEXT(header, count)) {
            if (header->nlmsg_type == NLMSG_DONE) {
                close(fd);
                return 0;
            }
            if (header->nlmsg_type == NLMSG_ERROR) {
                close(fd);
                errno = EPROTO;
                return -1;
            }
            visit(header, context);
        }
    }
}

struct tcp_count {
    const csieste_addr *local;
    int established;
    int queue;
};

static void visit_tcp(const struct nlmsghdr *header, void *context) {
    struct tcp_count *count = context;
    const struct inet_diag_msg *entry = NLMSG_DATA(header);
    if (!local_matches(entry, count->local)) return;
    if (entry->idiag_state == TCP_STATE_LISTEN) {
        count->queue += (int)entry->idiag_rqueue;
    } else {
        count->established++;
    }
}

int csieste_count_tcp_connections(const csieste_addr *local, int *accept_queue) {
    // Connections that still occupy the service: established, half-open
    // on the way in, and closed by the client but not yet by the service.
    // TIME_WAIT and FIN_WAIT belong to the kernel alone once the service
    // has closed its end.
    struct {
        struct nlmsghdr header;
        struct inet_diag_req_v2 body;
    } request;
    memset(&request, 0, sizeof(request));
    request.header.nlmsg_len = sizeof(request);
    request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.body.sdiag_family = (uint8_t)local->family;
    request.body.sdiag_protocol = IPPROTO_TCP;
    request.body.idiag_states = (1u << TCP_STATE_ESTABLISHED) | (1u << TCP_STATE_SYN_RECV)
        | (1u << TCP_STATE_CLOSE_WAIT) | (1u << TCP_STATE_LISTEN);
    struct tcp_count count = { local, 0, 0 };
    if (run_dump(&request, sizeof(request), visit_tcp, &count) < 0) return -1;
    if (accept_queue != NULL) *accept_queue = count.queue;
    return count.established;
}

// The server side of an accepted Unix connection carries the listener's
// name; a path name may come with its terminating NUL.
static int same_name(const char *name, int name_length, const csieste_addr *own) {
    if (name == NULL || own->path_len <= 0 || name_length < own->path_len) return 0;
    if (memcmp(name, own->path, (size_t)own->path_len) != 0) return 0;
    return name_length == own->path_len || name[own->path_len] == 0;
}

struct unix_count {
    ino_t inode;
    csieste_addr own;
    int established;
    int queue;
};

static void visit_unix(const struct nlmsghdr *header, void *context) {
    struct unix_count *count = context;
    const struct unix_diag_msg *entry = NLMSG_DATA(header);
    int attributes_length = (int)(header->nlmsg_len - NLMSG_LENGTH(sizeof(*entry)));
    struct rtattr *attribute = (struct rtattr *)(entry + 1);
    const char *name = NULL;
    int name_length = 0;
    uint32_t rqueue = 0;
    for (; RTA_OK(attribute, attributes_length); attribute = RTA_NEXT(attribute, attributes_length)) {
        if (attribute->rta_type == UNIX_DIAG_NAME) {
            name = RTA_DATA(attribute);
            name_length = (int)RTA_PAYLOAD(attribute);
        } else if (attribute->rta_type == UNIX_DIAG_RQLEN) {
            rqueue = ((struct unix_diag_rqlen *)RTA_DATA(attribute))->udiag_rqueue;
        }
    }
    if (entry->udiag_ino == count->inode) {
        count->queue += (int)rqueue;
    } else if (entry->udiag_state == TCP_STATE_ESTABLISHED && same_name(name, name_length, &count->own)) {
        count->established++;
    }
}

int csieste_count_unix_connections(int listener_fd, int *accept_queue) {
    struct stat status;
    if (fstat(listener_fd, &status) < 0) return -1;
    struct unix_count count;
    memset(&count, 0, sizeof(count));
    count.inode = status.st_ino;
    if (csieste_getsockname(listener_fd, &count.own) < 0) return -1;

    struct {
        struct nlmsghdr header;
        struct unix_diag_req body;
    } request;
    memset(&request, 0, sizeof(request));
    request.header.nlmsg_len = sizeof(request);
    request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.body.sdiag_family = AF_UNIX;
    request.body.udiag_states = (1u << TCP_STATE_ESTABLISHED) | (1u << TCP_STATE_LISTEN);
    request.body.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN;
    if (run_dump(&request, sizeof(request), visit_unix, &count) < 0) return -1;
    if (accept_queue != NULL) *accept_queue = count.queue;
    return count.established;
}
