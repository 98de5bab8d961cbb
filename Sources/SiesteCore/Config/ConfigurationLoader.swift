/// The syntax of a configuration file.
public enum ConfigFormat: Sendable {
    /// inetd.conf when the first entry looks like an inetd.conf line, else xinetd.
    case automatic
    /// xinetd.conf(5) blocks, sieste's native format.
    case xinetd
    /// One-line /etc/inetd.conf entries.
    case inetd
}

/// Reads configuration files into a validated `Configuration`, or throws a
/// `ConfigurationError` that lists every problem found as `FILE:LINE: message`.
public struct ConfigurationLoader {
    public var resolver: NameResolver

    /// Included files may nest this deep, which also stops include cycles.
    static let maximumIncludeDepth = 16

    public init(resolver: NameResolver = .system) {
        self.resolver = resolver
    }

    /// Loads files in order, following their `include` and `includedir`.
    public func load(paths: [String], format: ConfigFormat = .automatic) throws(ConfigurationError) -> Configuration {
        var session = LoadSession(resolver: resolver)
        for path in paths {
            session.readFile(path, format: format, includedFrom: nil, depth: 0)
        }
        return try session.finish()
    }

    /// Loads configuration text as if read from `file`; relative includes
    /// are resolved from the directory of `file`.
    public func load(text: String, file: String, format: ConfigFormat = .automatic) throws(ConfigurationError) -> Configuration {
        var session = LoadSession(resolver: resolver)
        session.readText(Array(text.utf8), file: file, format: format, depth: 0)
        return try session.finish()
    }
}

/// The state of one load: every block read so far and every problem found.
struct LoadSession {
    let resolver: NameResolver
    var defaults: AttributeBlock? = nil
    var serviceBlocks: [AttributeBlock] = []
    var errors: [Diagnostic] = []
    var warnings: [Diagnostic] = []
    /// Files being read, outermost first, to report include cycles.
    var openFiles: [String] = []

    init(resolver: NameResolver) {
        self.resolver = resolver
    }

    // MARK: reading files

    mutating func readFile(_ path: String, format: ConfigFormat, includedFrom: SourceLocation?, depth: Int) {
        let bytes: [UInt8]
        do {
            bytes = try readWholeFile(path)
        } catch {
            let reason = errnoDescription(error.errno)
            if let includedFrom {
                errors.append(Diagnostic(includedFrom, "cannot read included file " + path + ": " + reason))
            } else {
                errors.append(Diagnostic(SourceLocation(file: path, line: 0), "cannot read configuration file: " + reason))
            }
            return
        }
        readText(bytes, file: path, format: format, depth: depth)
    }

    mutating func readText(_ bytes: [UInt8], file: String, format: ConfigFormat, depth: Int) {
        let isInetd: Bool
        switch format {
        case .automatic: isInetd = looksLikeInetdConf(bytes)
        case .xinetd: isInetd = false
        case .inetd: isInetd = true
        }
        if isInetd {
            let parsed = InetdConfParser.parse(bytes, file: file, resolver: resolver)
            serviceBlocks += parsed.blocks
            errors += parsed.errors
            return
        }

        openFiles.append(file)
        defer { openFiles.removeLast() }
        let parsed = XinetdParser.parse(bytes, file: file)
        errors += parsed.errors
        for entry in parsed.entries {
            switch entry {
            case .service(let block):
                serviceBlocks.append(block)
            case .defaults(let block):
                if let first = defaults {
                    errors.append(
                        Diagnostic(
                            block.location,
                            "a second defaults block is not allowed (the first is at " + first.location.file + ":"
                                + String(first.location.line) + "): merge them"))
                } else {
                    defaults = block
                }
            case .include(let path, let location):
                include(resolvePath(path, relativeTo: directoryName(file)), from: location, depth: depth)
            case .includeDirectory(let path, let location):
                includeDirectory(resolvePath(path, relativeTo: directoryName(file)), from: location, depth: depth)
            }
        }
    }

    private mutating func include(_ path: String, from location: SourceLocation, depth: Int) {
        if openFiles.contains(path) {
            errors.append(Diagnostic(location, "include of " + path + " makes a cycle: it is already being read"))
            return
        }
        if depth + 1 > ConfigurationLoader.maximumIncludeDepth {
            errors.append(
                Diagnostic(location, "include of " + path + " nests deeper than " + String(ConfigurationLoader.maximumIncludeDepth) + " files"))
            return
        }
        readFile(path, format: .xinetd, includedFrom: location, depth: depth + 1)
    }

    /// Reads every regular file of a directory in C-locale order, skipping
    /// names that contain a dot or end with `~`, as xinetd does (so that
    /// `foo.dpkg-old` and editor backups are not read).
    private mutating func includeDirectory(_ path: String, from location: SourceLocation, depth: Int) {
        let names: [String]
        do {
            names = try directoryEntries(path)
        } catch {
            errors.append(Diagnostic(location, "cannot read directory " + path + ": " + errnoDescription(error.errno)))
            return
        }
        let selected = names.filter { name in
            !name.utf8.contains(UInt8(ascii: ".")) && name.utf8.last != UInt8(ascii: "~")
        }.sorted(by: precedesInCLocale)
        for name in selected {
            let filePath = resolvePath(name, relativeTo: path)
            guard let status = fileStatus(filePath), status.isRegular else { continue }
            include(filePath, from: location, depth: depth)
        }
    }

    // MARK: building services

    mutating func finish() throws(ConfigurationError) -> Configuration {
        var resolvedDefaults = ResolvedAttributes()
        var disabledIDs: [String] = []
        var enabledIDs: [String]? = nil
        if let defaults {
            resolvedDefaults = resolveDefaults(defaults, errors: &errors, warnings: &warnings)
            disabledIDs = resolvedDefaults["disabled"]?.values.map { $0.text } ?? []
            enabledIDs = resolvedDefaults["enabled"]?.values.map { $0.text }
            resolvedDefaults.entries["disabled"] = nil
            resolvedDefaults.entries["enabled"] = nil
        }

        var services: [ServiceConfig] = []
        var disabledServices: [ServiceConfig] = []
        for block in serviceBlocks {
            var serviceWarnings: [Diagnostic] = []
            let attributes = resolveService(
                block, defaults: block.isInetdLine ? ResolvedAttributes() : resolvedDefaults,
                errors: &errors, warnings: &serviceWarnings)
            var builder = ServiceBuilder(block: block, attributes: attributes, resolver: resolver)
            builder.build(disabledIDs: disabledIDs, enabledIDs: enabledIDs)
            if builder.isDisabled {
                // A disabled service starts nothing, so what would stop it
                // from running is reported without failing the load.
                for problem in builder.problems {
                    warnings.append(Diagnostic(problem.location, problem.message + " (ignored because service " + block.name + " is disabled)"))
                }
                disabledServices.append(builder.service)
            } else {
                errors += builder.problems
                warnings += serviceWarnings + builder.warnings
                services.append(builder.service)
            }
        }

        checkUniqueIDs(services)
        checkListenConflicts(services)

        if !errors.isEmpty { throw ConfigurationError(errors) }
        return Configuration(services: services, disabledServices: disabledServices, warnings: warnings)
    }

    private mutating func checkUniqueIDs(_ services: [ServiceConfig]) {
        var seen: [String: ServiceConfig] = [:]
        for service in services {
            if let first = seen[service.id] {
                errors.append(
                    Diagnostic(
                        service.location,
                        "duplicate service id " + quoted(service.id) + ", also used at " + first.location.file + ":"
                            + String(first.location.line) + ": set a distinct id in one of them"))
            } else {
                seen[service.id] = service
            }
        }
    }

    private mutating func checkListenConflicts(_ services: [ServiceConfig]) {
        var claimed: [(spec: ListenSpec, service: ServiceConfig)] = []
        for service in services {
            for spec in service.listen {
                if let other = claimed.first(where: { listenSpecsConflict($0.spec, $0.service, spec, service) }) {
                    errors.append(
                        Diagnostic(
                            service.location,
                            "service " + service.id + " listens on " + spec.address.text + " (" + service.protocolName
                                + "), which service " + other.service.id + " at " + other.service.location.file + ":"
                                + String(other.service.location.line) + " already uses (" + other.spec.address.text + ")"))
                }
            }
            for spec in service.listen { claimed.append((spec, service)) }
        }
    }
}

/// Returns whether two sockets could not both be bound. They clash on the
/// same Unix path or abstract name, or on the same port and socket type with
/// overlapping addresses. A wildcard overlaps every address of its family,
/// and a dual-stack IPv6 wildcard overlaps IPv4 addresses too.
func listenSpecsConflict(_ first: ListenSpec, _ firstService: ServiceConfig, _ second: ListenSpec, _ secondService: ServiceConfig) -> Bool {
    switch (first.address, second.address) {
    case (.unix(let a), .unix(let b)), (.abstract(let a), .abstract(let b)):
        return a == b
    default:
        break
    }
    guard first.address.isInternet, second.address.isInternet,
        firstService.socketKind == secondService.socketKind,
        first.address.port == second.address.port
    else { return false }
    if first.address == second.address { return true }
    return covers(first, second.address) || covers(second, first.address)
}

/// Returns whether a wildcard listen spec takes the address `other`.
private func covers(_ spec: ListenSpec, _ other: SocketAddress) -> Bool {
    switch spec.address {
    case .ipv4(0, _):
        if case .ipv4 = other { return true }
        return false
    case .ipv6(0, 0, _):
        if case .ipv6 = other { return true }
        return !spec.v6only
    default:
        return false
    }
}
