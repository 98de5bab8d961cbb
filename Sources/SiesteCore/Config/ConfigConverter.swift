/// The format `sieste convert` reads.
public enum ConversionSource: Sendable {
    /// systemd units when the file name ends with `.socket` or `.service`,
    /// else inetd.conf.
    case automatic
    case inetd
    /// A `.socket` unit and the service unit it activates.
    case systemd
}

/// One `service` block of converted output, before it is printed.
struct ConvertedService {
    var name: String
    /// Comment lines printed above the block, without the leading `# `.
    var origin: [String]
    var attributes: [(name: String, values: [String])] = []
    /// Source lines that have no sieste equivalent, printed as comments
    /// at the end of the block.
    var notConverted: [String] = []

    init(name: String, origin: [String]) {
        self.name = name
        self.origin = origin
    }

    mutating func set(_ name: String, _ values: [String]) {
        attributes.append((name, values))
    }
}

/// The output of a conversion: the text to print, or the errors that
/// prevented it, and warnings about what was left out.
public struct ConversionResult: Sendable {
    /// Native configuration text; empty when there are errors.
    public var text: String
    public var errors: [Diagnostic]
    public var warnings: [Diagnostic]
}

/// Converts an inetd.conf file or a systemd socket unit and its service
/// unit into sieste's native xinetd-style configuration.
public struct ConfigConverter {
    public var resolver: NameResolver

    public init(resolver: NameResolver = .system) {
        self.resolver = resolver
    }

    /// Reads `path` and returns the converted text. Nothing is validated
    /// beyond what the conversion needs: users, groups and programs are
    /// checked when the output is loaded.
    public func convert(path: String, format: ConversionSource = .automatic) -> ConversionResult {
        let isSystemd: Bool
        switch format {
        case .automatic: isSystemd = hasSuffix(path, ".socket") || hasSuffix(path, ".service")
        case .inetd: isSystemd = false
        case .systemd: isSystemd = true
        }

        let bytes: [UInt8]
        do {
            bytes = try readWholeFile(path)
        } catch {
            let diagnostic = Diagnostic(SourceLocation(file: path, line: 0), "cannot read file: " + errnoDescription(error.errno))
            return ConversionResult(text: "", errors: [diagnostic], warnings: [])
        }

        var services: [ConvertedService] = []
        var errors: [Diagnostic] = []
        var warnings: [Diagnostic] = []
        if isSystemd {
            var conversion = SystemdConversion(path: path, bytes: bytes)
            if let service = conversion.convert() { services.append(service) }
            errors = conversion.errors
            warnings = conversion.warnings
        } else {
            (services, errors, warnings) = convertInetd(bytes, file: path)
        }

        if !errors.isEmpty { return ConversionResult(text: "", errors: errors, warnings: warnings) }
        return ConversionResult(text: render(services), errors: [], warnings: warnings)
    }

    // MARK: inetd.conf

    /// Converts inetd.conf entries through the loader's own `InetdConfParser`,
    /// so that the output means what loading the file directly means.
    func convertInetd(_ bytes: [UInt8], file: String) -> ([ConvertedService], [Diagnostic], [Diagnostic]) {
        if let first = meaningfulLines(bytes).first {
            let location = SourceLocation(file: file, line: first.number)
            let fields = splitFields(first.bytes)
            if let word = fields.first, ["service", "defaults", "include", "includedir"].contains(word) {
                return ([], [Diagnostic(location, "this file is already in xinetd syntax, which sieste loads as it is: nothing to convert")], [])
            }
            if fields.count == 1, first.bytes.first == UInt8(ascii: "["), first.bytes.last == UInt8(ascii: "]") {
                return ([], [Diagnostic(location, "this file looks like a systemd unit: convert the X.socket unit, or pass --format systemd")], [])
            }
        }

        let parsed = InetdConfParser.parse(bytes, file: file, resolver: resolver)
        var warnings: [Diagnostic] = []
        if parsed.blocks.isEmpty && parsed.errors.isEmpty {
            warnings.append(Diagnostic(SourceLocation(file: file, line: 0), "no inetd.conf entries found"))
        }
        let services = parsed.blocks.map { block in
            var service = ConvertedService(name: block.name, origin: ["from " + file + ":" + String(block.location.line)])
            for statement in block.statements {
                service.set(statement.name, statement.values)
            }
            if let listen = block.presetListen {
                // An inetd.conf entry gives all of its IPv6 sockets the same
                // IPV6_V6ONLY setting, so one `v6only` line expresses it.
                service.set("listen", listen.map { $0.address.text })
                if listen.contains(where: { $0.v6only }) { service.set("v6only", ["yes"]) }
            }
            return service
        }
        return (services, parsed.errors, warnings)
    }

    // MARK: output

    /// The order attributes are printed in: what runs, then where it listens,
    /// then limits and stopping. Attributes not listed follow in the order
    /// they were set.
    static let attributeOrder = [
        "id", "type", "socket_type", "protocol", "wait", "handoff", "user", "group", "server", "server_args", "flags",
        "env", "working_directory", "umask", "nice", "rlimit_files", "rlimit_nproc", "listen", "v6only", "backlog",
        "fd_names", "socket_mode", "socket_user", "socket_group", "instances", "per_source", "stderr", "stop_signal",
        "stop_timeout",
    ]

    func render(_ services: [ConvertedService]) -> String {
        var text = ""
        for (index, service) in services.enumerated() {
            if index > 0 { text += "\n" }
            text += render(service)
        }
        return text
    }

    func render(_ service: ConvertedService) -> String {
        var text = ""
        for line in service.origin { text += "# " + line + "\n" }
        text += "service " + service.name + "\n{\n"

        let ordered = service.attributes.enumerated().sorted { left, right in
            let leftRank = Self.attributeOrder.firstIndex(of: left.element.name) ?? Self.attributeOrder.count
            let rightRank = Self.attributeOrder.firstIndex(of: right.element.name) ?? Self.attributeOrder.count
            return leftRank != rightRank ? leftRank < rightRank : left.offset < right.offset
        }
        var width = 0
        for entry in ordered { width = max(width, entry.element.name.utf8.count) }
        for entry in ordered {
            let name = entry.element.name
            var line = "    " + name + String(repeating: " ", count: width - name.utf8.count) + " ="
            for value in entry.element.values { line += " " + value }
            text += line + "\n"
        }
        for line in service.notConverted { text += "    # not converted: " + line + "\n" }
        return text + "}\n"
    }
}

func hasSuffix(_ text: String, _ suffix: String) -> Bool {
    let bytes = Array(text.utf8)
    let tail = Array(suffix.utf8)
    return bytes.count >= tail.count && bytes[(bytes.count - tail.count)...].elementsEqual(tail)
}
