import CSieste

/// Sockets passed by systemd (sd_listen_fds(3) protocol), adopted instead of
/// binding when a service's address matches.
extension Daemon {
    /// Reads LISTEN_PID and LISTEN_FDS; returns the passed sockets as
    /// listeners, marked close-on-exec. Empty when the variables are
    /// missing or meant for another process.
    static func adoptPassedSockets(logger: Logger) -> [Listener] {
        guard let pidText = getenv("LISTEN_PID"), let countText = getenv("LISTEN_FDS"),
              let pid = Int32(String(cString: pidText)), pid == getpid(),
              let count = Int32(String(cString: countText)), count > 0, count < 4096 else {
            return []
        }
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_FDNAMES")
        var adopted: [Listener] = []
        for raw in 3..<(3 + count) {
            _ = csieste_set_cloexec(raw)
            let fd = FileDescriptor(raw)
            var type: Int32 = 0
            guard csieste_getsockopt_int(raw, SOL_SOCKET, SO_TYPE, &type) == 0,
                  let address = Socket.localAddress(fd) else {
                logger.warning("passed-socket-ignored", [("fd", String(raw)), ("reason", "not a socket")])
                fd.close()
                continue
            }
            let kind: SocketKind
            switch type {
            case Int32(SOCK_STREAM.rawValue): kind = .stream
            case Int32(SOCK_DGRAM.rawValue): kind = .dgram
            case Int32(SOCK_SEQPACKET.rawValue): kind = .seqpacket
            default: kind = .raw
            }
            var v6only: Int32 = 0
            if address.family == AF_INET6 {
                _ = csieste_getsockopt_int(raw, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &v6only)
            }
            try? fd.setNonBlocking(true)
            adopted.append(Listener(fd: fd, spec: ListenSpec(address: address, v6only: v6only != 0), kind: kind))
            logger.info("passed-socket", [("fd", String(raw)), ("address", address.text)])
        }
        return adopted
    }
}
