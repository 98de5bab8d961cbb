/// Socket types an inetd.conf line may name in its second field.
let inetdSocketTypes = ["stream", "dgram", "raw", "rdm", "seqpacket"]

/// Returns whether a file reads as inetd.conf: its first line that is not
/// blank or a comment has at least six fields and a socket type second.
func looksLikeInetdConf(_ bytes: [UInt8]) -> Bool {
    guard let first = meaningfulLines(bytes).first else { return false }
    let fields = splitFields(first.bytes)
    return fields.count >= 6 && inetdSocketTypes.contains(fields[1])
}

/// Parses /etc/inetd.conf lines, as Debian's openbsd-inetd reads them, into
/// service blocks that the xinetd path then validates:
///
///     SERVICE SOCKET_TYPE PROTOCOL WAIT[.MAX] USER[:GROUP] SERVER [ARGV...]
///
/// A line that starts with a blank continues the previous entry, and a line
/// that holds only `HOST:` sets the host of the entries after it (`*:` resets
/// it), as in OpenBSD inetd.
struct InetdConfParser {
    let file: String
    let resolver: NameResolver
    private(set) var blocks: [AttributeBlock] = []
    private(set) var errors: [Diagnostic] = []
    private var defaultHost: String? = nil

    static let protocols = ["tcp", "udp", "tcp4", "udp4", "tcp6", "udp6", "tcp46", "udp46", "unix"]
    static let entryForm = "SERVICE SOCKET_TYPE PROTOCOL WAIT USER SERVER [ARGUMENTS...]"

    init(file: String, resolver: NameResolver) {
        self.file = file
        self.resolver = resolver
    }

    static func parse(_ bytes: [UInt8], file: String, resolver: NameResolver) -> (blocks: [AttributeBlock], errors: [Diagnostic]) {
        var parser = InetdConfParser(file: file, resolver: resolver)
        var pending: (fields: [String], line: Int)? = nil
        var number = 0
        for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            let content = trimmed(raw)
            if content.isEmpty || content.first == UInt8(ascii: "#") { continue }
            if let first = raw.first, isBlank(first), pending != nil {
                pending!.fields += splitFields(content)
                continue
            }
            if let entry = pending { parser.consume(entry.fields, line: entry.line) }
            pending = (splitFields(content), number)
        }
        if let entry = pending { parser.consume(entry.fields, line: entry.line) }
        return (parser.blocks, parser.errors)
    }

    private mutating func fail(_ location: SourceLocation, _ message: String) {
        errors.append(Diagnostic(location, message))
    }

    private mutating func consume(_ fields: [String], line: Int) {
        let location = SourceLocation(file: file, line: line)
        if fields.count == 1, fields[0].utf8.last == UInt8(ascii: ":") {
            let host = substring(fields[0], from: 0, to: fields[0].utf8.count - 1)
            defaultHost = host == "*" || host.isEmpty ? nil : host
            return
        }
        guard fields.count >= 6 else {
            fail(location, "incomplete inetd.conf entry: expected " + Self.entryForm + ", got " + String(fields.count) + " fields")
            return
        }

        let socketType = fields[1]
        let protocolField = fields[2]
        guard ["stream", "dgram", "seqpacket"].contains(socketType) else {
            let reason = inetdSocketTypes.contains(socketType) ? " (" + socketType + " is not supported)" : ""
            fail(location, "invalid socket type " + quoted(socketType) + reason + " in inetd.conf entry: expected stream, dgram or seqpacket")
            return
        }
        if protocolField.utf8.starts(with: "rpc/".utf8) {
            fail(location, "RPC service " + quoted(fields[0]) + " is not supported: sieste does not register services with rpcbind")
            return
        }
        guard Self.protocols.contains(protocolField) else {
            fail(location, "invalid protocol " + quoted(protocolField) + " in inetd.conf entry: expected " + listWithOr(Self.protocols))
            return
        }
        let transport = substring(protocolField, from: 0, to: 3)
        if protocolField != "unix" {
            let expectedType = transport == "tcp" ? "stream" : "dgram"
            if socketType != expectedType {
                fail(location, "protocol " + protocolField + " does not match socket type " + socketType + ": use " + expectedType)
                return
            }
        }

        var statements: [AttributeStatement] = []
        func add(_ name: String, _ values: [String]) {
            statements.append(AttributeStatement(name: name, operation: .set, values: values, location: location))
        }
        add("socket_type", [socketType])

        guard let waitFlag = parseWaitField(fields[3], location) else { return }
        add("wait", [waitFlag.wait ? "yes" : "no"])
        // NOTE: OpenBSD inetd reads `.MAX` as a per-minute spawn rate; sieste
        // reads it as the number of concurrent instances.
        if let maximum = waitFlag.maximum { add("instances", [maximum]) }

        let (userName, groupName) = splitUserField(fields[4])
        add("user", [userName])
        if let groupName { add("group", [groupName]) }

        let server = fields[5]
        let arguments = Array(fields[6...])
        if server == "internal" {
            add("type", ["INTERNAL"])
        } else {
            add("server", [server])
            add("flags", ["NAMEINARGS"])
            add("server_args", arguments.isEmpty ? [baseName(server)] : arguments)
        }

        let (host, serviceName) = splitServiceField(fields[0], isUnix: protocolField == "unix")
        guard let listen = listenSpecs(host: host ?? defaultHost, service: serviceName, protocolField: protocolField, transport: transport, location) else { return }
        let hostPrefix = host.map { $0 + ":" } ?? ""
        add("id", [hostPrefix + serviceName + "/" + protocolField])

        var block = AttributeBlock(name: serviceName, location: location, statements: statements)
        block.presetListen = listen
        block.isInetdLine = true
        blocks.append(block)
    }

    /// `wait`, `nowait`, optionally followed by `.MAX`.
    private mutating func parseWaitField(_ field: String, _ location: SourceLocation) -> (wait: Bool, maximum: String?)? {
        var word = field
        var maximum: String? = nil
        if let dot = firstIndex(of: UInt8(ascii: "."), in: field) {
            word = substring(field, from: 0, to: dot)
            maximum = substring(field, from: dot + 1)
        }
        guard word == "wait" || word == "nowait" else {
            fail(location, "invalid wait field " + quoted(field) + " in inetd.conf entry: expected wait or nowait, optionally with .MAX (nowait.40)")
            return nil
        }
        if let maximum, parseUnsigned(maximum, limit: 1_000_000) == nil {
            fail(location, "invalid wait field " + quoted(field) + " in inetd.conf entry: expected a number after the dot")
            return nil
        }
        return (word == "wait", maximum)
    }

    /// `user`, `user:group` or `user.group`.
    private func splitUserField(_ field: String) -> (user: String, group: String?) {
        for separator in [UInt8(ascii: ":"), UInt8(ascii: ".")] {
            if let index = firstIndex(of: separator, in: field) {
                return (substring(field, from: 0, to: index), substring(field, from: index + 1))
            }
        }
        return (field, nil)
    }

    /// `service`, `host:service` or `[v6]:service`; a Unix path stays whole.
    private func splitServiceField(_ field: String, isUnix: Bool) -> (host: String?, service: String) {
        if isUnix { return (nil, field) }
        if let (host, service) = splitHostPort(field) {
            return (host == "*" ? nil : host, service)
        }
        return (nil, field)
    }

    /// The sockets of an entry. `tcp` and `udp` give one IPv4 and one
    /// IPv6-only socket, as Debian's openbsd-inetd does; `tcp4` and `tcp6`
    /// one of them; `tcp46` one dual-stack socket.
    private mutating func listenSpecs(
        host: String?, service: String, protocolField: String, transport: String, _ location: SourceLocation
    ) -> [ListenSpec]? {
        if protocolField == "unix" {
            guard service.utf8.first == UInt8(ascii: "/"), service.utf8.count <= 107 else {
                fail(location, "invalid socket path " + quoted(service) + " for protocol unix: expected an absolute path of at most 107 bytes")
                return nil
            }
            return [ListenSpec(address: .unix(service))]
        }

        let port: UInt16
        if let number = parsePort(service) {
            port = number
        } else if let known = resolver.servicePort(service, transport) {
            port = known
        } else {
            fail(location, "service " + quoted(service) + " is not in /etc/services for " + transport + ": use a port number")
            return nil
        }

        let suffix = substring(protocolField, from: 3)
        let ipv4 = ListenSpec(address: .ipv4(0, port: port))
        let ipv6Only = ListenSpec(address: .ipv6(high: 0, low: 0, port: port), v6only: true)
        let dualStack = ListenSpec(address: .ipv6(high: 0, low: 0, port: port), v6only: false)

        guard let host else {
            switch suffix {
            case "4": return [ipv4]
            case "6": return [ipv6Only]
            case "46": return [dualStack]
            default: return [ipv4, ipv6Only]
            }
        }
        var address: SocketAddress? = parseIPAddress(stripBrackets(host))?.unmapped
        if address == nil { address = resolver.host(host)?.withPort(0) }
        guard let address else {
            fail(location, "cannot resolve host " + quoted(host) + " in inetd.conf entry: expected an IP address or a resolvable host name")
            return nil
        }
        let isIPv4 = address.family == SocketAddress.ipv4Any.family
        if (isIPv4 && suffix == "6") || (!isIPv4 && suffix == "4") {
            fail(location, "host " + host + " does not match protocol " + protocolField)
            return nil
        }
        return [ListenSpec(address: address.withPort(port), v6only: !isIPv4 && suffix != "46")]
    }
}
