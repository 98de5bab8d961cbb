/// Converts a systemd `.socket` unit and the service unit it activates into
/// one sieste service, collecting every error instead of stopping at the
/// first. Drop-in directories (`X.socket.d/`) are not read.
struct SystemdConversion {
    let path: String
    let bytes: [UInt8]
    private(set) var errors: [Diagnostic] = []
    private(set) var warnings: [Diagnostic] = []
    private var service = ConvertedService(name: "", origin: [])
    private var flags: [String] = []

    /// Keys that need no conversion: `Accept=` and `Service=` choose the
    /// service unit, and the others only order units at boot.
    private static let socketKeysHandledElsewhere = ["Accept", "Service", "Description", "Documentation"]

    init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }

    private mutating func fail(_ location: SourceLocation, _ message: String) {
        errors.append(Diagnostic(location, message))
    }

    /// Records a line that has no sieste equivalent in the output and as a
    /// warning.
    private mutating func leaveOut(_ entry: SystemdEntry, _ reason: String? = nil) {
        let line = entry.key + "=" + entry.value
        if service.notConverted.contains(line) { return }
        service.notConverted.append(line)
        let because = reason.map { ": " + $0 } ?? ""
        warnings.append(Diagnostic(entry.location, entry.key + "= in [" + entry.section + "] is not converted" + because))
    }

    // MARK: finding the two units

    mutating func convert() -> ConvertedService? {
        let fileName = baseName(path)
        var socketPath = path
        var socketBytes = bytes
        if hasSuffix(fileName, ".service") {
            // Given the service unit, read the socket unit beside it:
            // `X@.service` and `X.service` are both activated by `X.socket`.
            var prefix = substring(fileName, from: 0, to: fileName.utf8.count - ".service".utf8.count)
            if prefix.utf8.last == UInt8(ascii: "@") { prefix = substring(prefix, from: 0, to: prefix.utf8.count - 1) }
            socketPath = siblingPath(prefix + ".socket", of: path)
            guard let read = readUnit(socketPath, neededBy: SourceLocation(file: path, line: 0)) else { return nil }
            socketBytes = read
        } else if !hasSuffix(fileName, ".socket") {
            fail(SourceLocation(file: path, line: 0), "expected a systemd unit named X.socket or X.service")
            return nil
        }

        let socketName = baseName(socketPath)
        let prefix = substring(socketName, from: 0, to: socketName.utf8.count - ".socket".utf8.count)
        if prefix.utf8.contains(UInt8(ascii: "@")) {
            fail(SourceLocation(file: socketPath, line: 0), "template socket units (" + socketName + ") are not converted: copy the unit to a name without @ first")
            return nil
        }
        let parsedSocket = SystemdUnitParser.parse(socketBytes, file: socketPath)
        errors += parsedSocket.errors
        let socket = parsedSocket.unit

        var accept = false
        if let entry = socket.last("Accept", in: "Socket") {
            if let value = parseSystemdBoolean(entry.value) {
                accept = value
            } else {
                fail(entry.location, "invalid value " + quoted(entry.value) + " for Accept=: expected yes or no")
            }
        }

        var serviceName = prefix + (accept ? "@.service" : ".service")
        if let entry = socket.last("Service", in: "Socket") {
            if accept {
                fail(entry.location, "Service= cannot be used with Accept=yes: systemd starts " + prefix + "@.service for each connection")
            } else if !hasSuffix(entry.value, ".service") || entry.value.utf8.contains(UInt8(ascii: "/")) {
                fail(entry.location, "invalid value " + quoted(entry.value) + " for Service=: expected a unit name ending with .service")
            } else {
                serviceName = entry.value
            }
        }
        if hasSuffix(fileName, ".service") && fileName != serviceName {
            fail(
                SourceLocation(file: path, line: 0),
                socketName + " activates " + serviceName + (accept ? " (Accept=yes)" : "") + ", not " + fileName)
            return nil
        }

        let servicePath = siblingPath(serviceName, of: socketPath)
        let serviceBytes: [UInt8]
        if servicePath == path {
            serviceBytes = bytes
        } else {
            let neededBy = (socket.last("Service", in: "Socket") ?? socket.last("Accept", in: "Socket"))?.location
                ?? SourceLocation(file: socketPath, line: 0)
            guard let read = readUnit(servicePath, neededBy: neededBy) else { return nil }
            serviceBytes = read
        }
        let parsedService = SystemdUnitParser.parse(serviceBytes, file: servicePath)
        errors += parsedService.errors
        for unitPath in [socketPath, servicePath] where fileStatus(unitPath + ".d")?.isDirectory == true {
            warnings.append(Diagnostic(SourceLocation(file: unitPath + ".d", line: 0), "drop-in files are not read: merge them into " + baseName(unitPath) + " first"))
        }

        var origin = ["from " + socketPath + " and " + servicePath]
        if let description = parsedService.unit.last("Description", in: "Unit") ?? socket.last("Description", in: "Unit") {
            origin.append(description.value)
        }
        service = ConvertedService(name: prefix, origin: origin)
        service.set("wait", [accept ? "no" : "yes"])

        let names = UnitNames(socket: socketName, service: serviceName)
        let listenCount = convertSocket(socket, accept: accept, names: names)
        convertService(parsedService.unit, accept: accept, listenCount: listenCount, names: names)
        if !flags.isEmpty { service.set("flags", flags) }
        return errors.isEmpty ? service : nil
    }

    private mutating func readUnit(_ unitPath: String, neededBy location: SourceLocation) -> [UInt8]? {
        do {
            return try readWholeFile(unitPath)
        } catch {
            fail(location, "cannot read " + unitPath + ": " + errnoDescription(error.errno))
            return nil
        }
    }

    // MARK: [Socket]

    private static let listenKinds = [
        (key: "ListenStream", socketType: "stream"), (key: "ListenDatagram", socketType: "dgram"),
        (key: "ListenSequentialPacket", socketType: "seqpacket"),
    ]
    private static let unsupportedListenKeys = ["ListenFIFO", "ListenSpecial", "ListenNetlink", "ListenMessageQueue", "ListenUSBFunction"]

    /// Converts the [Socket] section and returns the number of addresses.
    private mutating func convertSocket(_ socket: SystemdUnit, accept: Bool, names: UnitNames) -> Int {
        var listenEntries: [(entry: SystemdEntry, socketType: String)] = []
        for kind in Self.listenKinds {
            for entry in socket.list(kind.key, in: "Socket") { listenEntries.append((entry, kind.socketType)) }
        }
        listenEntries.sort { $0.entry.location.line < $1.entry.location.line }

        var addresses: [String] = []
        var firstAddress: (isUnix: Bool, line: Int)? = nil
        for (entry, socketType) in listenEntries {
            if let first = listenEntries.first, first.socketType != socketType {
                fail(
                    entry.location,
                    entry.key + "= mixes socket types with " + first.entry.key + "= at line " + String(first.entry.location.line)
                        + ": a sieste service has one socket_type, so split the unit into one per type")
                continue
            }
            guard let text = expand(entry, unit: names.socket) else { continue }
            guard let address = listenAddress(text, entry, socketType: socketType) else { continue }
            let isUnix = address.utf8.first == UInt8(ascii: "/") || address.utf8.first == UInt8(ascii: "@")
            if let firstAddress, firstAddress.isUnix != isUnix {
                fail(
                    entry.location,
                    "address " + quoted(text) + " mixes Unix and IP sockets with line " + String(firstAddress.line)
                        + ": a sieste service listens on one or the other, so split the unit into one per kind")
                continue
            }
            if firstAddress == nil { firstAddress = (isUnix, entry.location.line) }
            addresses.append(address)
        }
        let hasPath = addresses.contains { $0.utf8.first == UInt8(ascii: "/") }
        let hasUnsupportedListen = socket.entries(in: "Socket").contains { Self.unsupportedListenKeys.contains($0.key) }
        if listenEntries.isEmpty && !hasUnsupportedListen {
            fail(SourceLocation(file: socket.file, line: 0), "no ListenStream=, ListenDatagram= or ListenSequentialPacket= in [Socket]")
        }
        if let first = listenEntries.first { service.set("socket_type", [first.socketType]) }
        if !addresses.isEmpty { service.set("listen", addresses) }

        for entry in socket.entries(in: "Socket") {
            convertSocketEntry(entry, accept: accept, hasPath: hasPath, names: names)
        }
        if hasPath && socket.last("SocketMode", in: "Socket") == nil {
            // systemd creates socket files with mode 0666 unless SocketMode= is set.
            service.set("socket_mode", ["0666"])
        }
        if accept && socket.last("MaxConnections", in: "Socket") == nil {
            // systemd's limit of concurrent connections with Accept=yes.
            service.set("instances", ["64"])
        }
        let nameEntry = socket.last("FileDescriptorName", in: "Socket")
        if accept {
            if let nameEntry { leaveOut(nameEntry, "with Accept=yes systemd names the connection \"connection\"") }
        } else if !addresses.isEmpty {
            // Without FileDescriptorName=, systemd names each socket after the socket unit.
            service.set("fd_names", [String](repeating: nameEntry?.value ?? names.socket, count: addresses.count))
        }
        return addresses.count
    }

    private static let convertedSocketKeys = [
        "BindIPv6Only", "Backlog", "SocketMode", "SocketUser", "SocketGroup", "MaxConnections", "MaxConnectionsPerSource",
        "NoDelay", "KeepAlive",
    ]

    private mutating func convertSocketEntry(_ entry: SystemdEntry, accept: Bool, hasPath: Bool, names: UnitNames) {
        if Self.listenKinds.contains(where: { $0.key == entry.key }) || Self.socketKeysHandledElsewhere.contains(entry.key)
            || entry.key == "FileDescriptorName"
        {
            return
        }
        if Self.unsupportedListenKeys.contains(entry.key) {
            fail(entry.location, entry.key + "= is not supported: sieste listens only on stream, datagram and sequential-packet sockets")
            return
        }
        guard Self.convertedSocketKeys.contains(entry.key) else {
            leaveOut(entry)
            return
        }
        if entry.key.utf8.starts(with: "Socket".utf8) && !hasPath {
            leaveOut(entry, "it applies only to socket files, and the unit listens on none")
            return
        }
        guard let value = expand(entry, unit: names.socket) else { return }
        switch entry.key {
        case "BindIPv6Only":
            switch value {
            case "ipv6-only": service.set("v6only", ["yes"])
            case "both", "default": break
            default: invalidValue(entry, expected: "ipv6-only, both or default")
            }
        case "Backlog":
            if let number = parseUnsigned(value, limit: 65535), number >= 1 {
                service.set("backlog", [value])
            } else {
                invalidValue(entry, expected: "a number from 1 to 65535")
            }
        case "SocketMode":
            if parseOctal(value, limit: 0o7777) != nil {
                service.set("socket_mode", [value])
            } else {
                invalidValue(entry, expected: "an octal mode such as 0660")
            }
        case "SocketUser":
            service.set("socket_user", [value])
        case "SocketGroup":
            service.set("socket_group", [value])
        case "MaxConnections", "MaxConnectionsPerSource":
            guard accept else {
                leaveOut(entry, "it applies only with Accept=yes")
                return
            }
            guard let number = parseUnsigned(value, limit: 1_000_000), number >= 1 else {
                invalidValue(entry, expected: "a number from 1 to 1000000")
                return
            }
            service.set(entry.key == "MaxConnections" ? "instances" : "per_source", [String(number)])
        case "NoDelay", "KeepAlive":
            guard let enabled = parseSystemdBoolean(value) else {
                invalidValue(entry, expected: "yes or no")
                return
            }
            if enabled { flags.append(entry.key == "NoDelay" ? "NODELAY" : "KEEPALIVE") }
        default:
            break
        }
    }

    /// Converts one `Listen*=` address into a `listen` value: a port, an
    /// IP address with a port, a socket path or an abstract name.
    private mutating func listenAddress(_ text: String, _ entry: SystemdEntry, socketType: String) -> String? {
        let first = text.utf8.first
        if first == UInt8(ascii: "/") || first == UInt8(ascii: "@") {
            guard text.utf8.count >= 2 && text.utf8.count <= 107 else {
                invalidValue(entry, expected: "a socket path or @name of at most 107 bytes")
                return nil
            }
            return text
        }
        if socketType == "seqpacket" {
            invalidValue(entry, expected: "a socket path or @name, as sequential-packet sockets are Unix sockets")
            return nil
        }
        if text.utf8.starts(with: "vsock:".utf8) {
            fail(entry.location, "AF_VSOCK address " + quoted(text) + " is not supported: sieste listens on IP and Unix sockets")
            return nil
        }
        if text.utf8.contains(UInt8(ascii: "%")) {
            fail(entry.location, "address " + quoted(text) + " names a network interface, which sieste cannot bind to: use the interface's address")
            return nil
        }
        if parsePort(text) != nil { return text }
        if let (host, portText) = splitHostPort(text), let port = parsePort(portText), let address = parseIPAddress(host) {
            return address.withPort(port).text
        }
        invalidValue(entry, expected: "a port, ADDRESS:PORT ([::1]:8080), a socket path or @name")
        return nil
    }

    // MARK: [Service]

    private static let serviceKeysHandledElsewhere = [
        "ExecStart", "StandardInput", "StandardOutput", "StandardError", "Description", "Documentation",
    ]

    private mutating func convertService(_ unit: SystemdUnit, accept: Bool, listenCount: Int, names: UnitNames) {
        convertExecStart(unit, names: names)
        convertStandardStreams(unit, accept: accept, listenCount: listenCount)

        var environment: [String] = []
        for entry in unit.entries(in: "Service") where !Self.serviceKeysHandledElsewhere.contains(entry.key) {
            if entry.key == "Environment" {
                if entry.value.isEmpty {
                    environment.removeAll()
                } else if let assignments = environmentAssignments(entry, names: names) {
                    environment += assignments
                }
                continue
            }
            guard Self.convertedServiceKeys.contains(entry.key) else {
                leaveOut(entry)
                continue
            }
            guard let value = expand(entry, unit: names.service) else { continue }
            convertServiceEntry(entry, value)
        }
        if !environment.isEmpty { service.set("env", environment) }
    }

    private static let convertedServiceKeys = [
        "User", "Group", "WorkingDirectory", "UMask", "Nice", "LimitNOFILE", "LimitNPROC", "KillSignal", "TimeoutStopSec",
        "Type",
    ]

    private mutating func convertServiceEntry(_ entry: SystemdEntry, _ value: String) {
        switch entry.key {
        case "User":
            service.set("user", [value])
        case "Group":
            service.set("group", [value])
        case "WorkingDirectory":
            // A leading `-` only makes a missing directory not fatal.
            let directory = value.utf8.first == UInt8(ascii: "-") ? substring(value, from: 1) : value
            if directory.utf8.first == UInt8(ascii: "/") {
                service.set("working_directory", [directory])
            } else {
                leaveOut(entry, "sieste takes an absolute path")
            }
        case "UMask":
            if parseOctal(value, limit: 0o777) != nil { service.set("umask", [value]) } else { invalidValue(entry, expected: "an octal mask such as 0022") }
        case "Nice":
            if parseInteger(value, in: -20...19) != nil { service.set("nice", [value]) } else { invalidValue(entry, expected: "a number from -20 to 19") }
        case "LimitNOFILE", "LimitNPROC":
            let name = entry.key == "LimitNOFILE" ? "rlimit_files" : "rlimit_nproc"
            if value == "infinity" {
                service.set(name, ["UNLIMITED"])
            } else if parseUnsigned(value, limit: UInt64(Int64.max)) != nil {
                service.set(name, [value])
            } else {
                leaveOut(entry, "sieste sets one value for the soft and hard limit")
            }
        case "KillSignal":
            if parseSignal(value) != nil { service.set("stop_signal", [value]) } else { invalidValue(entry, expected: "a signal name such as SIGTERM") }
        case "TimeoutStopSec":
            // systemd also accepts forms such as "1min 30s", which are left out.
            if parseDuration(value) != nil { service.set("stop_timeout", [value]) } else { leaveOut(entry, "write it as 90, 30s or 5m") }
        case "Type":
            if !["simple", "exec", "notify"].contains(value) { leaveOut(entry, "sieste treats the started process as the service") }
        default:
            break
        }
    }

    /// Converts `ExecStart=` into `server` and `server_args`. systemd's
    /// prefixes are dropped, since sieste has no per-command privilege or
    /// failure settings; `@` means the second word is argv[0].
    private mutating func convertExecStart(_ unit: SystemdUnit, names: UnitNames) {
        let commands = unit.list("ExecStart", in: "Service")
        guard let entry = commands.first else {
            fail(SourceLocation(file: unit.file, line: 0), "ExecStart= is missing in [Service]")
            return
        }
        if commands.count > 1 {
            fail(commands[1].location, "more than one ExecStart= (first at line " + String(entry.location.line) + "): sieste starts one program")
            return
        }
        guard let expanded = expand(entry, unit: names.service) else { return }
        let split = splitSystemdWords(expanded)
        guard var words = split.words, !words.isEmpty else {
            fail(entry.location, "cannot convert ExecStart=: " + (split.problem ?? "it is empty"))
            return
        }

        var program = Array(words[0].utf8)[...]
        var argumentZeroGiven = false
        var expandsVariables = true
        while let first = program.first, [UInt8(ascii: "-"), UInt8(ascii: "@"), UInt8(ascii: ":"), UInt8(ascii: "+"), UInt8(ascii: "!"), UInt8(ascii: "|")].contains(first) {
            if first == UInt8(ascii: "@") { argumentZeroGiven = true }
            if first == UInt8(ascii: ":") { expandsVariables = false }
            if first == UInt8(ascii: "+") || first == UInt8(ascii: "!") {
                warnings.append(Diagnostic(entry.location, "ExecStart= prefix " + String(decoding: [first], as: UTF8.self) + " is dropped: the program runs as User= and Group="))
            }
            program = program.dropFirst()
        }
        words[0] = String(decoding: program, as: UTF8.self)

        for word in words {
            if word == ";" {
                fail(entry.location, "ExecStart= holds more than one command (\";\"): sieste starts one program")
                return
            }
            if expandsVariables && word.utf8.contains(UInt8(ascii: "$")) {
                fail(entry.location, "ExecStart= argument " + quoted(word) + " refers to an environment variable, which sieste does not expand: write the value out")
                return
            }
            if word.isEmpty || word.utf8.contains(where: isBlank) {
                fail(entry.location, "ExecStart= argument " + quoted(word) + " is empty or contains a blank, which server_args cannot express (its values have no quoting)")
                return
            }
        }
        guard let server = absoluteProgram(words[0], entry) else { return }
        service.set("server", [server])
        if argumentZeroGiven {
            guard words.count >= 2 else {
                fail(entry.location, "ExecStart= with the @ prefix needs argv[0] after the program")
                return
            }
            flags.append("NAMEINARGS")
            service.set("server_args", Array(words[1...]))
        } else if words.count > 1 {
            service.set("server_args", Array(words[1...]))
        }
    }

    /// Returns the program path; a bare name is looked up in the
    /// directories systemd searches.
    private mutating func absoluteProgram(_ program: String, _ entry: SystemdEntry) -> String? {
        if program.utf8.first == UInt8(ascii: "/") { return program }
        if !program.utf8.contains(UInt8(ascii: "/")) {
            for directory in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin"] {
                let candidate = directory + "/" + program
                if fileStatus(candidate)?.isExecutable == true { return candidate }
            }
        }
        fail(entry.location, "ExecStart= program " + quoted(program) + " is not an absolute path and was not found in /usr/local/sbin, /usr/local/bin, /usr/sbin or /usr/bin")
        return nil
    }

    private mutating func environmentAssignments(_ entry: SystemdEntry, names: UnitNames) -> [String]? {
        guard let value = expand(entry, unit: names.service) else { return nil }
        let split = splitSystemdWords(value)
        guard let words = split.words else {
            fail(entry.location, "cannot convert Environment=: " + (split.problem ?? ""))
            return nil
        }
        for word in words {
            guard let equals = firstIndex(of: UInt8(ascii: "="), in: word), equals > 0 else {
                invalidValue(entry, expected: "NAME=VALUE assignments")
                return nil
            }
            if word.utf8.contains(where: isBlank) {
                fail(entry.location, "Environment= assignment " + quoted(word) + " contains a blank, which env cannot express (its values have no quoting)")
                return nil
            }
        }
        return words
    }

    /// Chooses `handoff` and `stderr` from systemd's standard streams.
    /// sieste offers two layouts: `handoff = stdio` puts the socket on fds 0
    /// and 1, and `handoff = listen_fds` puts the sockets from fd 3 on,
    /// /dev/null on fd 0 and the `stderr` target on fds 1 and 2.
    private mutating func convertStandardStreams(_ unit: SystemdUnit, accept: Bool, listenCount: Int) {
        var inputIsSocket = false
        if let entry = unit.last("StandardInput", in: "Service") {
            switch entry.value {
            case "socket": inputIsSocket = true
            case "null": break
            default: leaveOut(entry, "sieste connects standard input to the socket or to /dev/null")
            }
        }
        if inputIsSocket && !accept && listenCount > 1 {
            fail(unit.last("StandardInput", in: "Service")!.location, "StandardInput=socket with Accept=no needs exactly one Listen*= address")
        }

        // systemd's default output is the input's target when the input is
        // the socket, else the journal; standard error follows standard output.
        let inputTarget = inputIsSocket ? "socket" : "null"
        var outputTarget = inputIsSocket ? "socket" : "log"
        if let entry = unit.last("StandardOutput", in: "Service") {
            outputTarget = streamTarget(entry, inherited: inputTarget)
        }
        var errorTarget = outputTarget
        if let entry = unit.last("StandardError", in: "Service") {
            errorTarget = streamTarget(entry, inherited: outputTarget)
        }

        if inputIsSocket {
            service.set("handoff", ["stdio"])
            if outputTarget != "socket", let entry = unit.last("StandardOutput", in: "Service") {
                leaveOut(entry, "with StandardInput=socket, sieste puts the socket on standard output too")
            }
        } else {
            service.set("handoff", ["listen_fds"])
            if accept {
                // systemd names the one descriptor of a per-connection service
                // "connection"; sieste would use the service name.
                service.set("fd_names", [String](repeating: "connection", count: max(listenCount, 1)))
            }
            if outputTarget != errorTarget, let entry = unit.last("StandardOutput", in: "Service") {
                leaveOut(entry, "with handoff = listen_fds, sieste sends standard output where standard error goes")
            }
        }
        if errorTarget != "log" { service.set("stderr", [errorTarget]) }
    }

    /// Maps a `StandardOutput=` or `StandardError=` value to a `stderr` target.
    private mutating func streamTarget(_ entry: SystemdEntry, inherited: String) -> String {
        switch entry.value {
        case "inherit": return inherited
        case "null": return "null"
        case "socket": return "socket"
        case "journal", "journal+console", "kmsg", "kmsg+console", "syslog", "syslog+console": return "log"
        default:
            leaveOut(entry, "sieste sends it to its log instead")
            return "log"
        }
    }

    // MARK: values

    private mutating func invalidValue(_ entry: SystemdEntry, expected: String) {
        fail(entry.location, "invalid value " + quoted(entry.value) + " for " + entry.key + "=: expected " + expected)
    }

    /// Replaces the specifiers whose value is known from the unit file names
    /// (`%%`, `%p`, and `%n`, `%N` outside templates). Any other specifier
    /// is an error, because its value is only known when systemd runs.
    private mutating func expand(_ entry: SystemdEntry, unit: String) -> String? {
        let bytes = Array(entry.value.utf8)
        guard bytes.contains(UInt8(ascii: "%")) else { return entry.value }
        let isTemplate = unit.utf8.contains(UInt8(ascii: "@"))
        let suffixStart = Array(unit.utf8).lastIndex(of: UInt8(ascii: ".")) ?? unit.utf8.count
        let withoutSuffix = substring(unit, from: 0, to: suffixStart)
        let prefix = substring(unit, from: 0, to: firstIndex(of: UInt8(ascii: "@"), in: unit) ?? suffixStart)

        var result = ""
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "%") else {
                var end = index
                while end < bytes.count && bytes[end] != UInt8(ascii: "%") { end += 1 }
                result += String(decoding: bytes[index..<end], as: UTF8.self)
                index = end
                continue
            }
            guard index + 1 < bytes.count else {
                fail(entry.location, entry.key + "= ends with a lone \"%\": write %% for a percent sign")
                return nil
            }
            let specifier = bytes[index + 1]
            index += 2
            switch specifier {
            case UInt8(ascii: "%"): result += "%"
            case UInt8(ascii: "p"): result += prefix
            case UInt8(ascii: "n") where !isTemplate: result += unit
            case UInt8(ascii: "N") where !isTemplate: result += withoutSuffix
            default:
                let name = "%" + String(decoding: [specifier], as: UTF8.self)
                let reason = isTemplate ? " (the instance of " + unit + " is only known per connection)" : ""
                fail(entry.location, "specifier " + name + " in " + entry.key + "= cannot be converted" + reason + ": write the value out")
                return nil
            }
        }
        return result
    }
}

/// The unit names that specifiers such as `%n` and `%p` expand to.
private struct UnitNames {
    var socket: String
    var service: String
}

/// Returns the path of a file in the same directory as `path`, written the
/// way `path` was (without a `./` when `path` has no directory).
private func siblingPath(_ name: String, of path: String) -> String {
    path.utf8.contains(UInt8(ascii: "/")) ? resolvePath(name, relativeTo: directoryName(path)) : name
}
