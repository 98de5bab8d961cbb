import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Shared support for the integration tests: finding the daemon, copying an
// example into a temporary folder, starting sieste and reading its log,
// picking free ports and running the clients (python3, curl, tftp). Every
// wait here polls a condition with a deadline; none sleeps for a fixed time
// in place of a condition.

/// A failure in the harness itself, with everything needed to understand it.
struct HarnessError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

// MARK: - Locations

enum Locations {
    /// The repository root, three levels above this file
    /// (Tests/IntegrationTests/Harness.swift).
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Returns the daemon under test: `SIESTE_BINARY`, else `.build/release/sieste`.
    static func siesteBinary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["SIESTE_BINARY"], !path.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw HarnessError("SIESTE_BINARY=\(path) is not an executable file; build it with `make release`")
            }
            return path
        }
        let fallback = repositoryRoot.appendingPathComponent(".build/release/sieste").path
        guard FileManager.default.isExecutableFile(atPath: fallback) else {
            throw HarnessError("""
                no sieste binary to test: SIESTE_BINARY is not set and \(fallback) does not exist. \
                Run `make test`, or `make release` and then `SIESTE_BINARY=$PWD/.build/release/sieste swift test`.
                """)
        }
        return fallback
    }

    /// Fails with a pointer to the installer when a program the tests start is missing.
    static func requireProgram(_ path: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("\(path) is missing; run scripts/install-test-deps as root")
        }
    }

    /// Fails unless the tests run as root, which the services and the daemon's
    /// `user` switches need, as in CI.
    static func requireRoot() throws {
        guard getuid() == 0 else {
            throw HarnessError("the integration tests must run as root (uid is \(getuid())), as CI does")
        }
    }
}

// MARK: - Log lines

/// One line of sieste's log: `LEVEL EVENT key=value ...`, values with spaces
/// or quotes in double quotes.
struct LogLine: CustomStringConvertible {
    let level: String
    let event: String
    let fields: [String: String]
    /// Everything after the event, unparsed; `error config FILE:LINE: message`
    /// has no key=value fields, only this.
    let rest: String
    let text: String

    var description: String { text }

    subscript(key: String) -> String? { fields[key] }

    /// The `FILE:LINE: message` of an `error config` line, written either
    /// bare after the event or as its `message` field.
    var diagnostic: String {
        fields["message"] ?? rest
    }

    static let levels: Set<String> = ["debug", "info", "warning", "error"]

    /// Parses one line, or returns nil for a line that is not in the log format.
    static func parse(_ text: String) -> LogLine? {
        let scalars = Array(text.unicodeScalars)
        var index = 0

        func word() -> String {
            var result = ""
            while index < scalars.count, scalars[index] != " " {
                result.unicodeScalars.append(scalars[index])
                index += 1
            }
            while index < scalars.count, scalars[index] == " " { index += 1 }
            return result
        }

        let level = word()
        guard levels.contains(level) else { return nil }
        let event = word()
        guard !event.isEmpty else { return nil }
        let rest = String(String.UnicodeScalarView(scalars[index...]))

        var fields: [String: String] = [:]
        while index < scalars.count {
            var key = ""
            while index < scalars.count, scalars[index] != "=", scalars[index] != " " {
                key.unicodeScalars.append(scalars[index])
                index += 1
            }
            guard index < scalars.count, scalars[index] == "=" else {
                // A bare word, as in `error config FILE:LINE: message`.
                while index < scalars.count, scalars[index] == " " { index += 1 }
                continue
            }
            index += 1

            var value = ""
            if index < scalars.count, scalars[index] == "\"" {
                index += 1
                while index < scalars.count, scalars[index] != "\"" {
                    if scalars[index] == "\\", index + 1 < scalars.count {
                        index += 1
                    }
                    value.unicodeScalars.append(scalars[index])
                    index += 1
                }
                index += 1
            } else {
                while index < scalars.count, scalars[index] != " " {
                    value.unicodeScalars.append(scalars[index])
                    index += 1
                }
            }
            fields[key] = value
            while index < scalars.count, scalars[index] == " " { index += 1 }
        }
        return LogLine(level: level, event: event, fields: fields, rest: rest, text: text)
    }
}

// MARK: - Waiting

/// Polls `condition` every 20 ms until it returns a value or `timeout` passes.
@discardableResult
func poll<T>(
    _ description: String,
    timeout: Duration = .seconds(20),
    _ condition: () throws -> T?
) throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if let value = try condition() {
            return value
        }
        if clock.now >= deadline {
            throw HarnessError("timed out after \(timeout) waiting for \(description)")
        }
        Thread.sleep(forTimeInterval: 0.02)
    }
}

// MARK: - The daemon

/// Lines of a child's stderr, appended by a reader thread and read by the test.
final class LineBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = Data()
    private var lines: [String] = []
    private var finished = false

    /// Starts a thread that reads `handle` until end of file. The thread
    /// holds only this buffer, so the owner of the process can still be
    /// deinitialised, and stop the process, while the thread runs.
    func startReading(_ handle: FileHandle) {
        Thread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                append(data)
            }
            lock.lock()
            if !pending.isEmpty {
                lines.append(String(decoding: pending, as: UTF8.self))
                pending.removeAll()
            }
            finished = true
            lock.unlock()
        }.start()
    }

    private func append(_ data: Data) {
        lock.lock()
        defer { lock.unlock() }
        pending.append(data)
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = pending[pending.startIndex..<newline]
            lines.append(String(decoding: line, as: UTF8.self))
            pending.removeSubrange(pending.startIndex...newline)
        }
    }

    /// Every complete line read so far, and the last partial one after end of file.
    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }

    /// Whether the reader has reached end of file.
    var isFinished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return finished
    }
}

/// A running `sieste` whose stderr is read continuously into a buffer.
final class Sieste: @unchecked Sendable {
    let process: Process
    let arguments: [String]
    private let buffer = LineBuffer()

    /// Variables that would make sieste adopt sockets, talk to systemd or log
    /// to the journal instead of stderr, removed from its environment.
    static let systemdVariables = ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET", "JOURNAL_STREAM"]

    /// Starts `sieste ARGUMENTS` in `directory`, with `extraEnvironment`
    /// added after the systemd variables were removed.
    private init(arguments: [String], directory: URL, extraEnvironment: [String: String] = [:]) throws {
        let binary = try Locations.siesteBinary()
        self.arguments = arguments
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        for name in Sieste.systemdVariables {
            environment[name] = nil
        }
        environment.merge(extraEnvironment) { _, added in added }
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardError = pipe
        try process.run()
        buffer.startReading(pipe.fileHandleForReading)
    }

    /// Starts `sieste serve -c CONFIG...` in `directory` and waits for `info ready`.
    static func serve(
        configs: [URL],
        in directory: URL,
        extraArguments: [String] = [],
        extraEnvironment: [String: String] = [:],
        waitForReady: Bool = true
    ) throws -> Sieste {
        try Locations.requireRoot()
        var arguments = ["serve"]
        for config in configs {
            arguments += ["-c", config.path]
        }
        arguments += extraArguments
        let sieste = try Sieste(arguments: arguments, directory: directory, extraEnvironment: extraEnvironment)
        if waitForReady {
            do {
                _ = try sieste.waitFor("info ready") { $0.event == "ready" }
            } catch {
                sieste.kill()
                throw error
            }
        }
        return sieste
    }

    deinit {
        kill()
    }

    var pid: Int32 { process.processIdentifier }

    /// Every line read so far.
    var rawLines: [String] {
        buffer.all
    }

    /// Every line read so far that is in the log format.
    var logLines: [LogLine] {
        rawLines.compactMap(LogLine.parse)
    }

    /// The whole stderr so far, for failure messages.
    var stderrText: String {
        rawLines.joined(separator: "\n")
    }

    /// The number of lines read so far; pass it as `after` to wait only for later lines.
    var mark: Int {
        rawLines.count
    }

    /// Lines with this event, optionally only for one service.
    func lines(_ event: String, service: String? = nil) -> [LogLine] {
        logLines.filter { line in
            line.event == event && (service == nil || line["service"] == service)
        }
    }

    /// Waits for a log line, among those from index `after` on, that satisfies
    /// `predicate`; fails early when sieste exits first.
    @discardableResult
    func waitFor(
        _ description: String,
        after: Int = 0,
        timeout: Duration = .seconds(20),
        where predicate: (LogLine) -> Bool
    ) throws -> LogLine {
        do {
            return try poll("`\(description)` in sieste's log", timeout: timeout) {
                let all = rawLines
                if after < all.count {
                    for text in all[after...] {
                        if let line = LogLine.parse(text), predicate(line) {
                            return line
                        }
                    }
                }
                if !process.isRunning && readerDone {
                    throw HarnessError("sieste exited with status \(process.terminationStatus) before logging `\(description)`")
                }
                return nil
            }
        } catch let error as HarnessError {
            throw HarnessError("\(error.description)\n--- sieste \(arguments.joined(separator: " ")) stderr ---\n\(stderrText)")
        }
    }

    private var readerDone: Bool {
        buffer.isFinished
    }

    var isRunning: Bool { process.isRunning }

    func send(_ signal: Int32) {
        if process.isRunning {
            Glibc.kill(pid, signal)
        }
    }

    /// Sends `signal` and waits for sieste to exit; returns its exit status.
    /// Throws when it does not exit in time or is ended by a signal.
    func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(20)) throws -> Int32 {
        send(signal)
        do {
            try poll("sieste (pid \(pid)) to exit after signal \(signal)", timeout: timeout) {
                process.isRunning ? nil : true
            }
        } catch let error as HarnessError {
            kill()
            throw HarnessError("\(error.description)\n--- stderr ---\n\(stderrText)")
        }
        // Let the reader collect the last lines written before the exit.
        _ = try? poll("the end of sieste's stderr", timeout: .seconds(5)) { readerDone ? true : nil }
        guard process.terminationReason == .exit else {
            throw HarnessError("sieste was ended by signal \(process.terminationStatus)\n--- stderr ---\n\(stderrText)")
        }
        return process.terminationStatus
    }

    /// Stops sieste for cleanup after a failed test: SIGTERM, so that it can
    /// stop its services too, then SIGKILL after 5 s.
    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(pid, SIGTERM)
        if (try? poll("sieste to exit after SIGTERM", timeout: .seconds(5)) { process.isRunning ? nil : true }) == nil {
            Glibc.kill(pid, SIGKILL)
            _ = try? poll("sieste to exit after SIGKILL", timeout: .seconds(5)) { process.isRunning ? nil : true }
        }
    }
}

// MARK: - Processes in /proc

enum ProcTable {
    /// Returns whether a process with this pid exists. A zombie counts, because it is not reaped yet.
    static func exists(_ pid: Int32) -> Bool {
        FileManager.default.fileExists(atPath: "/proc/\(pid)")
    }

    /// Returns the pid and state of every process whose parent is `parent`.
    static func children(of parent: Int32) -> [(pid: Int32, state: Character)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        var result: [(pid: Int32, state: Character)] = []
        for entry in entries {
            guard let pid = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")")
            else { continue }
            // After the command name in parentheses: " STATE PPID ...".
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count >= 2, let ppid = Int32(fields[1]), let state = fields[0].first else { continue }
            if ppid == parent {
                result.append((pid, state))
            }
        }
        return result
    }
}

// MARK: - Ports and sockets

enum Ports {
    /// Returns a port that was free on 127.0.0.1 a moment ago, by binding
    /// port 0 and closing the socket. Another program could take the port in
    /// between, which on a test machine is unlikely.
    static func free(udp: Bool = false) throws -> UInt16 {
        let socket = try bound(udp: udp, port: 0)
        defer { close(socket.fd) }
        return socket.port
    }

    /// Binds a socket to 127.0.0.1:`port` (0 for any) and returns it with its port.
    static func bound(udp: Bool = false, port: UInt16) throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bindResult = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bindResult == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw HarnessError("bind 127.0.0.1:\(port): \(message)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(fd, $0, &length)
            }
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    /// Opens a TCP socket listening on 127.0.0.1 at a free port, for a test to
    /// hold the port. The caller closes it.
    static func occupied() throws -> (fd: Int32, port: UInt16) {
        let socket = try bound(port: 0)
        guard listen(socket.fd, 16) == 0 else {
            close(socket.fd)
            throw HarnessError("listen: \(String(cString: strerror(errno)))")
        }
        return socket
    }
}

// MARK: - Examples

/// The parent of every temporary folder. It is /tmp rather than $TMPDIR
/// because the services read the copies as nobody, ftp, www-data or
/// Debian-exim, who must be able to traverse every folder above them.
private let temporaryParent = URL(fileURLWithPath: "/tmp", isDirectory: true)

/// A copy of `examples/NAME` at `ROOT/examples/NAME` in a new temporary
/// folder. sieste runs with ROOT as its working directory, so the paths
/// that the examples write relative to the repository root work unchanged.
final class ExampleCopy {
    let name: String
    let root: URL
    let folder: URL

    init(_ name: String) throws {
        self.name = name
        let manager = FileManager.default
        root = temporaryParent.appendingPathComponent("sieste-it-\(name)-\(UUID().uuidString)")
        folder = root.appendingPathComponent("examples").appendingPathComponent(name)
        try manager.createDirectory(at: folder.deletingLastPathComponent(), withIntermediateDirectories: true)
        let source = Locations.repositoryRoot.appendingPathComponent("examples").appendingPathComponent(name)
        guard manager.fileExists(atPath: source.path) else {
            throw HarnessError("example folder \(source.path) not found")
        }
        try manager.copyItem(at: source, to: folder)
        // The services read these files as other users, and exim rejects a
        // configuration file that others can write.
        try makeReadable(root)
    }

    deinit {
        try? FileManager.default.removeItem(at: root)
    }

    var config: URL { folder.appendingPathComponent("sieste.conf") }

    func file(_ relativePath: String) -> URL {
        folder.appendingPathComponent(relativePath)
    }

    /// Replaces every occurrence of each `old` string in every text file of the copy.
    func replace(_ replacements: [(old: String, new: String)]) throws {
        let manager = FileManager.default
        guard let enumerator = manager.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw HarnessError("cannot list \(folder.path)")
        }
        for case let url as URL in enumerator {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                  let text = try? String(contentsOf: url, encoding: .utf8)
            else { continue }
            var changed = text
            for (old, new) in replacements {
                changed = changed.replacingOccurrences(of: old, with: new)
            }
            if changed != text {
                try changed.write(to: url, atomically: false, encoding: .utf8)
            }
        }
    }

    /// Moves the example from its shipped port to `port`, in the forms the
    /// example files write it: `listen`, `redirect` and lighttpd's `server.port`.
    func movePort(_ shipped: UInt16, to port: UInt16) throws {
        try replace([
            ("127.0.0.1:\(shipped)", "127.0.0.1:\(port)"),
            ("127.0.0.1 \(shipped)", "127.0.0.1 \(port)"),
            ("server.port = \(shipped)", "server.port = \(port)"),
        ])
    }

    /// Sets a `key = value` attribute of sieste.conf, keeping its alignment.
    func setAttribute(_ key: String, from old: String, to new: String) throws {
        let text = try String(contentsOf: config, encoding: .utf8)
        let pattern = "(\\n\\s*\(NSRegularExpression.escapedPattern(for: key))\\s*=\\s*)\(NSRegularExpression.escapedPattern(for: old))(\\s*\\n)"
        let regex = try NSRegularExpression(pattern: pattern)
        let range = NSRange(text.startIndex..., in: text)
        guard regex.firstMatch(in: text, range: range) != nil else {
            throw HarnessError("\(config.path): no `\(key) = \(old)` to change")
        }
        let changed = regex.stringByReplacingMatches(in: text, range: range, withTemplate: "$1\(new)$2")
        try changed.write(to: config, atomically: false, encoding: .utf8)
    }

    private func makeReadable(_ url: URL) throws {
        let manager = FileManager.default
        try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        for path in manager.subpaths(atPath: url.path) ?? [] {
            let full = url.appendingPathComponent(path).path
            var isDirectory: ObjCBool = false
            _ = manager.fileExists(atPath: full, isDirectory: &isDirectory)
            let mode = try manager.attributesOfItem(atPath: full)[.posixPermissions] as? Int ?? 0o644
            let readable = isDirectory.boolValue ? mode | 0o755 : mode | 0o644
            try manager.setAttributes([.posixPermissions: readable & ~0o022], ofItemAtPath: full)
        }
    }
}

/// A scratch folder for configurations written by a test, removed with the value.
final class ScratchFolder {
    let url: URL

    init(_ label: String) throws {
        url = temporaryParent.appendingPathComponent("sieste-it-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    /// Writes `text` to `name` in the folder and returns its URL.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try text.write(to: file, atomically: false, encoding: .utf8)
        return file
    }
}

/// Returns a sieste.conf `service` block for a per-connection /bin/cat, which
/// echoes what it reads until the client half-closes.
func catService(_ name: String, port: UInt16, server: String = "/bin/cat") -> String {
    """
    service \(name)
    {
        socket_type = stream
        wait        = no
        user        = root
        server      = \(server)
        listen      = 127.0.0.1:\(port)
    }

    """
}

// MARK: - Clients

struct CommandResult {
    let status: Int32
    let stdout: Data
    let stderr: String
    let timedOut: Bool

    var output: String { String(decoding: stdout, as: UTF8.self) }

    /// A one-paragraph account for failure messages.
    var summary: String {
        "status \(status)\(timedOut ? " (timed out)" : "")\nstdout: \(output)\nstderr: \(stderr)"
    }
}

/// Runs a program with a bound on its run time, collecting its output.
func runCommand(
    _ executable: String,
    _ arguments: [String],
    in directory: URL? = nil,
    input: Data? = nil,
    timeout: Duration = .seconds(20)
) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory {
        process.currentDirectoryURL = directory
    }
    let stdoutPipe = Pipe()
    let stderrPipe = Pipe()
    let stdinPipe = Pipe()
    process.standardOutput = stdoutPipe
    process.standardError = stderrPipe
    process.standardInput = stdinPipe
    try process.run()

    if let input {
        stdinPipe.fileHandleForWriting.write(input)
    }
    try? stdinPipe.fileHandleForWriting.close()

    // Read both pipes on their own threads so that a full pipe never blocks the child.
    let collected = CollectedOutput()
    let group = DispatchGroup()
    for (handle, isStdout) in [(stdoutPipe.fileHandleForReading, true), (stderrPipe.fileHandleForReading, false)] {
        group.enter()
        Thread {
            let data = handle.readDataToEndOfFile()
            collected.store(data, stdout: isStdout)
            group.leave()
        }.start()
    }

    var timedOut = false
    do {
        try poll("\(executable) to exit", timeout: timeout) { process.isRunning ? nil : true }
    } catch {
        timedOut = true
        process.terminate()
        if (try? poll("\(executable) to exit after SIGTERM", timeout: .seconds(2), { process.isRunning ? nil : true })) == nil {
            kill(process.processIdentifier, SIGKILL)
        }
    }
    process.waitUntilExit()
    _ = group.wait(timeout: .now() + 5)
    return CommandResult(
        status: process.terminationStatus,
        stdout: collected.stdout,
        stderr: String(decoding: collected.stderr, as: UTF8.self),
        timedOut: timedOut
    )
}

private final class CollectedOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()

    func store(_ data: Data, stdout: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if stdout { out = data } else { err = data }
    }

    var stdout: Data {
        lock.lock()
        defer { lock.unlock() }
        return out
    }

    var stderr: Data {
        lock.lock()
        defer { lock.unlock() }
        return err
    }
}

/// Runs `python3 -c SCRIPT ARGUMENTS...`.
func runPython(_ script: String, _ arguments: [String], input: Data? = nil, timeout: Duration = .seconds(30)) throws -> CommandResult {
    try runCommand("/usr/bin/env", ["python3", "-c", script] + arguments, input: input, timeout: timeout)
}

/// How a TCP exchange ended.
enum ExchangeEnd: String {
    /// The server closed the connection (read returned 0).
    case eof = "EOF"
    /// The server reset the connection.
    case reset = "RESET"
    /// Nothing more arrived, and the connection stayed open, for the whole timeout.
    case timeout = "TIMEOUT"
    /// The connection could not be made.
    case refused = "REFUSED"
}

struct Exchange {
    let end: ExchangeEnd
    /// The client's own port, which is the peer port on the server's side.
    let clientPort: UInt16
    let received: Data

    var text: String { String(decoding: received, as: UTF8.self) }
}

private let exchangeScript = #"""
import errno, socket, sys
port, timeout = int(sys.argv[1]), float(sys.argv[2])
payload = sys.stdin.buffer.read()
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
except OSError as error:
    sys.stdout.write("REFUSED 0\n" + str(error))
    sys.exit(0)
client_port = s.getsockname()[1]
end = "EOF"
data = b""
try:
    if payload:
        s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    end = "TIMEOUT"
except (ConnectionResetError, BrokenPipeError):
    end = "RESET"
except OSError as error:
    # A reset that arrives before the half-close makes shutdown fail with
    # ENOTCONN instead of raising ConnectionResetError.
    if error.errno != errno.ENOTCONN:
        raise
    end = "RESET"
sys.stdout.write("%s %d\n" % (end, client_port))
sys.stdout.flush()
sys.stdout.buffer.write(data)
"""#

/// Connects to 127.0.0.1:`port`, sends `payload`, half-closes, and reads
/// until the server closes or nothing arrives for `timeout`.
func tcpExchange(port: UInt16, send payload: String = "", timeout: Duration = .seconds(10)) throws -> Exchange {
    let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
    let result = try runPython(exchangeScript, [String(port), String(seconds)], input: Data(payload.utf8), timeout: timeout + .seconds(10))
    guard result.status == 0, let newline = result.stdout.firstIndex(of: UInt8(ascii: "\n")) else {
        throw HarnessError("TCP client for port \(port) failed: \(result.summary)")
    }
    let header = String(decoding: result.stdout[result.stdout.startIndex..<newline], as: UTF8.self).split(separator: " ")
    guard header.count == 2, let end = ExchangeEnd(rawValue: String(header[0])), let clientPort = UInt16(header[1]) else {
        throw HarnessError("TCP client for port \(port) printed an unexpected header: \(result.summary)")
    }
    let body = result.stdout[result.stdout.index(after: newline)...]
    return Exchange(end: end, clientPort: clientPort, received: Data(body))
}

/// `curl` a URL with a time bound; returns the HTTP status and the body.
func curl(_ url: String, timeout: Duration = .seconds(20)) throws -> (status: Int, body: String) {
    let marker = "\n--sieste-http-status:"
    let seconds = String(timeout.components.seconds)
    let result = try runCommand("/usr/bin/curl", ["-sS", "--max-time", seconds, "-w", "\(marker)%{http_code}", url], timeout: timeout + .seconds(5))
    guard result.status == 0, let range = result.output.range(of: marker, options: .backwards) else {
        throw HarnessError("curl \(url) failed: \(result.summary)")
    }
    let status = Int(result.output[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    return (status, String(result.output[..<range.lowerBound]))
}

/// Fetches `file` with tftp-hpa's client into `directory`; returns its bytes.
func tftpGet(port: UInt16, file: String, into directory: URL, timeout: Duration = .seconds(20)) throws -> Data {
    let target = directory.appendingPathComponent(file)
    try? FileManager.default.removeItem(at: target)
    let result = try runCommand("/usr/bin/tftp", ["127.0.0.1", String(port), "-c", "get", file], in: directory, timeout: timeout)
    // tftp-hpa prints transfer errors but does not always exit non-zero, so
    // the file itself is the evidence.
    guard result.status == 0, !result.timedOut, let data = FileManager.default.contents(atPath: target.path) else {
        throw HarnessError("tftp get \(file) from port \(port) failed: \(result.summary)")
    }
    return data
}
