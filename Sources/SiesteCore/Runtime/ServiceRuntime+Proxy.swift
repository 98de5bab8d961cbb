import CSieste

/// `redirect`: copy bytes between each client and the backend address; with
/// `server`, start the backend on the first client and stop it when idle.
extension ServiceRuntime {
    func acceptProxyClients(from listener: Listener) {
        acceptBatch(from: listener, nonBlocking: true) { client, peer in
            if config.noDelay && peer.isInternet {
                try? Socket.setOption(client, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            }
            if config.mode == .redirect {
                openRelay(client: client)
                return .next
            }
            switch state {
            case .running:
                openRelay(client: client)
                return .next
            case .sleeping:
                pendingClients.append(client)
                startBackend()
                return .stop
            case .starting, .stopping:
                // Served once the backend is up again; later clients wait
                // in the kernel's backlog meanwhile.
                pendingClients.append(client)
                setWatching(false)
                return .stop
            case .heldBack:
                client.close()
                logRefusal(peer: peer.text, reason: "backend held back after repeated start failures")
                return .next
            }
        }
    }

    /// Starts the backend and polls its address until it accepts.
    func startBackend() {
        let error = stderrDescriptor(socket: nil)
        let fds = [daemon.devNull.rawValue, error.child, error.child]
        guard let pid = spawnServer(fds: fds, extraEnvironment: [], listenPID: false,
                                    stderrRead: error.readEnd, stderrWrite: error.writeEnd, peer: nil) else {
            closePendingClients(reason: "backend could not be started")
            enterRestState(failed: true, duration: 0)
            return
        }
        state = .starting(pid: pid, since: daemon.now)
        setWatching(false)
        probeDelay = 1
        startProbe()
    }

    /// Tries one connection to the backend address.
    func startProbe() {
        guard case .starting = state, let target = config.redirect else { return }
        do throws(SystemError) {
            let (fd, connected) = try Socket.connect(target)
            if connected {
                backendReady(firstConnection: fd)
                return
            }
            probe = fd
            probeToken = try daemon.register(fd, events: .writable, as: .backendProbe(self))
        } catch {
            cancelProbe()
            scheduleProbe()
        }
    }

    /// Checks a probe whose non-blocking connect has finished, with or
    /// without success.
    func probeReady(events: IOEvents) {
        guard let fd = probe else { return }
        if let token = probeToken { daemon.unregister(token, fd) }
        probe = nil
        probeToken = nil
        if Socket.pendingError(fd) == 0 && Socket.isConnected(fd) {
            backendReady(firstConnection: fd)
        } else {
            fd.close()
            scheduleProbe()
        }
    }

    /// Retries with a delay that doubles from 1 ms up to 200 ms: most
    /// daemons accept within a few milliseconds, and a probe is one connect.
    func scheduleProbe() {
        nextProbeAt = daemon.now + probeDelay
        probeDelay = min(probeDelay * 2, 200)
    }

    func cancelProbe() {
        if let fd = probe {
            if let token = probeToken { daemon.unregister(token, fd) }
            fd.close()
        }
        probe = nil
        probeToken = nil
        nextProbeAt = nil
    }

    private func backendReady(firstConnection: FileDescriptor) {
        guard case .starting(let pid, let since) = state else {
            firstConnection.close()
            return
        }
        nextProbeAt = nil
        state = .running(pid: pid, since: since, lastActive: daemon.now)
        logger.info("backend-ready", [("service", name), ("pid", String(pid)), ("wait_ms", String(daemon.now - since))])
        var clients = pendingClients
        pendingClients.removeAll()
        if !clients.isEmpty {
            startRelay(client: clients.removeFirst(), backend: firstConnection, connected: true)
        } else {
            firstConnection.close()
        }
        for client in clients { openRelay(client: client) }
        lastRelayClosed = daemon.now
        setWatching(wantsWatching)
    }

    func backendStartTimedOut() {
        cancelProbe()
        logger.error("backend-timeout", [("service", name), ("address", config.redirect?.text ?? ""),
                                          ("start_timeout_ms", String(config.startTimeout))])
        closePendingClients(reason: "backend did not accept within start_timeout")
        // The exit that follows counts as a failure of the start.
        if let pid = state.pid {
            sendSignal(config.stopSignal, to: pid)
            state = .stopping(pid: pid, since: daemon.now, killAt: daemon.now + config.stopTimeout)
        }
    }

    /// Stops waiting for a backend whose process has exited.
    func backendGone() {
        cancelProbe()
        if case .starting = state {
            closePendingClients(reason: "backend exited before accepting")
        }
    }

    func closePendingClients(reason: String) {
        for client in pendingClients {
            client.close()
            logRefusal(peer: "pending", reason: reason)
        }
        pendingClients.removeAll()
    }

    /// Connects to the backend for one client and copies in both ways.
    func openRelay(client: FileDescriptor) {
        guard let target = config.redirect else {
            client.close()
            return
        }
        do throws(SystemError) {
            let (backend, connected) = try Socket.connect(target)
            startRelay(client: client, backend: backend, connected: connected)
        } catch {
            client.close()
            logRefusal(peer: target.text, reason: "backend connect failed: " + errnoDescription(error.errno))
        }
    }

    private func startRelay(client: FileDescriptor, backend: FileDescriptor, connected: Bool) {
        do throws(SystemError) {
            let relay = try Relay(service: self, client: client, backend: backend, connected: connected)
            relays[ObjectIdentifier(relay)] = relay
            relay.pump()
        } catch {
            client.close()
            backend.close()
            logger.error("relay-failed", [("service", name), ("error", error.description)])
        }
    }

    func relayClosed(_ relay: Relay) {
        relays[ObjectIdentifier(relay)] = nil
        if relays.isEmpty { lastRelayClosed = daemon.now }
    }
}

extension Socket {
    /// Whether a socket has a peer (getpeername(2)), which tells a finished
    /// non-blocking connect from one still in progress.
    public static func isConnected(_ fd: FileDescriptor) -> Bool {
        var address = csieste_addr()
        return csieste_getpeername(fd.rawValue, &address) == 0
    }
}
