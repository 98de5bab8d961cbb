/// Interprets the resolved attributes of one service block into a
/// `ServiceConfig`, collecting every problem instead of stopping at the first.
struct ServiceBuilder {
    let block: AttributeBlock
    let attributes: ResolvedAttributes
    let resolver: NameResolver
    var service: ServiceConfig
    /// Problems that make the service unusable. They are errors for an
    /// enabled service and warnings for a disabled one.
    var problems: [Diagnostic] = []
    var warnings: [Diagnostic] = []
    var isDisabled = false

    // Facts gathered early and used by later steps.
    var flags: Set<String> = []
    var isInternal = false
    var isUnlisted = false
    var socketKindWritten = false

    init(block: AttributeBlock, attributes: ResolvedAttributes, resolver: NameResolver) {
        self.block = block
        self.attributes = attributes
        self.resolver = resolver
        self.service = ServiceConfig(name: block.name, location: block.location)
    }

    /// Runs every step; the order matters where a step reads what an
    /// earlier one set (flags before addresses, addresses before fd_names).
    mutating func build(disabledIDs: [String], enabledIDs: [String]?) {
        readIdentity()
        readFlags()
        readDisabled(disabledIDs: disabledIDs, enabledIDs: enabledIDs)
        readSocketType()
        readWait()
        readProgram()
        readAddresses()
        readRedirect()
        readHandoff()
        readCredentials()
        readEnvironment()
        readLimits()
        readAccessLists()
        readStopping()
        readUnixSocketOwnership()
        readProcessSettings()
        checkModes()
    }

    // MARK: reporting

    mutating func problem(_ location: SourceLocation, _ message: String) {
        problems.append(Diagnostic(location, message))
    }

    mutating func invalid(_ value: AttributeValue, for name: String, expected: String) {
        problem(value.location, "invalid value " + quoted(value.text) + " for " + name + ": expected " + expected)
    }

    mutating func missing(_ name: String, expected: String) {
        problem(block.location, name + " is missing in service " + block.name + ": expected " + expected)
    }

    // MARK: reading values

    /// Returns the single value of an attribute, when set.
    func single(_ name: String) -> AttributeValue? {
        attributes[name]?.values.first
    }

    func values(_ name: String) -> [AttributeValue] {
        attributes[name]?.values ?? []
    }

    func isSet(_ name: String) -> Bool { attributes[name] != nil }

    func location(of name: String) -> SourceLocation {
        attributes[name]?.location ?? block.location
    }

    mutating func yesNo(_ name: String) -> Bool? {
        guard let value = single(name) else { return nil }
        if equalsIgnoringCase(value.text, "yes") { return true }
        if equalsIgnoringCase(value.text, "no") { return false }
        invalid(value, for: name, expected: "yes or no")
        return nil
    }

    /// Parses a count or UNLIMITED (nil), as `instances` and `per_source` take.
    mutating func countOrUnlimited(_ name: String) -> Int?? {
        guard let value = single(name) else { return .none }
        if equalsIgnoringCase(value.text, "UNLIMITED") { return .some(nil) }
        if let number = parseUnsigned(value.text, limit: 1_000_000), number >= 1 { return .some(Int(number)) }
        invalid(value, for: name, expected: "a number from 1 to 1000000 or UNLIMITED")
        return .none
    }

    mutating func duration(_ name: String, allowZero: Bool) -> Milliseconds? {
        guard let value = single(name) else { return nil }
        if let parsed = parseDuration(value.text), allowZero || parsed > 0 { return parsed }
        let kind = allowZero ? "a duration" : "a duration above zero"
        invalid(value, for: name, expected: kind + " such as 90 (seconds), 30s, 5m, 1h or 250ms")
        return nil
    }

    // MARK: steps

    private mutating func readIdentity() {
        if let id = single("id") { service.id = id.text }

        for value in values("type") {
            let text = value.text
            if equalsIgnoringCase(text, "INTERNAL") {
                isInternal = true
            } else if equalsIgnoringCase(text, "UNLISTED") {
                isUnlisted = true
            } else if equalsIgnoringCase(text, "RPC") {
                problem(value.location, "type RPC is not supported: sieste does not register services with rpcbind")
            } else if equalsIgnoringCase(text, "TCPMUX") || equalsIgnoringCase(text, "TCPMUXPLUS") {
                problem(value.location, "type " + text + " is not supported: sieste has no TCPMUX multiplexer; give the service its own port")
            } else {
                invalid(value, for: "type", expected: "INTERNAL or UNLISTED (RPC and TCPMUX are not supported)")
            }
        }
    }

    private static let actedFlags = ["IPv4", "IPv6", "REUSE", "NODELAY", "KEEPALIVE", "NAMEINARGS", "DISABLE"]
    private static let ignoredFlags = ["INTERCEPT", "NORETRY", "IDONLY", "NOLIBWRAP", "SENSOR", "LABELED"]

    private mutating func readFlags() {
        for value in values("flags") {
            if let known = Self.actedFlags.first(where: { equalsIgnoringCase($0, value.text) }) {
                flags.insert(known)
            } else if let known = Self.ignoredFlags.first(where: { equalsIgnoringCase($0, value.text) }) {
                warnings.append(Diagnostic(value.location, "flag " + known + " is accepted but has no effect in sieste"))
            } else {
                invalid(value, for: "flags", expected: listWithOr(Self.actedFlags + Self.ignoredFlags))
            }
        }
        if flags.contains("IPv4") && flags.contains("IPv6") {
            problem(location(of: "flags"), "flags IPv4 and IPv6 exclude each other: IPv6 sockets are dual-stack unless v6only = yes")
        }
        service.noDelay = flags.contains("NODELAY")
        service.keepAlive = flags.contains("KEEPALIVE")
        // Every socket gets SO_REUSEADDR, so the REUSE flag changes nothing.
        service.reuseAddress = true
    }

    private mutating func readDisabled(disabledIDs: [String], enabledIDs: [String]?) {
        if yesNo("disable") == true { isDisabled = true }
        if flags.contains("DISABLE") { isDisabled = true }
        if disabledIDs.contains(service.id) { isDisabled = true }
        if let enabledIDs, !enabledIDs.contains(service.id) { isDisabled = true }
    }

    private mutating func readSocketType() {
        let protocolValue = single("protocol")
        var protocolName: String? = nil
        if let protocolValue {
            let text = protocolValue.text
            if text == "tcp" || text == "udp" || text == "unix" {
                protocolName = text
            } else {
                invalid(protocolValue, for: "protocol", expected: "tcp, udp or unix")
            }
        }

        if let value = single("socket_type") {
            socketKindWritten = true
            switch value.text {
            case "stream": service.socketKind = .stream
            case "dgram": service.socketKind = .dgram
            case "seqpacket": service.socketKind = .seqpacket
            case "raw":
                problem(value.location, "socket_type raw is not supported: expected stream, dgram or seqpacket")
            default:
                invalid(value, for: "socket_type", expected: "stream, dgram or seqpacket")
            }
        } else if let protocolName, protocolName != "unix" {
            service.socketKind = protocolName == "tcp" ? .stream : .dgram
            socketKindWritten = true
        } else if block.presetListen == nil {
            missing("socket_type", expected: "stream, dgram or seqpacket")
        }

        let implied = service.socketKind == .dgram ? "udp" : "tcp"
        if let protocolName, let protocolValue, protocolName != "unix", protocolName != implied {
            problem(
                protocolValue.location,
                "protocol " + protocolName + " does not match socket_type " + service.socketKind.rawValue + ": use "
                    + implied + ", or leave protocol out")
        }
        service.protocolName = protocolName ?? implied
    }

    private mutating func readWait() {
        if isSet("wait") {
            service.wait = yesNo("wait") ?? false
        } else {
            missing("wait", expected: "yes or no")
        }
    }

    private mutating func readProgram() {
        let serverValue = single("server")
        let argumentValues = values("server_args")

        if isInternal {
            if let serverValue {
                warnings.append(Diagnostic(serverValue.location, "server is ignored for type = INTERNAL service " + block.name))
            }
            readBuiltin()
            return
        }
        guard let serverValue else {
            // A plain redirect needs no program; readRedirect checks the rest.
            if !isSet("redirect") {
                missing("server", expected: "the absolute path of the program to start")
            }
            if let first = argumentValues.first {
                warnings.append(Diagnostic(first.location, "server_args is ignored because service " + block.name + " has no server"))
            }
            return
        }

        let path = serverValue.text
        guard path.utf8.first == UInt8(ascii: "/") else {
            invalid(serverValue, for: "server", expected: "an absolute path such as /usr/sbin/in.fingerd")
            return
        }
        service.server = path
        if let status = fileStatus(path) {
            if !status.isRegular || !status.isExecutable {
                warnings.append(Diagnostic(serverValue.location, "server " + path + " is not an executable file; starting it will fail until it is"))
            }
        } else {
            warnings.append(Diagnostic(serverValue.location, "server " + path + " does not exist; starting it will fail until it is installed"))
        }

        let arguments = argumentValues.map { $0.text }
        if flags.contains("NAMEINARGS") {
            if arguments.isEmpty {
                problem(location(of: "flags"), "flags NAMEINARGS needs server_args to start with argv[0], but server_args is empty")
            }
            service.arguments = arguments
        } else {
            service.arguments = [baseName(path)] + arguments
        }
    }

    private mutating func readBuiltin() {
        if let builtin = BuiltinService(rawValue: block.name) {
            service.builtin = builtin
            return
        }
        // xinetd names the variants by id: echo-stream, echo-dgram.
        let idBytes = Array(service.id.utf8)
        let prefixEnd = idBytes.firstIndex(of: UInt8(ascii: "-")) ?? idBytes.count
        if let builtin = BuiltinService(rawValue: String(decoding: idBytes[..<prefixEnd], as: UTF8.self)) {
            service.builtin = builtin
            return
        }
        problem(
            location(of: "type"),
            "no builtin service named " + quoted(block.name) + " (id " + quoted(service.id)
                + ") for type = INTERNAL: sieste provides echo, discard, chargen, daytime and time")
    }

    private mutating func readHandoff() {
        if let value = single("handoff") {
            if let handoff = Handoff(rawValue: value.text) {
                service.handoff = handoff
            } else {
                invalid(value, for: "handoff", expected: "stdio or listen_fds")
            }
        }
        if let value = single("stderr") {
            if let target = StderrTarget(rawValue: value.text) {
                service.stderr = target
            } else {
                invalid(value, for: "stderr", expected: "log, inherit, socket or null")
            }
        }

        let names = values("fd_names")
        if names.isEmpty {
            service.fdNames = [String](repeating: block.name, count: service.listen.count)
            return
        }
        for name in names where name.text.utf8.contains(UInt8(ascii: ":")) || name.text.utf8.count > 255 {
            invalid(name, for: "fd_names", expected: "names without \":\" of at most 255 bytes")
        }
        if !service.listen.isEmpty && names.count != service.listen.count {
            problem(
                location(of: "fd_names"),
                "fd_names has " + String(names.count) + " names but service " + block.name + " listens on "
                    + String(service.listen.count) + " addresses: give one name per address")
        }
        service.fdNames = names.map { $0.text }
    }

    private mutating func checkModes() {
        if let value = single("redirect") {
            if service.socketKind != .stream || service.wait {
                problem(value.location, "redirect needs socket_type = stream and wait = no in service " + block.name)
            }
        }
        if let value = single("idle_timeout") {
            let isLazyProxy = service.redirect != nil && service.server != nil
            if !(service.wait || isLazyProxy) {
                problem(
                    value.location,
                    "idle_timeout applies only to wait = yes services and to redirect with server (a lazy proxy); service "
                        + block.name + " starts one process per connection")
            }
        }
    }
}
