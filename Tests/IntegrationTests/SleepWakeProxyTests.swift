import Foundation
import Testing

/// The lazy proxy in front of a daemon that binds its own port: every byte
/// in both directions, half-close either way, and the idle stop after it.
extension SleepWakeTests {
    @Test("proxy relays 100 MiB and half-close", .timeLimit(.minutes(1)))
    func proxyBulkAndHalfClose() throws {
        let scratch = try ScratchFolder("proxy-bulk")
        let port = try Ports.free()
        let backendPort = try Ports.free()
        let backend = try scratch.write("backend.py", proxyBackendScript)
        let echoClient = try scratch.write("echo-client.py", echoClientScript)
        let sinkClient = try scratch.write("sink-client.py", sinkClientScript)
        let config = try scratch.write("sieste.conf", """
            service bulk-proxy
            {
                socket_type  = stream
                wait         = no
                user         = root
                server       = /usr/bin/python3
                server_args  = \(backend.path) \(backendPort)
                redirect     = 127.0.0.1 \(backendPort)
                idle_timeout = 2s
                listen       = 127.0.0.1:\(port)
            }

            """)
        let sieste = try Sieste.serve(configs: [config], in: scratch.url)
        #expect(try tcpExchange(port: backendPort, timeout: .seconds(2)).end == .refused,
                "the backend must not run before the first client")

        // 100 MiB each way at once; the backend's trailer comes after the
        // client's EOF, so it also crosses the proxy after a half-close.
        let total = 100 << 20
        let echo = try decodeClientReport(runCommand(
            "/usr/bin/python3", [echoClient.path, String(port), String(total)], timeout: .seconds(40)))
        let context = "\(echo)\n--- sieste ---\n\(sieste.stderrText)"
        #expect(echo["end"] as? String == "EOF", "\(context)")
        #expect((echo["errors"] as? [String])?.isEmpty == true, "\(context)")
        #expect(echo["echoed"] as? Int == total, "\(context)")
        let sentDigest = try #require(echo["sent_sha256"] as? String)
        #expect(echo["echoed_sha256"] as? String == sentDigest, "the echoed bytes differ from the sent ones")
        #expect(echo["trailer"] as? String == "TRAILER \(total) \(sentDigest)\n",
                "the backend must have received every byte, and its answer must cross after the client's EOF: \(context)")

        let started = sieste.lines("started", service: "bulk-proxy")
        #expect(started.count == 1, "\(sieste.stderrText)")
        let pid = try #require(started.first?["pid"])
        try sieste.waitFor("backend-ready service=bulk-proxy pid=\(pid)") {
            $0.event == "backend-ready" && $0["service"] == "bulk-proxy" && $0["pid"] == pid
        }

        // The other way round: the backend ends its side first, and the
        // client still sends 8 MiB, which the backend reports on stderr. The
        // client first keeps the half-closed connection idle for longer than
        // idle_timeout, which must not stop the backend under it.
        let sinkSize = 8 << 20
        let sink = try decodeClientReport(runCommand(
            "/usr/bin/python3", [sinkClient.path, String(port), String(sinkSize), "2.5"], timeout: .seconds(30)))
        #expect(sieste.lines("idle-stop", service: "bulk-proxy").isEmpty,
                "the backend was stopped while a connection was open: \(sieste.stderrText)")
        #expect(sink["end"] as? String == "EOF", "\(sink)\n\(sieste.stderrText)")
        #expect(sink["received"] as? String == "SINK-READY\n", "\(sink)")
        #expect((sink["errors"] as? [String])?.isEmpty == true, "sending after the backend's EOF failed: \(sink)")
        let sinkDigest = try #require(sink["sent_sha256"] as? String)
        let expectedReport = "sink bytes=\(sinkSize) sha256=\(sinkDigest)"
        try sieste.waitFor("the backend's report `\(expectedReport)`", timeout: .seconds(10)) {
            $0.event == "stderr" && $0["service"] == "bulk-proxy" && $0["line"] == expectedReport
        }
        let clock = ContinuousClock()
        let transfersEnded = clock.now
        let markAtEnd = sieste.mark
        #expect(sieste.lines("started", service: "bulk-proxy").count == 1, "one backend serves both clients: \(sieste.stderrText)")

        try sieste.waitFor("idle-stop service=bulk-proxy pid=\(pid)", after: markAtEnd, timeout: .seconds(10)) {
            $0.event == "idle-stop" && $0["service"] == "bulk-proxy" && $0["pid"] == pid
        }
        let stoppedAfter = clock.now - transfersEnded
        // The sink connection closed shortly before its report was logged,
        // so the stop comes a little less than idle_timeout = 2s after that.
        #expect(stoppedAfter >= .seconds(1), "idle-stop only \(stoppedAfter) after the last connection")
        let exited = try sieste.waitFor("exited service=bulk-proxy pid=\(pid)") {
            $0.event == "exited" && $0["service"] == "bulk-proxy" && $0["pid"] == pid
        }
        #expect(exited["signal"] == "TERM", "\(exited)")
        #expect(!ProcTable.exists(Int32(pid) ?? 0), "the stopped backend must be reaped")
        #expect(try tcpExchange(port: backendPort, timeout: .seconds(2)).end == .refused,
                "the backend's own port must be closed once it has stopped")
        #expect(try sieste.stop() == 0)
    }
}
