import CSieste

/// `wait = no`: one process per accepted connection.
extension ServiceRuntime {
    /// Whether `acceptBatch` goes on with the next pending client.
    enum AcceptDecision {
        case next, stop
    }

    /// Accepts pending clients, at most a batch per wakeup so that one busy
    /// service does not starve the others, and passes each with its peer
    /// (an IPv4-mapped address as IPv4) to `handle`. With `admitting`, a
    /// client that only_from, no_access, per_source or cps rejects is
    /// refused here. An accept error pauses accepting for a moment.
    func acceptBatch(
        from listener: Listener, nonBlocking: Bool, admitting: Bool = true,
        _ handle: (FileDescriptor, SocketAddress) -> AcceptDecision
    ) {
        for _ in 0..<32 {
            let accepted: (FileDescriptor, SocketAddress)?
            do throws(SystemError) {
                accepted = try Socket.accept(listener.fd, nonBlocking: nonBlocking)
            } catch {
                pauseAccepting(after: error)
                return
            }
            guard let (client, rawPeer) = accepted else { return }
            let peer = rawPeer.unmapped
            logger.debug("accepted", [("service", name), ("peer", peer.text)])
            if admitting, let reason = admissionRefusal(peer: peer) {
                refuse(client, peer: peer, reason: reason)
                continue
            }
            if handle(client, peer) == .stop { return }
        }
    }

    /// Accepts connections and starts one process for each. At `instances`
    /// the listener leaves the epoll set, so clients wait in the backlog
    /// until an instance ends.
    func acceptConnections(from listener: Listener) {
        acceptBatch(from: listener, nonBlocking: false) { connection, peer in
            serveConnection(connection, peer: peer, listener: listener)
            if let limit = config.instances, children.count >= limit {
                setWatching(false)
                return .stop
            }
            return .next
        }
    }

    /// Stops accepting for a moment after EMFILE and the like, which would
    /// otherwise wake the loop again at once.
    func pauseAccepting(after error: SystemError) {
        logAcceptError(error)
        acceptPausedUntil = daemon.now + 100
        setWatching(false)
    }

    /// Returns why a client may not be served now, or nil when it may:
    /// `only_from`, `no_access`, `per_source` and `cps`, in that order.
    func admissionRefusal(peer: SocketAddress) -> String? {
        if config.rejectsAllPeers { return "only_from is empty" }
        if peer.isInternet {
            if !config.onlyFrom.isEmpty && !config.onlyFrom.contains(where: { $0.contains(peer) }) {
                return "not in only_from"
            }
            if config.noAccess.contains(where: { $0.contains(peer) }) {
                return "in no_access"
            }
            if let limit = config.perSource, (connectionsBySource[peer.hostText] ?? 0) >= limit {
                return "per_source limit reached"
            }
        }
        if let rate = config.connectionRate {
            let now = daemon.now
            if let until = ratePausedUntil, until > now { return "cps pause" }
            if now - rateWindowStart >= 1_000 {
                rateWindowStart = now
                rateWindowCount = 0
            }
            rateWindowCount += 1
            if rateWindowCount > rate.connectionsPerSecond {
                ratePausedUntil = now + rate.pause
                logger.warning("cps-pause", [("service", name), ("pause_ms", String(rate.pause))])
                return "cps limit reached"
            }
        }
        return nil
    }

    /// Closes a client that may not be served, after `banner_fail`.
    func refuse(_ connection: FileDescriptor, peer: SocketAddress, reason: String) {
        if let banner = config.bannerFail, let bytes = try? readWholeFile(banner, limit: 4096) {
            try? connection.setNonBlocking(true)
            _ = bytes.withUnsafeBytes { raw in CSieste.write(connection.rawValue, raw.baseAddress, raw.count) }
        }
        connection.close()
        logRefusal(peer: peer.text, reason: reason)
    }

    private func serveConnection(_ connection: FileDescriptor, peer: SocketAddress, listener: Listener) {
        if config.noDelay && peer.isInternet {
            try? Socket.setOption(connection, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        }
        if config.keepAlive && peer.isInternet {
            try? Socket.setOption(connection, SOL_SOCKET, SO_KEEPALIVE, 1)
        }

        var environment = peerEnvironment(peer: peer, connection: connection, listener: listener)
        let error = stderrDescriptor(socket: connection.rawValue)
        let fds: [Int32]
        switch config.handoff {
        case .stdio:
            fds = [connection.rawValue, connection.rawValue, error.child]
        case .listenFDs:
            fds = [daemon.devNull.rawValue, error.child, error.child, connection.rawValue]
            environment.append("LISTEN_FDS=1")
            environment.append("LISTEN_FDNAMES=" + (config.fdNames.first ?? "connection"))
        }
        let host = peer.isInternet ? peer.hostText : nil
        let pid = spawnServer(fds: fds, extraEnvironment: environment, listenPID: config.handoff == .listenFDs,
                              stderrRead: error.readEnd, stderrWrite: error.writeEnd, peer: peer.text)
        connection.close()
        if let pid, let host {
            connectionsBySource[host, default: 0] += 1
            children[pid]?.peerHost = host
        }
    }

    /// The peer in the three conventions services read: systemd's
    /// REMOTE_ADDR and REMOTE_PORT, xinetd's REMOTE_HOST, and UCSPI's
    /// PROTO and TCP* variables.
    func peerEnvironment(peer: SocketAddress, connection: FileDescriptor, listener: Listener) -> [String] {
        guard let port = peer.port else {
            return ["PROTO=UNIX"]
        }
        let host = peer.hostText
        var local = listener.spec.address
        if local.isWildcard, let actual = Socket.localAddress(connection) {
            local = actual.unmapped
        }
        // UCSPI's IPv6 variant names these TCP6*; sieste keeps the TCP*
        // names for both families so one script reads every peer.
        return [
            "REMOTE_ADDR=" + host,
            "REMOTE_PORT=" + String(port),
            "REMOTE_HOST=" + host,
            "PROTO=TCP",
            "TCPREMOTEIP=" + host,
            "TCPREMOTEPORT=" + String(port),
            "TCPLOCALIP=" + local.hostText,
            "TCPLOCALPORT=" + String(local.port ?? 0),
        ]
    }
}

extension SocketAddress {
    /// Whether this is 0.0.0.0 or ::, the address of "every interface".
    var isWildcard: Bool {
        switch self {
        case .ipv4(let bytes, _): return bytes == 0
        case .ipv6(let high, let low, _): return high == 0 && low == 0
        case .unix, .abstract: return false
        }
    }
}
