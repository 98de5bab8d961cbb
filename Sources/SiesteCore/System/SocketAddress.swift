import CSieste

/// A socket address of one of the three families sieste listens on.
public enum SocketAddress: Hashable, Sendable {
    /// Four bytes in network order and a port.
    case ipv4(UInt32, port: UInt16)
    /// Sixteen bytes as two big-endian halves, and a port.
    case ipv6(high: UInt64, low: UInt64, port: UInt16)
    /// A filesystem path.
    case unix(String)
    /// A Linux abstract socket name, written `@name`.
    case abstract(String)

    public static let ipv4Any = SocketAddress.ipv4(0, port: 0)

    public var port: UInt16? {
        switch self {
        case .ipv4(_, let port), .ipv6(_, _, let port): return port
        case .unix, .abstract: return nil
        }
    }

    public func withPort(_ port: UInt16) -> SocketAddress {
        switch self {
        case .ipv4(let bytes, _): return .ipv4(bytes, port: port)
        case .ipv6(let high, let low, _): return .ipv6(high: high, low: low, port: port)
        case .unix, .abstract: return self
        }
    }

    public var family: Int32 {
        switch self {
        case .ipv4: return AF_INET
        case .ipv6: return AF_INET6
        case .unix, .abstract: return AF_UNIX
        }
    }

    public var isInternet: Bool { family != AF_UNIX }

    /// The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d),
    /// or the address itself, so that such a peer is its IPv4 address
    /// everywhere.
    public var unmapped: SocketAddress {
        if case .ipv6(let high, let low, let port) = self, high == 0, low >> 32 == 0xffff {
            return .ipv4(UInt32(truncatingIfNeeded: low), port: port)
        }
        return self
    }

    /// The host part as text: `192.0.2.7`, `2001:db8::1`, a path, or `@name`.
    public var hostText: String {
        switch self {
        case .ipv4(let bytes, _):
            return String(bytes >> 24) + "." + String((bytes >> 16) & 0xff) + "."
                + String((bytes >> 8) & 0xff) + "." + String(bytes & 0xff)
        case .ipv6(let high, let low, _):
            return formatIPv6(high: high, low: low)
        case .unix(let path):
            return path
        case .abstract(let name):
            return "@" + name
        }
    }

    /// The address as written in configuration and logs:
    /// `127.0.0.1:8080`, `[::1]:8080`, `/run/x.sock`, `@name`.
    public var text: String {
        switch self {
        case .ipv4(_, let port): return hostText + ":" + String(port)
        case .ipv6(_, _, let port): return "[" + hostText + "]:" + String(port)
        case .unix, .abstract: return hostText
        }
    }

    // MARK: conversion to and from the C form

    func withCAddress<R>(_ body: (UnsafePointer<csieste_addr>) -> R) -> R {
        var address = csieste_addr()
        address.family = family
        withUnsafeMutableBytes(of: &address.bytes) { raw in
            switch self {
            case .ipv4(let value, _):
                raw[0] = UInt8(value >> 24)
                raw[1] = UInt8((value >> 16) & 0xff)
                raw[2] = UInt8((value >> 8) & 0xff)
                raw[3] = UInt8(value & 0xff)
            case .ipv6(let high, let low, _):
                for index in 0..<8 {
                    raw[index] = UInt8((high >> UInt64(56 - 8 * index)) & 0xff)
                    raw[8 + index] = UInt8((low >> UInt64(56 - 8 * index)) & 0xff)
                }
            case .unix, .abstract:
                break
            }
        }
        address.port = port ?? 0
        var pathBytes: [UInt8] = []
        switch self {
        case .unix(let path):
            pathBytes = Array(path.utf8)
            pathBytes.append(0)
        case .abstract(let name):
            pathBytes = [0] + Array(name.utf8)
        default:
            break
        }
        let pathCount = min(pathBytes.count, 108)
        address.path_len = Int32(pathCount)
        withUnsafeMutableBytes(of: &address.path) { raw in
            for index in 0..<pathCount { raw[index] = pathBytes[index] }
        }
        return withUnsafePointer(to: &address) { body($0) }
    }

    init(_ address: csieste_addr) {
        var copy = address
        switch address.family {
        case AF_INET:
            let value = withUnsafeBytes(of: &copy.bytes) { raw in
                UInt32(raw[0]) << 24 | UInt32(raw[1]) << 16 | UInt32(raw[2]) << 8 | UInt32(raw[3])
            }
            self = .ipv4(value, port: address.port)
        case AF_INET6:
            let (high, low) = withUnsafeBytes(of: &copy.bytes) { raw -> (UInt64, UInt64) in
                var high: UInt64 = 0
                var low: UInt64 = 0
                for index in 0..<8 {
                    high = high << 8 | UInt64(raw[index])
                    low = low << 8 | UInt64(raw[8 + index])
                }
                return (high, low)
            }
            self = .ipv6(high: high, low: low, port: address.port)
        default:
            let count = Int(address.path_len)
            let bytes = withUnsafeBytes(of: &copy.path) { raw in Array(raw[0..<min(count, 108)]) }
            if let first = bytes.first, first == 0 {
                self = .abstract(String(decoding: bytes.dropFirst(), as: UTF8.self))
            } else {
                // Unnamed client sockets have no path; keep an empty one.
                let end = bytes.firstIndex(of: 0) ?? bytes.count
                self = .unix(String(decoding: bytes[0..<end], as: UTF8.self))
            }
        }
    }
}

/// Formats sixteen bytes as RFC 5952 text: lower case, the longest run of
/// two or more zero groups written `::`.
func formatIPv6(high: UInt64, low: UInt64) -> String {
    var groups: [UInt16] = []
    for index in 0..<4 { groups.append(UInt16((high >> UInt64(48 - 16 * index)) & 0xffff)) }
    for index in 0..<4 { groups.append(UInt16((low >> UInt64(48 - 16 * index)) & 0xffff)) }
    var bestStart = -1
    var bestLength = 0
    var index = 0
    while index < 8 {
        if groups[index] == 0 {
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index > bestLength && end - index >= 2 {
                bestStart = index
                bestLength = end - index
            }
            index = end
        } else {
            index += 1
        }
    }
    if bestStart == 0 && bestLength == 5 && groups[5] == 0xffff {
        // IPv4-mapped: ::ffff:a.b.c.d
        let v4 = UInt32(groups[6]) << 16 | UInt32(groups[7])
        return "::ffff:" + SocketAddress.ipv4(v4, port: 0).hostText
    }
    var text = ""
    index = 0
    while index < 8 {
        if index == bestStart {
            text += "::"
            index += bestLength
            continue
        }
        if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
        text += String(groups[index], radix: 16)
        index += 1
    }
    return text
}
