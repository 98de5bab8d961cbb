import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `sieste status` reads the running daemon's control socket.
@Suite("status command", .timeLimit(.minutes(2)))
struct StatusTests {
    @Test("status lists each service and its state")
    func listsServices() throws {
        let scratch = try ScratchFolder("status")
        let catPort = try Ports.free()
        let waitPort = try Ports.free()
        let control = scratch.url.appendingPathComponent("control.sock").path
        // A wait = yes service whose process holds the socket until killed,
        // so that status can be read while it runs.
        let waiting = """
            service holder
            {
                socket_type = stream
                wait        = yes
                user        = root
                server      = /bin/sleep
                server_args = 60
                listen      = 127.0.0.1:\(waitPort)
            }

            """
        let config = try scratch.write("sieste.conf", catService("echo", port: catPort) + waiting)
        let sieste = try Sieste.serve(configs: [config], in: scratch.url, extraArguments: ["--socket", control])

        let before = try runCommand(try Locations.siesteBinary(), ["status", "--socket", control])
        #expect(before.status == 0, "\(before.summary)")
        #expect(before.output.contains("echo per-connection sleeping children=0 listen=127.0.0.1:\(catPort)"), "\(before.output)")
        #expect(before.output.contains("holder handoff sleeping"), "\(before.output)")

        // Wake the wait = yes service; its pid then shows in the status.
        let client = try tcpConnect(port: waitPort)
        defer { close(client) }
        let started = try sieste.waitFor("started service=holder") { $0.event == "started" && $0["service"] == "holder" }
        let pid = try #require(started["pid"])
        let during = try runCommand(try Locations.siesteBinary(), ["status", "--socket", control])
        #expect(during.output.contains("holder handoff running pid=\(pid)"), "\(during.output)")

        #expect(try sieste.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: control), "the control socket must be removed at stop")
        let after = try runCommand(try Locations.siesteBinary(), ["status", "--socket", control])
        #expect(after.status == 71, "\(after.summary)")
        #expect(after.stderr.contains("is sieste running"), "\(after.summary)")
    }
}

/// Opens a TCP connection to 127.0.0.1 and returns the descriptor.
private func tcpConnect(port: UInt16) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HarnessError("socket failed: errno \(errno)") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard result == 0 else {
        close(fd)
        throw HarnessError("connect to 127.0.0.1:\(port) failed: errno \(errno)")
    }
    return fd
}
