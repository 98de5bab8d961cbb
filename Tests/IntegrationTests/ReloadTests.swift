import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP with a changed service: the new definition serves on the socket
/// the old one had, which is never closed.
@Suite("reload of a changed service", .timeLimit(.minutes(2)))
struct ReloadTests {
    /// Regression: the socket handed over on reload stayed registered under
    /// the retired service, so the new one could not watch it and clients
    /// were still served by the old definition.
    @Test("changed server takes over socket")
    func changedServerTakesOverSocket() throws {
        let scratch = try ScratchFolder("reload-changed")
        let port = try Ports.free()
        let before = catService("greeter", port: port)
        let config = try scratch.write("sieste.conf", before)
        let sieste = try Sieste.serve(configs: [config], in: scratch.url, extraArguments: ["--socket", "none"])
        #expect(try tcpExchange(port: port, send: "cat\n").text == "cat\n")

        let after = before.replacingOccurrences(of: "server      = /bin/cat", with: "server      = /bin/echo\n    server_args = changed")
        #expect(after != before, "the rewrite of the service block did not apply")
        try scratch.write("sieste.conf", after)
        let mark = sieste.mark
        sieste.send(SIGHUP)
        let reloaded = try sieste.waitFor("reloaded", after: mark) { $0.event == "reloaded" }
        #expect(reloaded["unchanged"] == "0")

        for round in 1...3 {
            let exchange = try tcpExchange(port: port, send: "round \(round)\n")
            #expect(exchange.text == "changed\n", "round \(round): \(sieste.stderrText)")
        }
        let newLines = sieste.rawLines[mark...].compactMap(LogLine.parse)
        #expect(!newLines.contains { $0.event == "watch-failed" }, "\(sieste.stderrText)")
        #expect(!newLines.contains { $0.event == "listening" }, "the socket must be handed over, not bound again: \(sieste.stderrText)")
        #expect(try sieste.stop() == 0)
    }

    @Test("unbindable change keeps old service")
    func unbindableChangeKeepsOldService() throws {
        let scratch = try ScratchFolder("reload-unbindable")
        let port = try Ports.free()
        let occupied = try Ports.occupied()
        defer { close(occupied.fd) }
        let config = try scratch.write("sieste.conf", catService("kept", port: port))
        let sieste = try Sieste.serve(configs: [config], in: scratch.url, extraArguments: ["--socket", "none"])

        // The changed definition wants a port something else holds.
        try scratch.write("sieste.conf", catService("kept", port: occupied.port))
        let mark = sieste.mark
        sieste.send(SIGHUP)
        let kept = try sieste.waitFor("reload-kept-old", after: mark) { $0.event == "reload-kept-old" }
        #expect(kept["service"] == "kept")
        _ = try sieste.waitFor("reloaded", after: mark) { $0.event == "reloaded" }

        #expect(try tcpExchange(port: port, send: "still here\n").text == "still here\n", "\(sieste.stderrText)")
        #expect(try sieste.stop() == 0)
    }
}
