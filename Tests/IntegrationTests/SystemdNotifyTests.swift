import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Under systemd (NOTIFY_SOCKET set), sieste loads libsystemd and reports
/// readiness, reloads and its stop with sd_notify.
@Suite("systemd notifications", .timeLimit(.minutes(2)))
struct SystemdNotifyTests {
    @Test("ready reload and stop are notified")
    func notifications() throws {
        // libsystemd0 is part of every Debian system; sieste dlopens it.
        let library = "/usr/lib/x86_64-linux-gnu/libsystemd.so.0"
        guard FileManager.default.fileExists(atPath: library) else {
            throw HarnessError("\(library) is missing; install libsystemd0")
        }
        let scratch = try ScratchFolder("notify")
        let socketPath = scratch.url.appendingPathComponent("notify.sock").path
        let receiver = try DatagramReceiver(path: socketPath)
        let port = try Ports.free()
        let config = try scratch.write("sieste.conf", catService("echo", port: port))

        let sieste = try Sieste.serve(configs: [config], in: scratch.url,
                                      extraArguments: ["--socket", "none"],
                                      extraEnvironment: ["NOTIFY_SOCKET": socketPath])
        #expect(try receiver.next() == "READY=1")

        sieste.send(SIGHUP)
        #expect(try receiver.next() == "RELOADING=1")
        #expect(try receiver.next() == "READY=1")

        #expect(try sieste.stop() == 0)
        #expect(try receiver.next() == "STOPPING=1")
    }
}

/// A Unix datagram socket bound at a path, standing in for systemd's
/// notification socket.
private final class DatagramReceiver {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket failed: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw HarnessError("socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw HarnessError("bind \(path) failed: errno \(errno)") }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Returns the next datagram as text; throws after 20 s without one.
    func next() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count >= 0 else { throw HarnessError("no notification within 20 s: errno \(errno)") }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}
