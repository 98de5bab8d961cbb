import CSieste

/// The owner of an epoll registration, looked up by its token.
enum Watch {
    case signals
    case timer
    case listener(ServiceRuntime, Listener)
    case stderrPipe(StderrReader)
    case relay(Relay)
    case backendProbe(ServiceRuntime)
    case builtin(BuiltinConnection)
    case control
}

/// The daemon: one epoll loop that owns every descriptor, the services of
/// the current configuration, and the children they started.
public final class Daemon {
    public let logger: Logger
    let epoll: Epoll
    let signals: SignalReader
    let timer: DeadlineTimer
    let devNull: FileDescriptor
    let configurationPaths: [String]
    let format: ConfigFormat
    let loader: ConfigurationLoader

    var services: [ServiceRuntime] = []
    /// Services dropped or replaced by a reload that still have children
    /// or connections; they stop watching and finish what they have.
    var retired: [ServiceRuntime] = []
    var watches: [UInt64: Watch] = [:]
    private var nextToken: UInt64 = 1
    var children: [Int32: ServiceRuntime] = [:]
    /// The loop's notion of now, read once per wakeup.
    var now: Milliseconds = monotonicNow()
    var stopRequested = false
    /// Set after start-up and each reload: the next time the loop is about
    /// to block, it gives back the memory that loading the configuration
    /// used (see shrinkMemory).
    var shrinkBeforeNextWait = true
    /// Since when nothing has run: no child, no relay, no builtin client.
    var quietSince: Milliseconds?
    /// Whether memory was given back since the daemon last became quiet.
    var shrunkWhileQuiet = true
    /// How long the daemon must stay quiet before it gives back the memory
    /// that serving used; long enough that a busy service never pays for
    /// the pages coming back between two clients.
    static let quietPeriod: Milliseconds = 5_000
    private var stopDeadline: Milliseconds?
    /// The socket `sieste status` connects to, when one could be bound.
    var control: FileDescriptor?
    var controlToken: UInt64?
    var controlPath: String?
    /// The soft RLIMIT_NOFILE sieste started with, restored in children.
    let originalFileLimit: ResourceLimit?

    public init(
        logger: Logger, configurationPaths: [String], format: ConfigFormat, loader: ConfigurationLoader
    ) throws(SystemError) {
        self.logger = logger
        self.configurationPaths = configurationPaths
        self.format = format
        self.loader = loader
        epoll = try Epoll()
        // Blocked first, then reset: a signal that arrives in between waits
        // in the signalfd instead of acting with its default disposition.
        signals = try SignalReader()
        csieste_reset_signal_dispositions()
        timer = try DeadlineTimer()
        devNull = try openFile("/dev/null", flags: O_RDWR)
        originalFileLimit = Daemon.raiseFileLimit()
        _ = try register(signals.fd, events: .readable, as: .signals)
        _ = try register(timer.fd, events: .readable, as: .timer)
    }

    /// Raises the soft descriptor limit to the hard one, since each proxied
    /// connection holds six descriptors; returns the old limit for children.
    private static func raiseFileLimit() -> ResourceLimit? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        let original = ResourceLimit(resource: Int32(RLIMIT_NOFILE.rawValue), soft: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max))
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised)
        }
        return original
    }

    // MARK: registrations

    func register(_ fd: FileDescriptor, events: IOEvents, as watch: Watch) throws(SystemError) -> UInt64 {
        let token = nextToken
        nextToken += 1
        try epoll.add(fd, events: events, token: token)
        watches[token] = watch
        return token
    }

    func unregister(_ token: UInt64, _ fd: FileDescriptor) {
        epoll.remove(fd)
        watches[token] = nil
    }

    // MARK: start

    /// Binds every service of the configuration; returns how many services
    /// have at least one socket.
    public func start(_ configuration: Configuration) -> Int {
        for warning in configuration.warnings {
            logger.warning("config", [("message", warning.text)])
        }
        var passed = Daemon.adoptPassedSockets(logger: logger)
        var bound = 0
        for config in configuration.services {
            let service = ServiceRuntime(config: config, daemon: self)
            if service.bindListeners(reusing: passed) {
                passed.removeAll { listener in service.listeners.contains { $0 === listener } }
                services.append(service)
                bound += 1
            }
        }
        for listener in passed {
            logger.warning("passed-socket-unused", [("address", listener.spec.address.text),
                                                    ("reason", "no service listens on this address")])
            listener.fd.close()
        }
        for service in services { service.activate() }
        return bound
    }

    // MARK: loop

    /// Runs until SIGTERM or SIGINT has stopped every service.
    public func run() throws(SystemError) {
        var tokens = [UInt64](repeating: 0, count: 64)
        var events = [UInt32](repeating: 0, count: 64)
        while true {
            if stopRequested && finishedStopping() { break }
            armTimer()
            if shrinkBeforeNextWait {
                shrinkBeforeNextWait = false
                shrinkMemory()
            }
            let count = try tokens.withUnsafeMutableBufferPointer { (tokenBuffer) throws(SystemError) -> Int in
                try events.withUnsafeMutableBufferPointer { (eventBuffer) throws(SystemError) -> Int in
                    try epoll.wait(tokens: tokenBuffer.baseAddress!, events: eventBuffer.baseAddress!, capacity: 64, timeout: -1)
                }
            }
            now = monotonicNow()
            for index in 0..<count {
                guard let watch = watches[tokens[index]] else { continue }
                dispatch(watch, token: tokens[index], events: IOEvents(rawValue: events[index]))
            }
            noteQuiet()
        }
        logger.info("stopped")
    }

    /// Returns the heap's free pages to the kernel and unmaps the code
    /// pages that start-up or a reload ran. Done right before blocking, so
    /// the idle daemon keeps resident only what the next event maps back.
    /// Tracks whether anything runs; after `quietPeriod` of nothing, the
    /// next wait gives memory back as after start-up, so a daemon whose
    /// services went back to sleep is as small as one that never woke them.
    private func noteQuiet() {
        var quiet = children.isEmpty && retired.isEmpty
        if quiet {
            for service in services where !service.isQuiet {
                quiet = false
                break
            }
        }
        if !quiet {
            quietSince = nil
            shrunkWhileQuiet = false
        } else if quietSince == nil {
            quietSince = now
        }
    }

    private func shrinkMemory() {
        csieste_release_free_memory()
        csieste_drop_unused_code_pages()
    }

    private func dispatch(_ watch: Watch, token: UInt64, events: IOEvents) {
        switch watch {
        case .signals:
            while let signal = signals.next() { handleSignal(signal) }
        case .timer:
            timer.acknowledge()
            fireTimers()
        case .listener(let service, let listener):
            service.listenerReady(listener)
        case .stderrPipe(let reader):
            if !reader.readAvailable() {
                unregister(token, reader.fd)
                reader.fd.close()
            }
        case .relay(let relay):
            relay.pump()
        case .backendProbe(let service):
            service.probeReady(events: events)
        case .builtin(let connection):
            connection.handle(events)
        case .control:
            answerStatusRequests()
        }
    }

    private func handleSignal(_ signal: Int32) {
        switch signal {
        case SIGCHLD:
            reapChildren()
        case SIGHUP:
            if stopRequested {
                logger.info("reload-ignored", [("reason", "stopping")])
            } else {
                reload()
            }
        case SIGTERM, SIGINT:
            beginStop(signal)
        case SIGUSR1:
            logState()
        default:
            break
        }
    }

    private func reapChildren() {
        while let (pid, status) = reapChild() {
            guard let service = children.removeValue(forKey: pid) else { continue }
            service.childExited(pid: pid, status: status)
        }
        retired.removeAll { $0.isFinished }
    }

    // MARK: timers

    private func armTimer() {
        var earliest: Milliseconds? = stopDeadline
        if let since = quietSince, !shrunkWhileQuiet {
            let due = since + Daemon.quietPeriod
            if earliest == nil || due < earliest! { earliest = due }
        }
        for service in services {
            if let deadline = service.deadline, earliest == nil || deadline < earliest! { earliest = deadline }
        }
        for service in retired {
            if let deadline = service.deadline, earliest == nil || deadline < earliest! { earliest = deadline }
        }
        timer.arm(at: earliest)
    }

    private func fireTimers() {
        for service in services {
            if let deadline = service.deadline, deadline <= now { service.timerFired() }
        }
        for service in retired {
            if let deadline = service.deadline, deadline <= now { service.timerFired() }
        }
        retired.removeAll { $0.isFinished }
        if let since = quietSince, !shrunkWhileQuiet, since + Daemon.quietPeriod <= now {
            shrunkWhileQuiet = true
            shrinkBeforeNextWait = true
            logger.debug("memory-released", [("quiet_ms", String(now - since))])
        }
        if let stopDeadline, stopDeadline <= now {
            self.stopDeadline = nil
            for service in services + retired { service.killRemaining() }
        }
    }

    // MARK: reload

    /// Re-reads the configuration; one that fails to load changes nothing.
    func reload() {
        logger.info("reloading")
        _ = csieste_sd_notify("RELOADING=1")
        let configuration: Configuration
        do throws(ConfigurationError) {
            configuration = try loader.load(paths: configurationPaths, format: format)
        } catch {
            for diagnostic in error.diagnostics {
                logger.error("config", [("message", diagnostic.text)])
            }
            logger.error("reload-failed", [("reason", "configuration did not load; the running one stays")])
            _ = csieste_sd_notify("READY=1")
            return
        }
        for warning in configuration.warnings {
            logger.warning("config", [("message", warning.text)])
        }

        var old: [String: ServiceRuntime] = [:]
        for service in services { old[service.config.id] = service }
        var next: [ServiceRuntime] = []
        var kept = 0
        for config in configuration.services {
            if let previous = old[config.id], previous.config == config {
                old[config.id] = nil
                next.append(previous)
                kept += 1
                continue
            }
            let service = ServiceRuntime(config: config, daemon: self)
            // Sockets of the services being replaced are handed over when
            // the address matches, so no client is refused across a reload.
            var spare: [Listener] = []
            for previous in old.values { spare.append(contentsOf: previous.listeners) }
            if service.bindListeners(reusing: spare) {
                for previous in old.values { previous.release(service.listeners) }
                next.append(service)
            } else if let previous = old.removeValue(forKey: config.id) {
                // The new definition cannot bind its sockets: the old one
                // keeps serving rather than leaving the port closed.
                logger.warning("reload-kept-old", [("service", config.id),
                                                   ("reason", "the changed service could not bind its sockets")])
                next.append(previous)
            }
        }
        for previous in old.values {
            previous.retire()
            if !previous.isFinished { retired.append(previous) }
        }
        services = next
        for service in services { service.activate() }
        shrinkBeforeNextWait = true
        shrunkWhileQuiet = true
        logger.info("reloaded", [("services", String(services.count)), ("unchanged", String(kept))])
        _ = csieste_sd_notify("READY=1")
    }

    // MARK: stop

    private func beginStop(_ signal: Int32) {
        if stopRequested { return }
        stopRequested = true
        logger.info("stopping", [("signal", signalName(signal))])
        closeControlSocket()
        _ = csieste_sd_notify("STOPPING=1")
        var longest: Milliseconds = 0
        for service in services + retired {
            service.shutdown()
            longest = max(longest, service.config.stopTimeout)
        }
        stopDeadline = now + longest
    }

    private func finishedStopping() -> Bool {
        for service in services + retired where service.hasManagedProcess { return false }
        return true
    }

    private func logState() {
        logger.info("state", [("services", String(services.count)), ("children", String(children.count)),
                              ("retired", String(retired.count))])
        for service in services { service.logState() }
    }
}
