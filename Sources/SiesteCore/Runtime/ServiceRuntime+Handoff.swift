import CSieste

/// `wait = yes`: one process that receives the listening sockets, started
/// on the first readiness and, with `idle_timeout`, stopped when idle.
/// Also the state machine shared with the lazy proxy's backend.
extension ServiceRuntime {
    func handoffReady(_ listener: Listener) {
        switch state {
        case .sleeping:
            startHandoff()
        case .heldBack:
            turnAwayWhileHeldBack(listener)
        case .starting, .running, .stopping:
            // The process owns the sockets now; the next exit watches again.
            setWatching(false)
        }
    }

    private func startHandoff() {
        let first = listeners[0].fd.rawValue
        let error = stderrDescriptor(socket: first)
        var fds: [Int32]
        var environment: [String] = []
        switch config.handoff {
        case .stdio:
            fds = [first, first, error.child]
        case .listenFDs:
            fds = [daemon.devNull.rawValue, error.child, error.child]
            fds.append(contentsOf: listeners.map { $0.fd.rawValue })
            let names = config.fdNames.isEmpty ? listeners.map { _ in config.id } : config.fdNames
            environment.append("LISTEN_FDS=" + String(listeners.count))
            environment.append("LISTEN_FDNAMES=" + names.joined(separator: ":"))
        }
        let pid = spawnServer(fds: fds, extraEnvironment: environment, listenPID: config.handoff == .listenFDs,
                              stderrRead: error.readEnd, stderrWrite: error.writeEnd, peer: nil)
        guard let pid else {
            startFailed()
            return
        }
        state = .running(pid: pid, since: daemon.now, lastActive: daemon.now)
        scheduleIdleCheck()
        setWatching(false)
    }

    /// Counts a start that failed before exec as a quick failure. A datagram
    /// that woke the service is dropped, or the loop would spin on it.
    func startFailed() {
        if config.socketKind == .dgram {
            for listener in listeners { _ = csieste_drain_datagram(listener.fd.rawValue) }
        }
        enterRestState(failed: true, duration: 0)
    }

    /// While held back, waiting stream clients are closed and datagrams
    /// dropped, each logged, so that no client waits for nothing.
    func turnAwayWhileHeldBack(_ listener: Listener) {
        if config.socketKind == .dgram {
            _ = csieste_drain_datagram(listener.fd.rawValue)
            logRefusal(peer: listener.spec.address.text, reason: "held back after repeated start failures")
            return
        }
        acceptBatch(from: listener, nonBlocking: true, admitting: false) { client, peer in
            client.close()
            logRefusal(peer: peer.text, reason: "held back after repeated start failures")
            return .next
        }
    }

    /// Handles the exit of the long-running process of this service.
    func processExited(pid: Int32, status: ExitStatus, duration: Milliseconds) {
        guard state.pid == pid else { return }
        let failed = !status.succeeded && !stopRequested
        if config.mode == .lazyProxy { backendGone() }
        if retiring {
            state = .sleeping
            stopRequested = false
            return
        }
        enterRestState(failed: failed, duration: duration)
    }

    /// Goes to sleeping, or held back after repeated quick failures, and
    /// watches the sockets again: a client already waiting starts the
    /// service at once.
    func enterRestState(failed: Bool, duration: Milliseconds) {
        stopRequested = false
        idleCheckAt = nil
        if let delay = restartGuard.record(failed: failed, ranFor: duration) {
            state = .heldBack(until: daemon.now + delay)
            logger.warning("held-back", [("service", name), ("delay_ms", String(delay)),
                                         ("failures", String(restartGuard.quickFailures)),
                                         ("reason", "exited with failure right after start")])
        } else {
            state = .sleeping
        }
        setWatching(wantsWatching)
        if config.mode == .lazyProxy, case .sleeping = state, !pendingClients.isEmpty {
            startBackend()
        }
    }

    /// Sends the stop signal; SIGKILL follows after `stop_timeout`.
    func requestStop() {
        guard let pid = state.pid else { return }
        if case .stopping = state { return }
        stopRequested = true
        sendSignal(config.stopSignal, to: pid)
        state = .stopping(pid: pid, since: daemon.now, killAt: daemon.now + config.stopTimeout)
    }

    // MARK: timers of the state machine

    var stateDeadline: Milliseconds? {
        switch state {
        case .sleeping:
            return nil
        case .starting(_, let since):
            return since + config.startTimeout
        case .running:
            if config.mode == .lazyProxy {
                guard let idle = config.idleTimeout, relays.isEmpty, pendingClients.isEmpty else { return nil }
                return lastRelayClosed + idle
            }
            return idleCheckAt
        case .stopping(_, _, let killAt):
            return killAt
        case .heldBack(let until):
            return until
        }
    }

    func stateTimerFired() {
        let now = daemon.now
        switch state {
        case .sleeping:
            break
        case .heldBack:
            state = .sleeping
            logger.info("released", [("service", name)])
            setWatching(wantsWatching)
        case .stopping(let pid, let since, _):
            logger.warning("killed", [("service", name), ("pid", String(pid)), ("reason", "stop_timeout passed")])
            sendSignal(SIGKILL, to: -pid)
            sendSignal(SIGKILL, to: pid)
            // The exit follows at once; this only keeps the timer from
            // firing again meanwhile.
            state = .stopping(pid: pid, since: since, killAt: now + 60_000)
        case .starting:
            backendStartTimedOut()
        case .running(let pid, let since, var lastActive):
            guard let idle = config.idleTimeout else { return }
            if config.mode == .lazyProxy {
                if relays.isEmpty && pendingClients.isEmpty && now - lastRelayClosed >= idle {
                    logger.info("idle-stop", [("service", name), ("pid", String(pid))])
                    requestStop()
                }
                return
            }
            let busy = hasOpenConnections()
            if busy { lastActive = now }
            logger.debug("idle-check", [("service", name), ("busy", busy ? "yes" : "no"),
                                        ("idle_ms", String(now - lastActive))])
            if now - lastActive >= idle {
                logger.info("idle-stop", [("service", name), ("pid", String(pid))])
                idleCheckAt = nil
                requestStop()
                return
            }
            state = .running(pid: pid, since: since, lastActive: lastActive)
            scheduleIdleCheck()
        }
    }

    /// Polls at a quarter of the idle timeout, between 250 ms and 5 s.
    func scheduleIdleCheck() {
        guard let idle = config.idleTimeout, config.mode == .handoff else {
            idleCheckAt = nil
            return
        }
        idleCheckAt = daemon.now + min(max(idle / 4, 250), 5_000)
    }

    /// Whether the service still has clients, from the kernel's view of
    /// its sockets (sock_diag): connections on its listening addresses,
    /// clients in the accept queue, or datagrams waiting. When the kernel
    /// cannot be queried, the service counts as busy, so that no client is
    /// cut off.
    func hasOpenConnections() -> Bool {
        for listener in listeners {
            var queue: Int32 = 0
            let count: Int32
            switch listener.kind {
            case .dgram:
                count = csieste_pending_bytes(listener.fd.rawValue)
            case .stream, .seqpacket, .raw:
                if listener.spec.address.isInternet {
                    count = listener.spec.address.withCAddress { csieste_count_tcp_connections($0, &queue) }
                } else {
                    count = csieste_count_unix_connections(listener.fd.rawValue, &queue)
                }
            }
            if count < 0 {
                logger.debug("diag-failed", [("service", name), ("error", errnoDescription(csieste_errno()))])
                return true
            }
            if count > 0 || queue > 0 { return true }
        }
        return false
    }
}
