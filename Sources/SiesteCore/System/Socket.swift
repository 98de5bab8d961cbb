import CSieste

/// Socket calls, each wrapped once and throwing the call, errno and address.
public enum Socket {
    /// Creates, configures, binds and (for stream kinds) listens
    /// (socket(2), setsockopt(2), bind(2), listen(2)).
    public static func listen(
        on spec: ListenSpec, kind: SocketKind, backlog: Int32,
        reuseAddress: Bool, unixMode: UInt32?, unixOwner: UInt32?, unixGroup: UInt32?
    ) throws(SystemError) -> FileDescriptor {
        let address = spec.address
        let raw = try retryingInterrupts("socket", subject: address.text) {
            CSieste.socket(address.family, kind.cValue | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        }
        let fd = FileDescriptor(raw)
        do throws(SystemError) {
            if address.isInternet {
                if reuseAddress {
                    try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, subject: address.text)
                }
                if address.family == AF_INET6 {
                    try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, spec.v6only ? 1 : 0, subject: address.text)
                }
            }
            if case .unix(let path) = address {
                // A socket file left by an earlier run would make bind fail;
                // only a socket is removed, never another kind of file.
                removeStaleSocket(path)
            }
            let result = address.withCAddress { csieste_bind(raw, $0) }
            if result < 0 { throw SystemError("bind", subject: address.text) }
            if case .unix(let path) = address {
                if let unixMode, chmod(path, unixMode) < 0 { throw SystemError("chmod", subject: path) }
                if unixOwner != nil || unixGroup != nil {
                    let owner = unixOwner ?? UInt32.max
                    let group = unixGroup ?? UInt32.max
                    if chown(path, owner, group) < 0 { throw SystemError("chown", subject: path) }
                }
            }
            if kind == .stream || kind == .seqpacket {
                if CSieste.listen(raw, backlog) < 0 { throw SystemError("listen", subject: address.text) }
            }
        } catch {
            fd.close()
            throw error
        }
        return fd
    }

    /// Sets an integer socket option (setsockopt(2)).
    public static func setOption(
        _ fd: FileDescriptor, _ level: Int32, _ name: Int32, _ value: Int32, subject: String = ""
    ) throws(SystemError) {
        if csieste_setsockopt_int(fd.rawValue, level, name, value) < 0 {
            throw SystemError("setsockopt", subject: subject)
        }
    }

    /// Accepts one connection; nil when none is pending (accept4(2)).
    /// Errors a client can cause (ECONNABORTED and the like) also return nil
    /// after being reported through `transient`.
    public static func accept(
        _ listener: FileDescriptor, nonBlocking: Bool
    ) throws(SystemError) -> (FileDescriptor, SocketAddress)? {
        var peer = csieste_addr()
        while true {
            let raw = csieste_accept(listener.rawValue, &peer, nonBlocking ? 1 : 0)
            if raw >= 0 { return (FileDescriptor(raw), SocketAddress(peer)) }
            let code = csieste_errno()
            switch code {
            case EINTR, ECONNABORTED, EPROTO:
                continue
            case EAGAIN:
                return nil
            default:
                throw SystemError("accept", errno: code)
            }
        }
    }

    /// Starts a non-blocking connect; returns true when already connected
    /// and false when in progress (connect(2)).
    public static func connect(_ address: SocketAddress) throws(SystemError) -> (FileDescriptor, Bool) {
        let raw = try retryingInterrupts("socket", subject: address.text) {
            CSieste.socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        }
        let result = address.withCAddress { csieste_connect(raw, $0) }
        if result == 0 { return (FileDescriptor(raw), true) }
        let code = csieste_errno()
        if code == EINPROGRESS || code == EINTR { return (FileDescriptor(raw), false) }
        _ = CSieste.close(raw)
        throw SystemError("connect", errno: code, subject: address.text)
    }

    /// Returns the pending error of a socket, 0 when none (SO_ERROR).
    public static func pendingError(_ fd: FileDescriptor) -> Int32 {
        var value: Int32 = 0
        if csieste_getsockopt_int(fd.rawValue, SOL_SOCKET, SO_ERROR, &value) < 0 { return csieste_errno() }
        return value
    }

    public static func localAddress(_ fd: FileDescriptor) -> SocketAddress? {
        var address = csieste_addr()
        return csieste_getsockname(fd.rawValue, &address) == 0 ? SocketAddress(address) : nil
    }

    /// Shuts down the write side; errors mean the peer is gone already.
    public static func shutdownWrite(_ fd: FileDescriptor) {
        _ = CSieste.shutdown(fd.rawValue, Int32(SHUT_WR))
    }

    private static func removeStaleSocket(_ path: String) {
        var mode: UInt32 = 0
        if csieste_stat_mode(path, &mode) == 0 && mode & UInt32(S_IFMT) == UInt32(S_IFSOCK) {
            _ = unlink(path)
        }
    }
}
