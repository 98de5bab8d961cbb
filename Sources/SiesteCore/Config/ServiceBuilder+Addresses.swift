/// The address family of a port written without a host, chosen by `flags`.
enum WildcardFamily {
    /// One IPv6 socket that also receives IPv4 clients unless v6only.
    case dualStack
    case ipv4
    case ipv6
}

extension ServiceBuilder {
    static let listenForms = "a port (8080), ADDRESS:PORT (127.0.0.1:8080, [::1]:8080), a socket path (/run/x.sock) or @name"

    var wildcardFamily: WildcardFamily {
        if flags.contains("IPv4") { return .ipv4 }
        if flags.contains("IPv6") { return .ipv6 }
        return .dualStack
    }

    // MARK: listen, port and bind

    mutating func readAddresses() {
        let v6only = yesNo("v6only") ?? false
        if let preset = block.presetListen {
            service.listen = preset
            if !preset.isEmpty && preset.allSatisfy({ !$0.address.isInternet }) { service.protocolName = "unix" }
            return
        }

        let listenValues = values("listen")
        if !listenValues.isEmpty {
            readListen(listenValues, v6only: v6only)
            return
        }
        if service.socketKind == .seqpacket && socketKindWritten {
            problem(location(of: "socket_type"), "socket_type seqpacket needs Unix socket addresses in listen (/run/x.sock or @name)")
            return
        }
        guard let port = readPort() else { return }
        var address: SocketAddress
        switch wildcardFamily {
        case .ipv4: address = .ipv4(0, port: port)
        case .ipv6, .dualStack: address = .ipv6(high: 0, low: 0, port: port)
        }
        if let bind = attributes["bind"], let value = bind.values.first {
            guard let bound = hostAddress(value.text) else {
                problem(
                    value.location,
                    "cannot resolve host " + quoted(value.text) + " for " + bind.writtenName
                        + ": expected an IP address or a resolvable host name")
                return
            }
            guard familyAgrees(bound, value, bind.writtenName) else { return }
            address = bound.withPort(port)
        }
        let isIPv6 = address.family != ipv4Family
        service.listen = [ListenSpec(address: address, v6only: isIPv6 && v6only)]
    }

    private var ipv4Family: Int32 { SocketAddress.ipv4Any.family }

    private mutating func readListen(_ listenValues: [AttributeValue], v6only: Bool) {
        for attribute in ["port", "bind"] {
            if let entry = attributes[attribute], !entry.fromDefaults {
                problem(entry.location, entry.writtenName + " and listen cannot both be set in service " + block.name + ": put the address in listen")
            }
        }
        var specs: [ListenSpec] = []
        for value in listenValues {
            if let spec = parseListen(value, v6only: v6only) { specs.append(spec) }
        }
        let unixCount = specs.filter { !$0.address.isInternet }.count
        if unixCount > 0 && unixCount < specs.count {
            problem(location(of: "listen"), "listen mixes socket paths and IP addresses in service " + block.name + ": use one service for each")
        } else if unixCount > 0 {
            service.protocolName = "unix"
        } else if service.socketKind == .seqpacket && !specs.isEmpty {
            problem(location(of: "socket_type"), "socket_type seqpacket needs Unix socket addresses in listen (/run/x.sock or @name)")
        }
        for (index, spec) in specs.enumerated() where specs[..<index].contains(spec) {
            problem(location(of: "listen"), "listen names " + spec.address.text + " twice in service " + block.name)
        }
        service.listen = specs
    }

    /// Parses one `listen` value.
    mutating func parseListen(_ value: AttributeValue, v6only: Bool) -> ListenSpec? {
        let text = value.text
        let bytes = Array(text.utf8)
        if bytes.first == UInt8(ascii: "/") {
            guard bytes.count <= 107 else {
                invalid(value, for: "listen", expected: "a socket path of at most 107 bytes")
                return nil
            }
            return ListenSpec(address: .unix(text))
        }
        if bytes.first == UInt8(ascii: "@") {
            guard bytes.count >= 2 && bytes.count <= 107 else {
                invalid(value, for: "listen", expected: "an abstract socket name of 1 to 106 bytes after @")
                return nil
            }
            return ListenSpec(address: .abstract(substring(text, from: 1)))
        }
        if let port = parsePort(text) {
            return wildcard(port: port, v6only: v6only)
        }
        guard let (host, portText) = splitHostPort(text), let port = parsePort(portText) else {
            invalid(value, for: "listen", expected: Self.listenForms)
            return nil
        }
        if host == "*" { return wildcard(port: port, v6only: v6only) }
        guard let address = parseIPAddress(host) else {
            invalid(value, for: "listen", expected: Self.listenForms + "; host names are not accepted")
            return nil
        }
        guard familyAgrees(address, value, "listen") else { return nil }
        let isIPv6 = address.family != ipv4Family
        return ListenSpec(address: address.withPort(port), v6only: isIPv6 && v6only)
    }

    private func wildcard(port: UInt16, v6only: Bool) -> ListenSpec {
        switch wildcardFamily {
        case .ipv4: return ListenSpec(address: .ipv4(0, port: port))
        case .ipv6, .dualStack: return ListenSpec(address: .ipv6(high: 0, low: 0, port: port), v6only: v6only)
        }
    }

    /// Checks an address against `flags = IPv4` or `flags = IPv6`.
    private mutating func familyAgrees(_ address: SocketAddress, _ value: AttributeValue, _ name: String) -> Bool {
        let isIPv4 = address.family == ipv4Family
        if isIPv4 && flags.contains("IPv6") {
            problem(value.location, name + " " + value.text + " is an IPv4 address but flags has IPv6")
            return false
        }
        if !isIPv4 && flags.contains("IPv4") {
            problem(value.location, name + " " + value.text + " is an IPv6 address but flags has IPv4")
            return false
        }
        return true
    }

    /// Returns the port from `port`, else from /etc/services by service name.
    private mutating func readPort() -> UInt16? {
        if let value = single("port") {
            if let port = parsePort(value.text) { return port }
            invalid(value, for: "port", expected: "a port number from 1 to 65535")
            return nil
        }
        if isUnlisted {
            problem(block.location, "service " + block.name + " is UNLISTED and needs port or listen")
            return nil
        }
        let protocolName = service.protocolName
        guard protocolName == "tcp" || protocolName == "udp" else {
            problem(block.location, "service " + block.name + " with protocol " + protocolName + " needs listen")
            return nil
        }
        if let port = resolver.servicePort(block.name, protocolName) { return port }
        problem(
            block.location,
            "service " + block.name + " is not in /etc/services for " + protocolName + ": set port or listen")
        return nil
    }

    /// Parses an IP literal (brackets allowed around IPv6) or resolves a host name.
    func hostAddress(_ text: String) -> SocketAddress? {
        if let address = parseIPAddress(stripBrackets(text)) { return address.unmapped }
        return resolver.host(text)?.withPort(0)
    }

    // MARK: redirect

    mutating func readRedirect() {
        let redirectValues = values("redirect")
        guard let first = redirectValues.first else { return }
        let expected = "HOST PORT, ADDRESS:PORT ([::1]:8080), a socket path (/run/x.sock) or @name"

        if redirectValues.count == 2 {
            let portValue = redirectValues[1]
            guard let port = parsePort(portValue.text) else {
                invalid(portValue, for: "redirect", expected: "a port number from 1 to 65535 after the host")
                return
            }
            guard let address = hostAddress(first.text) else {
                problem(first.location, "cannot resolve host " + quoted(first.text) + " for redirect: expected an IP address or a resolvable host name")
                return
            }
            service.redirect = address.withPort(port)
            return
        }

        let text = first.text
        if text.utf8.first == UInt8(ascii: "/") {
            service.redirect = .unix(text)
            return
        }
        if text.utf8.first == UInt8(ascii: "@") && text.utf8.count > 1 {
            service.redirect = .abstract(substring(text, from: 1))
            return
        }
        guard let (host, portText) = splitHostPort(text), let port = parsePort(portText) else {
            invalid(first, for: "redirect", expected: expected)
            return
        }
        guard let address = hostAddress(host) else {
            problem(first.location, "cannot resolve host " + quoted(host) + " for redirect: expected an IP address or a resolvable host name")
            return
        }
        service.redirect = address.withPort(port)
    }

    // MARK: only_from and no_access

    mutating func readAccessLists() {
        if let entry = attributes["only_from"] {
            // xinetd: only_from with no value makes the service available to nobody.
            service.rejectsAllPeers = entry.values.isEmpty
            service.onlyFrom = entry.values.flatMap { parsePrefixes($0, for: "only_from") }
        }
        service.noAccess = values("no_access").flatMap { parsePrefixes($0, for: "no_access") }
    }

    /// Parses one address-list value into prefixes: an address, a CIDR
    /// prefix, xinetd's trailing-zero and `{a,b}` forms, or a host name
    /// resolved now.
    mutating func parsePrefixes(_ value: AttributeValue, for name: String) -> [NetworkPrefix] {
        let text = value.text
        let expected = "an IPv4 or IPv6 address, a CIDR prefix (192.0.2.0/24, 2001:db8::/32) or a resolvable host name"
        if text == "0.0.0.0" {
            // xinetd: 0.0.0.0 matches every address, IPv6 peers included.
            return [
                NetworkPrefix(address: .ipv4(0, port: 0), length: 0),
                NetworkPrefix(address: .ipv6(high: 0, low: 0, port: 0), length: 0),
            ]
        }
        if text.utf8.first == UInt8(ascii: ".") {
            problem(value.location, "domain pattern " + quoted(text) + " in " + name + " needs reverse DNS lookups, which sieste does not do: use addresses or CIDR prefixes")
            return []
        }
        if text.utf8.contains(UInt8(ascii: "{")) {
            guard let prefixes = parseFactorized(text) else {
                invalid(value, for: name, expected: "a factorized address such as 192.0.2.{1,5,9}")
                return []
            }
            return prefixes
        }
        if let slash = firstIndex(of: UInt8(ascii: "/"), in: text) {
            let addressText = stripBrackets(substring(text, from: 0, to: slash))
            let lengthText = substring(text, from: slash + 1)
            guard let address = parseIPAddress(addressText) else {
                invalid(value, for: name, expected: expected)
                return []
            }
            let maximum: UInt64 = address.family == ipv4Family ? 32 : 128
            guard let length = parseUnsigned(lengthText, limit: maximum) else {
                invalid(value, for: name, expected: "a prefix length from 0 to " + String(maximum) + " after /")
                return []
            }
            return [normalizedPrefix(address, length: Int(length))]
        }
        if let v4 = parseIPv4(text) {
            // xinetd: trailing zero octets are wildcards (10.1.0.0 is 10.1/16).
            var length = 32
            var rest = v4
            while length > 0 && rest & 0xff == 0 {
                length -= 8
                rest >>= 8
            }
            return [NetworkPrefix(address: .ipv4(v4, port: 0), length: length)]
        }
        if let address = parseIPAddress(stripBrackets(text)) {
            return [normalizedPrefix(address, length: 128)]
        }
        if let resolved = resolver.host(text) {
            let unmapped = resolved.unmapped.withPort(0)
            return [NetworkPrefix(address: unmapped, length: unmapped.family == ipv4Family ? 32 : 128)]
        }
        problem(value.location, "cannot resolve host " + quoted(text) + " in " + name + ": expected " + expected)
        return []
    }

    /// Turns an IPv4-mapped IPv6 prefix into the IPv4 prefix it covers, so
    /// that `::ffff:192.0.2.0/120` and `192.0.2.0/24` behave the same.
    private func normalizedPrefix(_ address: SocketAddress, length: Int) -> NetworkPrefix {
        if address.family != ipv4Family, length >= 96, case .ipv4 = address.unmapped {
            return NetworkPrefix(address: address.unmapped.withPort(0), length: length - 96)
        }
        return NetworkPrefix(address: address.withPort(0), length: length)
    }

    /// Expands `a.b.c.{x,y}` into one prefix per listed value.
    private func parseFactorized(_ text: String) -> [NetworkPrefix]? {
        guard let open = firstIndex(of: UInt8(ascii: "{"), in: text), text.utf8.last == UInt8(ascii: "}") else { return nil }
        let head = substring(text, from: 0, to: open)
        let inner = substring(text, from: open + 1, to: text.utf8.count - 1)
        guard head.utf8.last == UInt8(ascii: ".") else { return nil }
        let leading = Array(head.utf8.dropLast()).split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard leading.count >= 1 && leading.count <= 3 else { return nil }
        var octets: [UInt32] = []
        for part in leading {
            guard let octet = parseUnsigned(part, limit: 255) else { return nil }
            octets.append(UInt32(octet))
        }
        var prefixes: [NetworkPrefix] = []
        for item in Array(inner.utf8).split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            guard let last = parseUnsigned(item, limit: 255) else { return nil }
            var value: UInt32 = 0
            let all = octets + [UInt32(last)]
            for index in 0..<4 { value = value << 8 | (index < all.count ? all[index] : 0) }
            prefixes.append(NetworkPrefix(address: .ipv4(value, port: 0), length: 8 * all.count))
        }
        return prefixes.isEmpty ? nil : prefixes
    }

    // MARK: Unix socket ownership

    mutating func readUnixSocketOwnership() {
        let names = ["socket_mode", "socket_user", "socket_group"]
        let hasUnixAddress = service.listen.contains { !$0.address.isInternet }
        if !hasUnixAddress {
            for name in names {
                if let entry = attributes[name] {
                    problem(entry.location, name + " applies only to Unix socket paths in listen, and service " + block.name + " has none")
                }
            }
            return
        }
        if let value = single("socket_mode") {
            if let mode = parseOctal(value.text, limit: 0o7777) {
                service.socketMode = mode
            } else {
                invalid(value, for: "socket_mode", expected: "an octal mode such as 0660")
            }
        }
        if let value = single("socket_user") {
            service.socketOwner = lookUpUser(value, for: "socket_user")?.uid
        }
        if let value = single("socket_group") {
            service.socketGroup = lookUpGroup(value, for: "socket_group")
        }
    }
}

/// Splits `host:port` at the last colon; `[v6]:port` loses its brackets.
func splitHostPort(_ text: String) -> (host: String, port: String)? {
    let bytes = Array(text.utf8)
    if bytes.first == UInt8(ascii: "[") {
        guard let close = bytes.firstIndex(of: UInt8(ascii: "]")), close + 1 < bytes.count, bytes[close + 1] == UInt8(ascii: ":") else { return nil }
        return (String(decoding: bytes[1..<close], as: UTF8.self), String(decoding: bytes[(close + 2)...], as: UTF8.self))
    }
    guard let colon = bytes.lastIndex(of: UInt8(ascii: ":")), colon > 0 else { return nil }
    let host = bytes[..<colon]
    // An IPv6 literal without brackets is ambiguous with a port.
    guard !host.contains(UInt8(ascii: ":")) else { return nil }
    return (String(decoding: host, as: UTF8.self), String(decoding: bytes[(colon + 1)...], as: UTF8.self))
}

/// Removes the brackets of `[2001:db8::1]`.
func stripBrackets(_ text: String) -> String {
    let bytes = Array(text.utf8)
    if bytes.count >= 2 && bytes.first == UInt8(ascii: "[") && bytes.last == UInt8(ascii: "]") {
        return String(decoding: bytes[1..<(bytes.count - 1)], as: UTF8.self)
    }
    return text
}
