import Foundation
import Testing

/// examples/lighttpd and examples/lighttpd-idle: lighttpd started with the
/// listening socket (`handoff = listen_fds`).
@Suite("lighttpd socket handoff", .timeLimit(.minutes(2)))
struct LighttpdTests {
    @Test("one lighttpd serves every request")
    func oneProcessServesAll() throws {
        try Locations.requireProgram("/usr/sbin/lighttpd")
        let example = try ExampleCopy("lighttpd")
        let port = try Ports.free()
        try example.movePort(8080, to: port)
        let page = try String(contentsOf: example.file("htdocs/index.html"), encoding: .utf8)

        let sieste = try Sieste.serve(configs: [example.config], in: example.root)
        #expect(sieste.lines("started", service: "http").isEmpty, "lighttpd must not start before a connection")

        let first = try curl("http://127.0.0.1:\(port)/")
        #expect(first.status == 200)
        #expect(first.body == page)
        let started = try sieste.waitFor("started service=http") { $0.event == "started" && $0["service"] == "http" }
        let pid = try #require(started["pid"].flatMap { Int32($0) })
        #expect(started["peer"] == nil, "a wait = yes service has no single peer")

        let second = try curl("http://127.0.0.1:\(port)/index.html")
        #expect(second.status == 200)
        #expect(second.body == page)

        #expect(sieste.lines("started", service: "http").count == 1, "\(sieste.stderrText)")
        #expect(sieste.lines("exited", service: "http").isEmpty, "\(sieste.stderrText)")
        #expect(ProcTable.exists(pid), "lighttpd (pid \(pid)) should still be running")

        #expect(try sieste.stop() == 0)
    }

    /// A `wait = yes` service is sieste's child; stopping sieste stops it too
    /// rather than leaving it to run unmanaged on sieste's socket.
    @Test("stopping sieste stops lighttpd")
    func stopEndsService() throws {
        try Locations.requireProgram("/usr/sbin/lighttpd")
        let example = try ExampleCopy("lighttpd")
        let port = try Ports.free()
        try example.movePort(8080, to: port)

        let sieste = try Sieste.serve(configs: [example.config], in: example.root)
        #expect(try curl("http://127.0.0.1:\(port)/").status == 200)
        let started = try sieste.waitFor("started service=http") { $0.event == "started" && $0["service"] == "http" }
        let pid = try #require(started["pid"].flatMap { Int32($0) })

        #expect(try sieste.stop() == 0)
        try poll("lighttpd (pid \(pid)) to be gone after sieste stopped") {
            ProcTable.exists(pid) ? nil : true
        }
        #expect(sieste.lines("stopped").count == 1)
    }

    @Test("idle lighttpd is stopped and woken again")
    func idleStopAndWake() throws {
        try Locations.requireProgram("/usr/sbin/lighttpd")
        let example = try ExampleCopy("lighttpd-idle")
        let port = try Ports.free()
        try example.movePort(8082, to: port)
        try example.setAttribute("idle_timeout", from: "30s", to: "2s")
        let page = try String(contentsOf: example.file("htdocs/index.html"), encoding: .utf8)

        let sieste = try Sieste.serve(configs: [example.config], in: example.root)
        let first = try curl("http://127.0.0.1:\(port)/")
        #expect(first.status == 200)
        #expect(first.body == page)
        let answered = ContinuousClock.now
        let started = try sieste.waitFor("started service=http-idle") {
            $0.event == "started" && $0["service"] == "http-idle"
        }
        let firstPid = try #require(started["pid"])

        let idleStop = try sieste.waitFor("idle-stop service=http-idle pid=\(firstPid)", timeout: .seconds(30)) {
            $0.event == "idle-stop" && $0["service"] == "http-idle"
        }
        #expect(idleStop["pid"] == firstPid)
        // The request ended when curl returned; sieste may count from its
        // arrival, a little earlier, hence the margin below 2 s.
        #expect(ContinuousClock.now - answered >= .seconds(1), "idle-stop came before idle_timeout = 2s")
        try sieste.waitFor("exited service=http-idle pid=\(firstPid)") {
            $0.event == "exited" && $0["service"] == "http-idle" && $0["pid"] == firstPid
        }
        #expect(!ProcTable.exists(Int32(firstPid) ?? 0), "the stopped lighttpd must be reaped")

        let mark = sieste.mark
        let second = try curl("http://127.0.0.1:\(port)/")
        #expect(second.status == 200)
        #expect(second.body == page)
        let restarted = try sieste.waitFor("a second started service=http-idle", after: mark) {
            $0.event == "started" && $0["service"] == "http-idle"
        }
        #expect(restarted["pid"] != firstPid)

        #expect(try sieste.stop() == 0)
    }
}
