import Foundation
import Testing

/// examples/proxy-lighttpd: a standalone lighttpd behind sieste's lazy proxy.
@Suite("lighttpd behind the lazy proxy", .timeLimit(.minutes(2)))
struct ProxyTests {
    @Test("proxy starts, serves and idles out the backend")
    func startServeIdle() throws {
        try Locations.requireProgram("/usr/sbin/lighttpd")
        let example = try ExampleCopy("proxy-lighttpd")
        let port = try Ports.free()
        let backendPort = try Ports.free()
        try example.movePort(8081, to: port)
        try example.movePort(18080, to: backendPort)
        try example.setAttribute("idle_timeout", from: "30s", to: "2s")
        let page = try String(contentsOf: example.file("htdocs/index.html"), encoding: .utf8)

        let sieste = try Sieste.serve(configs: [example.config], in: example.root)
        #expect(sieste.lines("started", service: "http-proxy").isEmpty, "the backend must not start before a connection")

        let first = try curl("http://127.0.0.1:\(port)/")
        #expect(first.status == 200, "\(sieste.stderrText)")
        #expect(first.body == page)
        let second = try curl("http://127.0.0.1:\(port)/index.html")
        #expect(second.status == 200)
        #expect(second.body == page)

        let started = sieste.lines("started", service: "http-proxy")
        #expect(started.count == 1, "one backend serves both requests: \(sieste.stderrText)")
        let pid = try #require(started.first?["pid"])

        try sieste.waitFor("idle-stop service=http-proxy pid=\(pid)", timeout: .seconds(30)) {
            $0.event == "idle-stop" && $0["service"] == "http-proxy" && $0["pid"] == pid
        }
        try sieste.waitFor("exited service=http-proxy pid=\(pid)") {
            $0.event == "exited" && $0["service"] == "http-proxy" && $0["pid"] == pid
        }

        let mark = sieste.mark
        let third = try curl("http://127.0.0.1:\(port)/")
        #expect(third.status == 200)
        #expect(third.body == page)
        let restarted = try sieste.waitFor("a second started service=http-proxy", after: mark) {
            $0.event == "started" && $0["service"] == "http-proxy"
        }
        #expect(restarted["pid"] != pid)

        #expect(try sieste.stop() == 0)
    }
}
