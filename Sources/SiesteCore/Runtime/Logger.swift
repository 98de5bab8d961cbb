import CSieste

/// Severity of a log line.
public enum LogLevel: Int, Sendable {
    case debug, info, warning, error

    public var name: String {
        switch self {
        case .debug: return "debug"
        case .info: return "info"
        case .warning: return "warning"
        case .error: return "error"
        }
    }
}

/// Writes one line per event: `LEVEL EVENT key=value ...`. The event name
/// is a constant and data goes into fixed keys, so lines can be grepped.
public final class Logger {
    public var minimumLevel: LogLevel
    private let sink: (String) -> Void

    /// A logger that writes to sieste's stderr.
    public convenience init(verbose: Bool) {
        self.init(minimumLevel: verbose ? .debug : .info) { line in writeText(2, line) }
    }

    /// A logger with another destination, such as a buffer in tests.
    public init(minimumLevel: LogLevel, sink: @escaping (String) -> Void) {
        self.minimumLevel = minimumLevel
        self.sink = sink
    }

    public func isEnabled(_ level: LogLevel) -> Bool {
        level.rawValue >= minimumLevel.rawValue
    }

    public func log(_ level: LogLevel, _ event: String, _ fields: [(String, String)] = []) {
        guard isEnabled(level) else { return }
        var line = level.name + " " + event
        for (key, value) in fields {
            line += " " + key + "=" + Logger.quoted(value)
        }
        line += "\n"
        sink(line)
    }

    public func debug(_ event: String, _ fields: @autoclosure () -> [(String, String)]) {
        if isEnabled(.debug) { log(.debug, event, fields()) }
    }

    public func info(_ event: String, _ fields: [(String, String)] = []) { log(.info, event, fields) }
    public func warning(_ event: String, _ fields: [(String, String)] = []) { log(.warning, event, fields) }
    public func error(_ event: String, _ fields: [(String, String)] = []) { log(.error, event, fields) }

    /// Writes a value bare when it is a single plain word, else in double
    /// quotes with `"`, `\` and control characters escaped.
    static func quoted(_ value: String) -> String {
        var plain = !value.isEmpty
        for byte in value.utf8 where byte <= 0x20 || byte == 0x22 || byte == 0x5c || byte == 0x3d || byte == 0x7f {
            plain = false
            break
        }
        if plain { return value }
        var bytes: [UInt8] = [0x22]
        for byte in value.utf8 {
            switch byte {
            case 0x22, 0x5c:
                bytes.append(0x5c)
                bytes.append(byte)
            case 0x0a:
                bytes.append(0x5c)
                bytes.append(0x6e)
            case 0x09:
                bytes.append(0x5c)
                bytes.append(0x74)
            case 0..<0x20, 0x7f:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5c, 0x78, hex[Int(byte >> 4)], hex[Int(byte & 0xf)]])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(0x22)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Lets through at most `burst` events per `period`, then counts what it
/// suppressed so the next line can say how many were dropped.
public struct RateLimiter {
    public let burst: Int
    public let period: Milliseconds
    private var windowStart: Milliseconds = 0
    private var used = 0
    public private(set) var suppressed = 0

    public init(burst: Int, period: Milliseconds) {
        self.burst = burst
        self.period = period
    }

    /// Returns nil when the event must be dropped, else the number dropped
    /// since the last event let through.
    public mutating func admit(now: Milliseconds) -> Int? {
        if now - windowStart >= period {
            windowStart = now
            used = 0
        }
        if used >= burst {
            suppressed += 1
            return nil
        }
        used += 1
        let dropped = suppressed
        suppressed = 0
        return dropped
    }
}
