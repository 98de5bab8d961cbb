import CSieste

// Parsers for the scalar values of configuration attributes. They work on
// UTF-8 bytes, return nil for anything malformed and never trap on overflow,
// so that each caller can turn a nil into a message naming the attribute.

/// Parses a duration: a plain number is seconds; `ms`, `s`, `m`, `h` and `d`
/// suffixes set the unit (`250ms`, `30s`, `5m`, `1h`, `2d`). Returns nil for
/// negative values, fractions, unknown units and values that overflow.
public func parseDuration(_ text: String) -> Milliseconds? {
    let bytes = Array(text.utf8)
    var index = 0
    while index < bytes.count && isDigit(bytes[index]) { index += 1 }
    guard index > 0, let number = parseUnsigned(bytes[0..<index], limit: UInt64(Int64.max)) else { return nil }

    let unit = bytes[index...]
    let scale: Int64
    if unit.isEmpty || unit.elementsEqual("s".utf8) {
        scale = 1000
    } else if unit.elementsEqual("ms".utf8) {
        scale = 1
    } else if unit.elementsEqual("m".utf8) {
        scale = 60_000
    } else if unit.elementsEqual("h".utf8) {
        scale = 3_600_000
    } else if unit.elementsEqual("d".utf8) {
        scale = 86_400_000
    } else {
        return nil
    }
    let (result, overflow) = Int64(number).multipliedReportingOverflow(by: scale)
    return overflow ? nil : result
}

/// Signal names accepted by `stop_signal`, without the `SIG` prefix.
let signalNames: [(name: String, number: Int32)] = [
    ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("ILL", SIGILL),
    ("TRAP", SIGTRAP), ("ABRT", SIGABRT), ("BUS", SIGBUS), ("FPE", SIGFPE),
    ("KILL", SIGKILL), ("USR1", SIGUSR1), ("SEGV", SIGSEGV), ("USR2", SIGUSR2),
    ("PIPE", SIGPIPE), ("ALRM", SIGALRM), ("TERM", SIGTERM), ("CHLD", SIGCHLD),
    ("CONT", SIGCONT), ("STOP", SIGSTOP), ("TSTP", SIGTSTP), ("TTIN", SIGTTIN),
    ("TTOU", SIGTTOU), ("URG", SIGURG), ("XCPU", SIGXCPU), ("XFSZ", SIGXFSZ),
    ("VTALRM", SIGVTALRM), ("PROF", SIGPROF), ("WINCH", SIGWINCH), ("IO", SIGIO),
    ("PWR", SIGPWR), ("SYS", SIGSYS),
]

/// Parses a signal as a name (`TERM`, `SIGTERM`, either case) or a number
/// from 1 to 64 (Linux's highest real-time signal).
public func parseSignal(_ text: String) -> Int32? {
    var bytes = Array(text.utf8)
    if let number = parseUnsigned(bytes[...], limit: 64) {
        return number >= 1 ? Int32(number) : nil
    }
    bytes = bytes.map(upperCased)
    if bytes.count > 3 && bytes[0..<3].elementsEqual("SIG".utf8) {
        bytes.removeFirst(3)
    }
    for entry in signalNames where entry.name.utf8.elementsEqual(bytes) {
        return entry.number
    }
    return nil
}

// MARK: numbers

func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

func upperCased(_ byte: UInt8) -> UInt8 {
    byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
}

/// Returns whether two strings are equal ignoring ASCII case.
func equalsIgnoringCase(_ left: String, _ right: String) -> Bool {
    left.utf8.count == right.utf8.count && left.utf8.map(upperCased).elementsEqual(right.utf8.map(upperCased))
}

/// Parses decimal digits only (no sign, no spaces) up to `limit`.
func parseUnsigned<C: Collection>(_ bytes: C, limit: UInt64) -> UInt64? where C.Element == UInt8 {
    guard !bytes.isEmpty else { return nil }
    var value: UInt64 = 0
    for byte in bytes {
        guard isDigit(byte) else { return nil }
        let (times, overflowTimes) = value.multipliedReportingOverflow(by: 10)
        let (sum, overflowSum) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
        if overflowTimes || overflowSum || sum > limit { return nil }
        value = sum
    }
    return value
}

func parseUnsigned(_ text: String, limit: UInt64) -> UInt64? {
    parseUnsigned(Array(text.utf8), limit: limit)
}

/// Parses an optionally negative decimal integer within a closed range.
func parseInteger(_ text: String, in range: ClosedRange<Int64>) -> Int64? {
    var bytes = Array(text.utf8)[...]
    var negative = false
    if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
        negative = first == UInt8(ascii: "-")
        bytes = bytes.dropFirst()
    }
    guard let magnitude = parseUnsigned(bytes, limit: UInt64(Int64.max)) else { return nil }
    let value = negative ? -Int64(magnitude) : Int64(magnitude)
    return range.contains(value) ? value : nil
}

/// Parses octal digits, with or without a leading 0, up to `limit`.
func parseOctal(_ text: String, limit: UInt32) -> UInt32? {
    let bytes = Array(text.utf8)
    guard !bytes.isEmpty, bytes.count <= 12 else { return nil }
    var value: UInt32 = 0
    for byte in bytes {
        guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "7") else { return nil }
        value = value * 8 + UInt32(byte - UInt8(ascii: "0"))
        if value > limit { return nil }
    }
    return value
}

/// Parses a port number from 1 to 65535.
func parsePort(_ text: String) -> UInt16? {
    guard let value = parseUnsigned(text, limit: 65535), value > 0 else { return nil }
    return UInt16(value)
}

// MARK: IP address literals

/// Parses dotted-quad IPv4 text (`192.0.2.7`) into its 32-bit value.
func parseIPv4(_ text: String) -> UInt32? {
    parseIPv4(Array(text.utf8)[...])
}

func parseIPv4(_ bytes: ArraySlice<UInt8>) -> UInt32? {
    let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    var value: UInt32 = 0
    for part in parts {
        guard part.count <= 3, let octet = parseUnsigned(part, limit: 255) else { return nil }
        value = value << 8 | UInt32(octet)
    }
    return value
}

/// Parses IPv6 text (`2001:db8::1`, `::ffff:192.0.2.7`) into two big-endian
/// halves. Zone indexes (`%eth0`) are rejected.
func parseIPv6(_ text: String) -> (high: UInt64, low: UInt64)? {
    let bytes = Array(text.utf8)
    guard bytes.count >= 2, bytes.count <= 45 else { return nil }

    var head: [UInt16] = []
    var tail: [UInt16] = []
    var sawDoubleColon = false
    var index = 0
    if bytes.starts(with: "::".utf8) {
        sawDoubleColon = true
        index = 2
    }
    while index < bytes.count {
        var end = index
        while end < bytes.count && bytes[end] != UInt8(ascii: ":") { end += 1 }
        let piece = bytes[index..<end]
        if piece.contains(UInt8(ascii: ".")) {
            // An embedded IPv4 address ends the text and fills two groups.
            guard end == bytes.count, let v4 = parseIPv4(piece) else { return nil }
            let groups = [UInt16(v4 >> 16), UInt16(v4 & 0xffff)]
            if sawDoubleColon { tail += groups } else { head += groups }
            index = end
            break
        }
        guard let group = parseHexGroup(piece) else { return nil }
        if sawDoubleColon { tail.append(group) } else { head.append(group) }
        if end == bytes.count {
            index = end
            break
        }
        // A colon follows; "::" marks the gap, once.
        if end + 1 < bytes.count && bytes[end + 1] == UInt8(ascii: ":") {
            guard !sawDoubleColon else { return nil }
            sawDoubleColon = true
            index = end + 2
        } else {
            index = end + 1
            guard index < bytes.count else { return nil }
        }
    }

    let written = head.count + tail.count
    if sawDoubleColon {
        guard written <= 7 else { return nil }
    } else {
        guard written == 8 else { return nil }
    }
    let groups = head + [UInt16](repeating: 0, count: 8 - written) + tail
    var high: UInt64 = 0
    var low: UInt64 = 0
    for position in 0..<4 {
        high = high << 16 | UInt64(groups[position])
        low = low << 16 | UInt64(groups[position + 4])
    }
    return (high, low)
}

private func parseHexGroup(_ bytes: ArraySlice<UInt8>) -> UInt16? {
    guard !bytes.isEmpty, bytes.count <= 4 else { return nil }
    var value: UInt16 = 0
    for byte in bytes {
        let digit: UInt8
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
        default: return nil
        }
        value = value << 4 | UInt16(digit)
    }
    return value
}

/// Parses an IPv4 or IPv6 literal into an address with port 0.
func parseIPAddress(_ text: String) -> SocketAddress? {
    if let v4 = parseIPv4(text) { return .ipv4(v4, port: 0) }
    if let v6 = parseIPv6(text) { return .ipv6(high: v6.high, low: v6.low, port: 0) }
    return nil
}

// MARK: text helpers

/// Returns the last path component: `/usr/sbin/in.fingerd` → `in.fingerd`.
func baseName(_ path: String) -> String {
    let bytes = Array(path.utf8)
    guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return path }
    return String(decoding: bytes[(slash + 1)...], as: UTF8.self)
}

/// Returns the directory part of a path, "." when there is none.
func directoryName(_ path: String) -> String {
    let bytes = Array(path.utf8)
    guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "." }
    if slash == 0 { return "/" }
    return String(decoding: bytes[..<slash], as: UTF8.self)
}

/// Joins a relative path to a directory; an absolute path is returned as is.
func resolvePath(_ path: String, relativeTo directory: String) -> String {
    if path.utf8.first == UInt8(ascii: "/") { return path }
    return directory.utf8.last == UInt8(ascii: "/") ? directory + path : directory + "/" + path
}

/// Splits on spaces and tabs, dropping empty fields.
func splitFields(_ text: String) -> [String] {
    splitFields(Array(text.utf8)[...])
}

func splitFields(_ bytes: ArraySlice<UInt8>) -> [String] {
    bytes.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
        .map { String(decoding: $0, as: UTF8.self) }
}

/// Returns the byte offset where `separator` first occurs, or nil.
func firstIndex(of separator: UInt8, in text: String) -> Int? {
    Array(text.utf8).firstIndex(of: separator)
}

/// Returns the bytes of a string from `start` (a byte offset) to `end`.
func substring(_ text: String, from start: Int, to end: Int? = nil) -> String {
    let bytes = Array(text.utf8)
    let stop = min(end ?? bytes.count, bytes.count)
    guard start < stop else { return "" }
    return String(decoding: bytes[start..<stop], as: UTF8.self)
}

/// Compares two strings byte by byte, as the C locale sorts file names.
func precedesInCLocale(_ left: String, _ right: String) -> Bool {
    left.utf8.lexicographicallyPrecedes(right.utf8)
}

/// Levenshtein distance over UTF-8 bytes, for "did you mean" suggestions.
func editDistance(_ left: String, _ right: String) -> Int {
    let a = Array(left.utf8)
    let b = Array(right.utf8)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}

/// Joins words as "a, b or c".
func listWithOr(_ words: [String]) -> String {
    guard words.count > 1 else { return words.first ?? "" }
    var text = ""
    for (index, word) in words.enumerated() {
        if index == words.count - 1 {
            text += " or "
        } else if index > 0 {
            text += ", "
        }
        text += word
    }
    return text
}

/// Wraps a value in double quotes for messages.
func quoted(_ text: String) -> String { "\"" + text + "\"" }
