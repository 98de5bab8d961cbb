import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Helpers for the sleep-and-wake tests. A raw HTTP client tells a refused,
// reset or unanswered connection apart, cpuTicks reads CPU time from /proc,
// and a seeded generator makes the spacing of clients reproducible. The
// configurations and client scripts are written into scratch folders.

// MARK: - A raw HTTP client

/// How one HTTP request over a fresh connection ended.
enum HTTPAttempt: Equatable, CustomStringConvertible {
    /// A complete response arrived and the server closed the connection.
    case answered(status: Int, body: String)
    /// connect(2) failed with ECONNREFUSED.
    case refused
    /// The connection was reset (ECONNRESET or EPIPE).
    case reset
    /// No response, or an incomplete one, before the timeout.
    case timedOut
    /// Any other failure, with the call and its error.
    case failed(String)

    var description: String {
        switch self {
        case .answered(let status, let body): return "answered \(status) with \(body.utf8.count) bytes"
        case .refused: return "refused"
        case .reset: return "reset"
        case .timedOut: return "timed out"
        case .failed(let reason): return "failed: \(reason)"
        }
    }
}

/// Sends `GET path HTTP/1.0` to 127.0.0.1:`port` over a new connection and
/// reads until the server closes it. Each connect, send and recv is bounded
/// by `timeoutSeconds` (SO_SNDTIMEO and SO_RCVTIMEO).
func httpGetRaw(port: UInt16, path: String, timeoutSeconds: Int = 5) -> HTTPAttempt {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return .failed("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }

    var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    let timeoutSize = socklen_t(MemoryLayout<timeval>.size)
    guard setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, timeoutSize) == 0,
          setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, timeoutSize) == 0
    else { return .failed("setsockopt: \(String(cString: strerror(errno)))") }

    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    if connected != 0 {
        return attemptFailure(call: "connect", errno)
    }

    let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
    var offset = 0
    while offset < request.count {
        let sent = request[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if sent < 0 {
            if errno == EINTR { continue }
            return attemptFailure(call: "send", errno)
        }
        offset += sent
    }

    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count == 0 { break }
        if count < 0 {
            if errno == EINTR { continue }
            return attemptFailure(call: "recv", errno)
        }
        response.append(contentsOf: buffer[0..<count])
    }

    let text = String(decoding: response, as: UTF8.self)
    guard let headerEnd = text.range(of: "\r\n\r\n") else {
        return .failed("no complete HTTP header in \(response.count) bytes: \(text.prefix(200))")
    }
    let statusLine = text[..<headerEnd.lowerBound].prefix { $0 != "\r" }.split(separator: " ")
    guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
        return .failed("no status in the response: \(text.prefix(200))")
    }
    return .answered(status: status, body: String(text[headerEnd.upperBound...]))
}

/// Connects to 127.0.0.1:`port`, sends `payload` and reads until the
/// server closes or resets the connection, or `timeoutSeconds` pass with
/// nothing. Unlike `tcpExchange`, a reset at any step is a result, not an error.
func awaitClose(port: UInt16, payload: String = "", timeoutSeconds: Int = 5) -> ExchangeEnd {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return .refused }
    defer { close(fd) }
    var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    let timeoutSize = socklen_t(MemoryLayout<timeval>.size)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, timeoutSize)
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, timeoutSize)

    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { return errno == ECONNRESET ? .reset : .refused }

    let bytes = Array(payload.utf8)
    if !bytes.isEmpty {
        let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if sent < 0 && (errno == ECONNRESET || errno == EPIPE) { return .reset }
    }
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count == 0 { return .eof }
        if count < 0 {
            switch errno {
            case EINTR: continue
            case ECONNRESET: return .reset
            default: return .timeout
            }
        }
    }
}

private func attemptFailure(call: String, _ code: Int32) -> HTTPAttempt {
    switch code {
    case ECONNREFUSED: return .refused
    case ECONNRESET, EPIPE: return .reset
    case EAGAIN, EINPROGRESS, ETIMEDOUT: return .timedOut
    default: return .failed("\(call): \(String(cString: strerror(code)))")
    }
}

// MARK: - Measuring

/// Returns the CPU time a process has used so far, user plus system, in
/// clock ticks (fields 14 and 15 of /proc/PID/stat).
func cpuTicks(of pid: Int32) throws -> Int {
    let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    guard let close = stat.lastIndex(of: ")") else {
        throw HarnessError("/proc/\(pid)/stat has no command name in parentheses: \(stat)")
    }
    // After the command name comes field 3 (state); utime and stime are fields 14 and 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else {
        throw HarnessError("/proc/\(pid)/stat has no utime and stime: \(stat)")
    }
    return user + system
}

/// The clock ticks per second that /proc/PID/stat counts in.
let clockTicksPerSecond = Int(sysconf(Int32(_SC_CLK_TCK)))

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// SplitMix64, so that the spacing of the clients is the same in every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

// MARK: - Log lines

extension Sieste {
    /// Returns the index in `rawLines` of the first line from `after` on
    /// that satisfies `predicate`, or nil.
    func index(after: Int = 0, where predicate: (LogLine) -> Bool) -> Int? {
        let all = rawLines
        guard after < all.count else { return nil }
        for index in after..<all.count {
            if let line = LogLine.parse(all[index]), predicate(line) {
                return index
            }
        }
        return nil
    }
}

extension Sieste {
    /// Returns the first line from `after` on that satisfies `predicate`,
    /// checking every millisecond rather than every 20 ms as `waitFor` does,
    /// or nil after `timeout`.
    func waitClosely(after: Int, timeout: Duration, where predicate: (LogLine) -> Bool) -> LogLine? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if let index = index(after: after, where: predicate) {
                return LogLine.parse(rawLines[index])
            }
            usleep(1000)
        }
        return nil
    }
}

// MARK: - Services written into a scratch folder

/// Writes a lighttpd configuration for socket activation on
/// 127.0.0.1:`port`, serving `documentRoot` as www-data, and returns its URL.
func writeLighttpdConfig(in scratch: ScratchFolder, port: UInt16, documentRoot: URL) throws -> URL {
    try scratch.write("lighttpd.conf", """
        server.modules = ( "mod_staticfile" )
        server.systemd-socket-activation = "enable"
        server.bind = "127.0.0.1"
        server.port = \(port)
        server.document-root = "\(documentRoot.path)"
        server.username = "www-data"
        server.groupname = "www-data"
        mimetype.assign = (
            ".html" => "text/html; charset=utf-8",
            ".bin"  => "application/octet-stream",
        )

        """)
}

/// Returns a sieste.conf block for lighttpd with socket handoff and an idle timeout.
func lighttpdHandoffService(
    _ name: String,
    port: UInt16,
    lighttpdConfig: URL,
    idleTimeout: String,
    stopSignal: String = "TERM"
) -> String {
    """
    service \(name)
    {
        socket_type  = stream
        wait         = yes
        user         = root
        server       = /usr/sbin/lighttpd
        server_args  = -D -f \(lighttpdConfig.path)
        handoff      = listen_fds
        idle_timeout = \(idleTimeout)
        stop_signal  = \(stopSignal)
        listen       = 127.0.0.1:\(port)
    }

    """
}

/// A slow HTTP client: GET argv[2] from 127.0.0.1:argv[1] over a kept-alive
/// HTTP/1.1 connection with a 64 KiB receive buffer, reading the body no
/// faster than argv[3] bytes per second into the file argv[4]. Prints one
/// JSON object: the status, the body length read and how the transfer
/// ended (`complete`, `EOF` before the end, `RESET` or `TIMEOUT`).
let slowDownloadClientScript = #"""
import json, socket, sys, time

port, path, rate, output = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
connection.settimeout(10)
connection.connect(("127.0.0.1", port))
connection.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path.encode())
status, length, received, end = 0, -1, 0, "complete"
with open(output, "wb") as body:
    try:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = connection.recv(4096)
            if not chunk:
                raise EOFError
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        body.write(rest)
        received = len(rest)
        start = time.monotonic()
        while received < length:
            delay = start + received / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            chunk = connection.recv(min(65536, length - received))
            if not chunk:
                raise EOFError
            body.write(chunk)
            received += len(chunk)
    except EOFError:
        end = "EOF"
    except socket.timeout:
        end = "TIMEOUT"
    except ConnectionResetError:
        end = "RESET"
connection.close()
print(json.dumps({"status": status, "length": length, "received": received, "end": end}))
"""#

/// A `wait = yes` service on fd 3 (`handoff = listen_fds`): it writes its
/// own pid to each connection and closes it. On SIGTERM it stops accepting
/// but keeps the listening socket for argv[1] seconds before it exits, the
/// way a daemon with a slow shutdown does.
let slowStopServerScript = #"""
import os, select, signal, socket, sys, time

stopping = False

def request_stop(signum, frame):
    global stopping
    stopping = True

signal.signal(signal.SIGTERM, request_stop)
listener = socket.socket(fileno=3)
while not stopping:
    ready, _, _ = select.select([listener], [], [], 0.05)
    if ready and not stopping:
        connection, _ = listener.accept()
        connection.sendall(b"%d\n" % os.getpid())
        connection.close()
time.sleep(float(sys.argv[1]))
"""#

/// A daemon that binds 127.0.0.1:argv[1] itself, for the lazy proxy. Each
/// connection starts with a 5-byte mode:
/// - `ECHO\n`: it echoes every byte after the mode; at the client's EOF it
///   sends `TRAILER COUNT SHA256\n` for the bytes it received and closes.
/// - `SINK\n`: it sends `SINK-READY\n` and shuts down its sending side at
///   once, then reads to EOF and writes `sink bytes=COUNT sha256=HEX` to
///   stderr, which sieste logs.
/// A connection that closes before its mode (sieste's readiness probe) is
/// closed without a word.
let proxyBackendScript = #"""
import hashlib, socket, sys, threading

def read_mode(connection):
    mode = b""
    while len(mode) < 5:
        chunk = connection.recv(5 - len(mode))
        if not chunk:
            return None
        mode += chunk
    return mode

def serve(connection):
    try:
        mode = read_mode(connection)
        digest = hashlib.sha256()
        count = 0
        if mode == b"ECHO\n":
            while True:
                chunk = connection.recv(262144)
                if not chunk:
                    break
                digest.update(chunk)
                count += len(chunk)
                connection.sendall(chunk)
            connection.sendall(b"TRAILER %d %s\n" % (count, digest.hexdigest().encode()))
        elif mode == b"SINK\n":
            connection.sendall(b"SINK-READY\n")
            connection.shutdown(socket.SHUT_WR)
            while True:
                chunk = connection.recv(262144)
                if not chunk:
                    break
                digest.update(chunk)
                count += len(chunk)
            sys.stderr.write("sink bytes=%d sha256=%s\n" % (count, digest.hexdigest()))
            sys.stderr.flush()
    except OSError as error:
        sys.stderr.write("backend connection failed: %r\n" % error)
        sys.stderr.flush()
    finally:
        connection.close()

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(16)
while True:
    connection, _ = listener.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
"""#

/// The client of the proxy backend's ECHO mode. It sends argv[2] bytes of
/// random data to 127.0.0.1:argv[1] on one thread while another reads the
/// echo. Then it shuts down its sending side and reads to EOF. It prints one
/// JSON object with the counts and SHA-256 digests of both directions.
let echoClientScript = #"""
import hashlib, json, os, socket, sys, threading

port, total = int(sys.argv[1]), int(sys.argv[2])
connection = socket.create_connection(("127.0.0.1", port), timeout=30)
sent_digest = hashlib.sha256()
errors = []

def send_all():
    try:
        connection.sendall(b"ECHO\n")
        remaining = total
        while remaining:
            chunk = os.urandom(min(1 << 20, remaining))
            sent_digest.update(chunk)
            connection.sendall(chunk)
            remaining -= len(chunk)
        connection.shutdown(socket.SHUT_WR)
    except OSError as error:
        errors.append("send: %r" % error)

sender = threading.Thread(target=send_all)
sender.start()
echo_digest = hashlib.sha256()
echoed = 0
rest = b""
end = "EOF"
try:
    while True:
        chunk = connection.recv(1 << 20)
        if not chunk:
            break
        take = min(len(chunk), total - echoed)
        echo_digest.update(chunk[:take])
        echoed += take
        rest += chunk[take:]
except socket.timeout:
    end = "TIMEOUT"
except ConnectionResetError:
    end = "RESET"
sender.join()
print(json.dumps({
    "end": end,
    "errors": errors,
    "sent": total,
    "sent_sha256": sent_digest.hexdigest(),
    "echoed": echoed,
    "echoed_sha256": echo_digest.hexdigest(),
    "trailer": rest.decode("latin-1"),
}))
"""#

/// The client of the proxy backend's SINK mode. It reads until the
/// backend's EOF and keeps the half-closed connection idle for argv[3]
/// seconds. Then it still sends argv[2] bytes of random data and shuts down
/// its sending side. It prints one JSON object with what it read and sent.
let sinkClientScript = #"""
import hashlib, json, os, socket, sys, time

port, total, pause = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
connection = socket.create_connection(("127.0.0.1", port), timeout=30)
connection.sendall(b"SINK\n")
received = b""
end = "EOF"
try:
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            break
        received += chunk
except socket.timeout:
    end = "TIMEOUT"
except ConnectionResetError:
    end = "RESET"
digest = hashlib.sha256()
errors = []
if end == "EOF":
    time.sleep(pause)
    try:
        remaining = total
        while remaining:
            chunk = os.urandom(min(1 << 20, remaining))
            digest.update(chunk)
            connection.sendall(chunk)
            remaining -= len(chunk)
        connection.shutdown(socket.SHUT_WR)
    except OSError as error:
        errors.append("send: %r" % error)
connection.close()
print(json.dumps({
    "end": end,
    "received": received.decode("latin-1"),
    "errors": errors,
    "sent": total,
    "sent_sha256": digest.hexdigest(),
}))
"""#

/// Decodes the one JSON object that a client script printed.
func decodeClientReport(_ result: CommandResult) throws -> [String: Any] {
    guard result.status == 0, !result.timedOut,
          let object = try? JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
    else {
        throw HarnessError("client script failed: \(result.summary)")
    }
    return object
}
