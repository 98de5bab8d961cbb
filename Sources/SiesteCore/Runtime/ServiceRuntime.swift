import CSieste

/// A process sieste started for a service, while it runs.
struct ChildInfo {
    var started: Milliseconds
    /// The peer host for per-connection children, for `per_source`.
    var peerHost: String?
}

/// One configured service at run time: its listening sockets, the
/// processes it started and, for `wait = yes` and lazy proxies, the state of
/// its long-running process. The mode-specific parts live in the
/// extensions ServiceRuntime+PerConnection, +Handoff and +Proxy.
final class ServiceRuntime {
    let config: ServiceConfig
    // Strong: Embedded Swift has no unowned references, and the daemon
    // outlives every service anyway.
    let daemon: Daemon
    var listeners: [Listener] = []
    let arguments: CStringArray
    let baseEnvironment: CStringArray

    /// Children of this service by pid.
    var children: [Int32: ChildInfo] = [:]
    var connectionsBySource: [String: Int] = [:]
    var state: ServiceState = .sleeping
    var restartGuard = RestartGuard()
    /// Whether the listeners are in the epoll set.
    var watching = false
    /// After an accept error such as EMFILE, accepting pauses until then.
    var acceptPausedUntil: Milliseconds?
    /// `cps`: connections in the current one-second window.
    var rateWindowStart: Milliseconds = 0
    var rateWindowCount = 0
    var ratePausedUntil: Milliseconds?
    /// Set by retire() and shutdown(): no new clients, no restarts.
    var retiring = false
    /// Whether the stop in progress was asked by sieste (idle, reload,
    /// shutdown), so that the exit is not counted as a failure.
    var stopRequested = false

    // Builtin stream clients.
    var builtinConnections: [ObjectIdentifier: BuiltinConnection] = [:]

    // Lazy proxy.
    var relays: [ObjectIdentifier: Relay] = [:]
    var pendingClients: [FileDescriptor] = []
    var probe: FileDescriptor?
    var probeToken: UInt64?
    var nextProbeAt: Milliseconds?
    var probeDelay: Milliseconds = 1
    var lastRelayClosed: Milliseconds = 0
    /// Next poll of the kernel's connection count for the idle timeout.
    var idleCheckAt: Milliseconds?

    var refusalLimiter = RateLimiter(burst: 10, period: 10_000)
    var stderrLimiter = RateLimiter(burst: 100, period: 1_000)
    var errorLimiter = RateLimiter(burst: 5, period: 10_000)

    init(config: ServiceConfig, daemon: Daemon) {
        self.config = config
        self.daemon = daemon
        arguments = CStringArray(config.arguments)
        var environment = config.environment
        if !environment.contains(where: { $0.hasPrefix("PATH=") }) {
            // A service started with an empty environment still needs a
            // PATH to run its helpers; this is the one systemd gives too.
            environment.append("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        }
        baseEnvironment = CStringArray(environment)
    }

    var name: String { config.id }
    var logger: Logger { daemon.logger }

    // MARK: sockets

    /// Binds every listen address, taking over a matching socket from
    /// `spare` instead of binding again. A service whose sockets cannot all
    /// be bound logs why and returns false; the others keep running.
    func bindListeners(reusing spare: [Listener]) -> Bool {
        if config.mode == .builtin && !ServiceRuntime.supportsBuiltin(config) {
            logger.error("unsupported", [("service", name), ("reason", "this builtin is not available")])
            return false
        }
        var bound: [Listener] = []
        for spec in config.listen {
            if let existing = spare.first(where: { $0.matches(spec, kind: config.socketKind) }) {
                bound.append(existing)
                continue
            }
            do throws(SystemError) {
                let fd = try Socket.listen(
                    on: spec, kind: config.socketKind, backlog: config.backlog,
                    reuseAddress: config.reuseAddress, unixMode: config.socketMode,
                    unixOwner: config.socketOwner, unixGroup: config.socketGroup)
                bound.append(Listener(fd: fd, spec: spec, kind: config.socketKind))
                logger.info("listening", [("service", name), ("address", spec.address.text)])
            } catch {
                logger.error("bind-failed", [("service", name), ("address", spec.address.text),
                                             ("call", error.call), ("error", errnoDescription(error.errno))])
                for listener in bound where !spare.contains(where: { $0 === listener }) {
                    listener.fd.close()
                }
                return false
            }
        }
        listeners = bound
        return true
    }

    /// Gives up listeners that a replacing service took over, so that
    /// retiring does not close them. Each leaves the epoll set first: its
    /// registration still names this service, and the new owner registers
    /// it again under its own.
    func release(_ taken: [Listener]) {
        for listener in listeners where taken.contains(where: { $0 === listener }) {
            if let token = listener.token {
                daemon.unregister(token, listener.fd)
                listener.token = nil
            }
        }
        listeners.removeAll { listener in taken.contains { $0 === listener } }
    }

    /// Starts serving: watches the sockets in the service's current state.
    func activate() {
        setWatching(wantsWatching)
    }

    /// Whether the listening sockets should be in the epoll set now.
    var wantsWatching: Bool {
        if retiring { return false }
        if let until = acceptPausedUntil, until > daemon.now { return false }
        switch config.mode {
        case .perConnection:
            if let limit = config.instances, children.count >= limit { return false }
            return true
        case .handoff:
            switch state {
            case .sleeping, .heldBack: return true
            case .starting, .running, .stopping: return false
            }
        case .lazyProxy:
            switch state {
            case .starting: return false
            default: return true
            }
        case .builtin:
            return builtinConnections.count < (config.instances ?? ServiceRuntime.builtinConnectionCap)
        case .redirect:
            return true
        }
    }

    func setWatching(_ wanted: Bool) {
        if wanted == watching { return }
        watching = wanted
        for listener in listeners {
            if wanted {
                if listener.token != nil { continue }
                do throws(SystemError) {
                    listener.token = try daemon.register(listener.fd, events: .readable, as: .listener(self, listener))
                } catch {
                    logger.error("watch-failed", [("service", name), ("error", error.description)])
                }
            } else if let token = listener.token {
                daemon.unregister(token, listener.fd)
                listener.token = nil
            }
        }
    }

    func listenerReady(_ listener: Listener) {
        switch config.mode {
        case .perConnection:
            if config.socketKind == .dgram { handoffReady(listener) } else { acceptConnections(from: listener) }
        case .handoff:
            handoffReady(listener)
        case .lazyProxy, .redirect:
            acceptProxyClients(from: listener)
        case .builtin:
            builtinReady(listener)
        }
    }

    // MARK: children

    /// Fills descriptor 2 of a child as `stderr` asks; returns the fd to
    /// hand over and the parent's read end when sieste logs the output.
    func stderrDescriptor(socket: Int32?) -> (child: Int32, readEnd: FileDescriptor?, writeEnd: FileDescriptor?) {
        switch config.stderr {
        case .inherit:
            return (2, nil, nil)
        case .null:
            return (daemon.devNull.rawValue, nil, nil)
        case .socket:
            return (socket ?? daemon.devNull.rawValue, nil, nil)
        case .log:
            do throws(SystemError) {
                let pipe = try makePipe(nonBlocking: false)
                return (pipe.write.rawValue, pipe.read, pipe.write)
            } catch {
                logger.error("pipe-failed", [("service", name), ("error", error.description)])
                return (daemon.devNull.rawValue, nil, nil)
            }
        }
    }

    /// Starts the server with the given descriptors; logs and returns nil
    /// when the start failed.
    func spawnServer(fds: [Int32], extraEnvironment: [String], listenPID: Bool,
                     stderrRead: FileDescriptor?, stderrWrite: FileDescriptor?, peer: String?) -> Int32? {
        guard let server = config.server else { return nil }
        var request = SpawnRequest(path: server, arguments: arguments, baseEnvironment: baseEnvironment, fds: fds)
        request.extraEnvironment = extraEnvironment
        request.credentials = config.credentials
        request.resourceLimits = config.resourceLimits
        if let original = daemon.originalFileLimit,
           !config.resourceLimits.contains(where: { $0.resource == original.resource }) {
            request.resourceLimits.append(original)
        }
        request.nice = config.nice
        request.umask = config.umask
        request.workingDirectory = config.workingDirectory
        request.setListenPID = listenPID
        let pid: Int32
        do throws(SpawnError) {
            pid = try Spawner.spawn(request)
        } catch {
            stderrWrite?.close()
            stderrRead?.close()
            logger.error("exec-failed", [("service", name), ("path", server), ("step", error.step),
                                         ("error", error.reason)])
            return nil
        }
        stderrWrite?.close()
        if let stderrRead {
            let reader = StderrReader(fd: stderrRead, service: self, pid: pid)
            do throws(SystemError) {
                reader.token = try daemon.register(stderrRead, events: .readable, as: .stderrPipe(reader))
            } catch {
                stderrRead.close()
            }
        }
        daemon.children[pid] = self
        children[pid] = ChildInfo(started: daemon.now, peerHost: peer)
        var fields = [("service", name), ("pid", String(pid))]
        if let peer { fields.append(("peer", peer)) }
        logger.info("started", fields)
        return pid
    }

    func childExited(pid: Int32, status: ExitStatus) {
        let info = children.removeValue(forKey: pid)
        let duration = info.map { daemon.now - $0.started } ?? 0
        var fields = [("service", name), ("pid", String(pid))]
        switch status {
        case .exited(let code): fields.append(("status", String(code)))
        case .signaled(let signal): fields.append(("signal", signalName(signal)))
        }
        fields.append(("duration_ms", String(duration)))
        let level: LogLevel = status.succeeded || stopRequested ? .info : .warning
        logger.log(level, "exited", fields)
        if let host = info?.peerHost, let count = connectionsBySource[host] {
            connectionsBySource[host] = count > 1 ? count - 1 : nil
        }
        switch config.mode {
        case .perConnection where config.socketKind != .dgram, .builtin, .redirect:
            setWatching(wantsWatching)
        case .perConnection, .handoff, .lazyProxy:
            processExited(pid: pid, status: status, duration: duration)
        }
    }

    func logStderrLine(pid: Int32, line: String) {
        guard let dropped = stderrLimiter.admit(now: daemon.now) else { return }
        var fields = [("service", name), ("pid", String(pid)), ("line", line)]
        if dropped > 0 { fields.append(("suppressed", String(dropped))) }
        logger.info("stderr", fields)
    }

    /// Logs a refused client, at most a few lines per period.
    func logRefusal(peer: String, reason: String) {
        guard let dropped = refusalLimiter.admit(now: daemon.now) else { return }
        var fields = [("service", name), ("peer", peer), ("reason", reason)]
        if dropped > 0 { fields.append(("suppressed", String(dropped))) }
        logger.warning("refused", fields)
    }

    func logAcceptError(_ error: SystemError) {
        guard let dropped = errorLimiter.admit(now: daemon.now) else { return }
        var fields = [("service", name), ("error", error.description)]
        if dropped > 0 { fields.append(("suppressed", String(dropped))) }
        logger.error("accept-failed", fields)
    }

    // MARK: timers

    /// The earliest time this service needs the loop to call timerFired().
    var deadline: Milliseconds? {
        var earliest = acceptPausedUntil
        func consider(_ value: Milliseconds?) {
            guard let value else { return }
            if earliest == nil || value < earliest! { earliest = value }
        }
        consider(ratePausedUntil)
        consider(stateDeadline)
        consider(nextProbeAt)
        return earliest
    }

    func timerFired() {
        let now = daemon.now
        if let until = acceptPausedUntil, until <= now {
            acceptPausedUntil = nil
            setWatching(wantsWatching)
        }
        if let until = ratePausedUntil, until <= now {
            ratePausedUntil = nil
        }
        if let at = nextProbeAt, at <= now {
            nextProbeAt = nil
            startProbe()
        }
        if let at = stateDeadline, at <= now {
            stateTimerFired()
        }
    }

    // MARK: reload and shutdown

    /// Leaves the configuration: closes the sockets not handed over and
    /// stops the long-running process; per-connection children finish.
    func retire() {
        retiring = true
        setWatching(false)
        for listener in listeners {
            logger.info("closed", [("service", name), ("address", listener.spec.address.text)])
            listener.fd.close()
        }
        listeners.removeAll()
        for client in pendingClients { client.close() }
        pendingClients.removeAll()
        for connection in builtinConnections.values { connection.close() }
        cancelProbe()
        requestStop()
    }

    /// Retires the service when the daemon stops.
    func shutdown() {
        retire()
    }

    /// Whether nothing of the service is left to wait for.
    var isFinished: Bool {
        retiring && children.isEmpty && relays.isEmpty && builtinConnections.isEmpty
    }

    /// Whether nothing of the service runs: no long-running process, no
    /// relayed or builtin connection, no client waiting for a backend.
    /// Per-connection children are counted by the daemon.
    var isQuiet: Bool {
        state.pid == nil && relays.isEmpty && builtinConnections.isEmpty && pendingClients.isEmpty
    }

    /// Whether the service still has a process sieste must stop before it
    /// exits: the long-running one, not per-connection children.
    var hasManagedProcess: Bool {
        state.pid != nil
    }

    func killRemaining() {
        if let pid = state.pid {
            logger.warning("killed", [("service", name), ("pid", String(pid)), ("reason", "stop_timeout passed")])
            sendSignal(SIGKILL, to: -pid)
            sendSignal(SIGKILL, to: pid)
        }
    }

    func logState() {
        logger.info("service-state", [("service", name), ("mode", config.mode.rawValue), ("state", state.name),
                                      ("children", String(children.count)), ("relays", String(relays.count))])
    }
}
