import CSieste

/// The control socket that `sieste status` reads: a Unix stream socket on
/// which the daemon writes its state and closes.
extension Daemon {
    /// Binds the control socket, mode 0600. A path held by another running
    /// sieste is left alone: this daemon then runs without one.
    func openControlSocket(at path: String) {
        let address = SocketAddress.unix(path)
        if let (probe, connected) = try? Socket.connect(address) {
            var live = connected
            if !live {
                var pollEntry = pollfd(fd: probe.rawValue, events: Int16(POLLOUT), revents: 0)
                live = poll(&pollEntry, 1, 200) > 0 && Socket.pendingError(probe) == 0 && Socket.isConnected(probe)
            }
            probe.close()
            if live {
                logger.warning("control-unavailable", [("path", path), ("reason", "another sieste is listening there")])
                return
            }
        }
        do throws(SystemError) {
            let fd = try Socket.listen(on: ListenSpec(address: address), kind: .stream, backlog: 16,
                                       reuseAddress: false, unixMode: 0o600, unixOwner: nil, unixGroup: nil)
            controlToken = try register(fd, events: .readable, as: .control)
            control = fd
            controlPath = path
        } catch {
            logger.warning("control-unavailable", [("path", path), ("reason", error.description)])
        }
    }

    func closeControlSocket() {
        guard let fd = control, let token = controlToken else { return }
        unregister(token, fd)
        fd.close()
        if let path = controlPath { _ = unlink(path) }
        control = nil
        controlToken = nil
    }

    /// Writes the state to each waiting `sieste status` and closes the
    /// connection.
    func answerStatusRequests() {
        guard let fd = control else { return }
        for _ in 0..<8 {
            guard let (client, _) = try? Socket.accept(fd, nonBlocking: true) else { return }
            var text = "sieste pid=" + String(getpid()) + " services=" + String(services.count)
                + " children=" + String(children.count) + " retired=" + String(retired.count) + "\n"
            for service in services { text += service.statusLine() + "\n" }
            // One write: a Unix socket buffer holds far more than the state
            // of a few hundred services, and a slow reader gets a cut reply
            // rather than blocking the loop.
            var copy = text
            copy.withUTF8 { bytes in _ = CSieste.write(client.rawValue, bytes.baseAddress, bytes.count) }
            client.close()
        }
    }
}

extension ServiceRuntime {
    /// `NAME MODE STATE key=value ...` for `sieste status`.
    func statusLine() -> String {
        // A service with no long-running process is `serving` while it has
        // children, relays or builtin clients.
        var stateName = state.name
        if case .sleeping = state, !(children.isEmpty && relays.isEmpty && builtinConnections.isEmpty) {
            stateName = "serving"
        }
        var line = name + " " + config.mode.rawValue + " " + stateName
        if let pid = state.pid { line += " pid=" + String(pid) }
        line += " children=" + String(children.count)
        if config.mode == .lazyProxy || config.mode == .redirect { line += " relays=" + String(relays.count) }
        line += " listen=" + (listeners.isEmpty ? "-" : listeners.map { $0.spec.address.text }.joined(separator: ","))
        if !watching { line += " watching=no" }
        return line
    }
}

/// Connects to a running sieste's control socket and returns its state.
public func readDaemonStatus(path: String) throws(SystemError) -> String {
    let address = SocketAddress.unix(path)
    let raw = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    if raw < 0 { throw SystemError("socket", subject: path) }
    let fd = FileDescriptor(raw)
    defer { fd.close() }
    if address.withCAddress({ csieste_connect(raw, $0) }) < 0 { throw SystemError("connect", subject: path) }
    // A state larger than 1 MiB is cut there rather than refused.
    let bytes = try fd.readToEnd(limit: 1 << 20, subject: path)
    return String(decoding: bytes, as: UTF8.self)
}
