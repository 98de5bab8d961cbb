import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Signals: SIGHUP reloads, SIGTERM stops; children are reaped.
@Suite("reload and stop", .timeLimit(.minutes(2)))
struct LifecycleTests {
    @Test("SIGHUP adds a service")
    func reloadAddsService() throws {
        let scratch = try ScratchFolder("reload")
        let firstPort = try Ports.free()
        let secondPort = try Ports.free()
        let config = try scratch.write("sieste.conf", catService("first", port: firstPort))

        let sieste = try Sieste.serve(configs: [config], in: scratch.url)
        #expect(try tcpExchange(port: secondPort).end == .refused, "nothing may listen on the second port yet")

        try scratch.write("sieste.conf", catService("first", port: firstPort) + catService("second", port: secondPort))
        let mark = sieste.mark
        sieste.send(SIGHUP)
        let reloaded = try sieste.waitFor("reloaded", after: mark) { $0.event == "reloaded" }
        #expect(reloaded["services"] == "2")

        #expect(try tcpExchange(port: secondPort, send: "second\n").text == "second\n", "\(sieste.stderrText)")
        #expect(try tcpExchange(port: firstPort, send: "first\n").text == "first\n", "\(sieste.stderrText)")
        #expect(try sieste.stop() == 0)
    }

    @Test("broken reload keeps serving")
    func brokenReloadKeepsServing() throws {
        let scratch = try ScratchFolder("reload-broken")
        let port = try Ports.free()
        let good = catService("first", port: port)
        let config = try scratch.write("sieste.conf", good)
        let sieste = try Sieste.serve(configs: [config], in: scratch.url)

        try scratch.write("sieste.conf", good + "service broken\n{\n    socket_type = banana\n}\n")
        var mark = sieste.mark
        sieste.send(SIGHUP)
        let failure = try sieste.waitFor("reload-failed", after: mark) { $0.event == "reload-failed" }
        #expect(failure.level == "error")
        let diagnostics = sieste.rawLines[mark...].compactMap(LogLine.parse).filter { $0.event == "config" }.map(\.diagnostic)
        #expect(diagnostics.contains { $0.hasPrefix("\(config.path):11: ") }, "\(sieste.stderrText)")
        #expect(sieste.isRunning)
        #expect(try tcpExchange(port: port, send: "kept\n").text == "kept\n", "\(sieste.stderrText)")

        // Once the file is fixed, the next SIGHUP loads it.
        try scratch.write("sieste.conf", good)
        mark = sieste.mark
        sieste.send(SIGHUP)
        try sieste.waitFor("reloaded after the fix", after: mark) { $0.event == "reloaded" }
        #expect(try sieste.stop() == 0)
    }

    @Test("SIGTERM stops cleanly with children reaped")
    func cleanStop() throws {
        let scratch = try ScratchFolder("stop")
        let port = try Ports.free()
        let config = try scratch.write("sieste.conf", catService("echo", port: port))
        let sieste = try Sieste.serve(configs: [config], in: scratch.url)

        for round in 1...3 {
            #expect(try tcpExchange(port: port, send: "round \(round)\n").text == "round \(round)\n")
        }
        let exits = try poll("three exited lines for service echo") { () -> [LogLine]? in
            let lines = sieste.lines("exited", service: "echo")
            return lines.count >= 3 ? lines : nil
        }
        for exited in exits {
            let pid = try #require(exited["pid"].flatMap { Int32($0) })
            #expect(!ProcTable.exists(pid), "pid \(pid) logged as exited but still in /proc (not reaped)")
            #expect(exited["status"] == "0")
        }
        let zombies = ProcTable.children(of: sieste.pid).filter { $0.state == "Z" }
        #expect(zombies.isEmpty, "unreaped children of sieste: \(zombies.map(\.pid))")

        #expect(try sieste.stop(signal: SIGTERM) == 0)
        let stopping = sieste.lines("stopping")
        #expect(stopping.count == 1, "\(sieste.stderrText)")
        #expect(stopping.first?["signal"] == "TERM")
        #expect(sieste.lines("stopped").count == 1, "\(sieste.stderrText)")
        #expect(try tcpExchange(port: port).end == .refused, "the port must be closed once sieste has stopped")
    }
}
