import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Failures sieste must report and survive: a server that cannot be
/// executed, an address already in use, a malformed configuration.
@Suite("error handling", .timeLimit(.minutes(2)))
struct ErrorTests {
    @Test("missing server logs exec-failed and closes the client")
    func missingServer() throws {
        let scratch = try ScratchFolder("missing-server")
        // The program exists while the configuration loads, in case sieste
        // checks `server` then, and is removed before the connection.
        let program = try scratch.write("vanishing-server", "#!/bin/sh\nexit 0\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program.path)
        let brokenPort = try Ports.free()
        let echoPort = try Ports.free()
        let config = try scratch.write("sieste.conf",
            catService("broken", port: brokenPort, server: program.path) + catService("echo", port: echoPort))

        let sieste = try Sieste.serve(configs: [config], in: scratch.url)
        try FileManager.default.removeItem(at: program)

        let exchange = try tcpExchange(port: brokenPort, timeout: .seconds(10))
        #expect(exchange.end == .eof || exchange.end == .reset,
                "the client must see the connection closed, not \(exchange.end.rawValue)")
        #expect(exchange.received.isEmpty)

        let failure = try sieste.waitFor("exec-failed service=broken") {
            $0.event == "exec-failed" && $0["service"] == "broken"
        }
        #expect(failure.level == "error")
        #expect(failure["path"] == program.path)
        #expect(failure["error"] != nil)

        #expect(sieste.isRunning)
        let echo = try tcpExchange(port: echoPort, send: "still serving\n")
        #expect(echo.text == "still serving\n", "the other service must keep working: \(sieste.stderrText)")
        #expect(try sieste.stop() == 0)
    }

    @Test("address in use logs bind-failed, other service works")
    func addressInUse() throws {
        let scratch = try ScratchFolder("bind-failed")
        let occupied = try Ports.occupied()
        defer { close(occupied.fd) }
        let echoPort = try Ports.free()
        let config = try scratch.write("sieste.conf",
            catService("blocked", port: occupied.port) + catService("echo", port: echoPort))

        let sieste = try Sieste.serve(configs: [config], in: scratch.url, waitForReady: false)
        let failure = try sieste.waitFor("bind-failed service=blocked") {
            $0.event == "bind-failed" && $0["service"] == "blocked"
        }
        #expect(failure.level == "error")
        #expect(failure["address"] == "127.0.0.1:\(occupied.port)")
        #expect(failure["error"] != nil)
        try sieste.waitFor("listening service=echo") { $0.event == "listening" && $0["service"] == "echo" }

        let echo = try tcpExchange(port: echoPort, send: "hello\n")
        #expect(echo.text == "hello\n", "\(sieste.stderrText)")
        #expect(sieste.isRunning)
        #expect(try sieste.stop() == 0)
    }

    /// A configuration with one error, and the line it is on.
    struct MalformedCase: Sendable, CustomTestStringConvertible {
        let label: String
        let text: String
        /// The line the error must be reported on; nil where the parser may
        /// reasonably name another line (an unclosed block is found at the end).
        let line: Int?

        var testDescription: String { label }
    }

    static let malformedCases: [MalformedCase] = [
        MalformedCase(label: "invalid socket_type", text: """
            service bad
            {
                wait        = no
                socket_type = banana
                server      = /bin/cat
                listen      = 127.0.0.1:40001
            }
            """, line: 4),
        MalformedCase(label: "invalid wait", text: """
            service bad
            {
                socket_type = stream
                wait        = maybe
                server      = /bin/cat
                listen      = 127.0.0.1:40001
            }
            """, line: 4),
        MalformedCase(label: "port out of range", text: """
            service bad
            {
                socket_type = stream
                wait        = no
                server      = /bin/cat
                listen      = 127.0.0.1:99999
            }
            """, line: 6),
        MalformedCase(label: "attribute without operator", text: """
            # a comment first, so the error is not on line 1

            service bad
            {
                socket_type stream
                wait        = no
                server      = /bin/cat
                listen      = 127.0.0.1:40001
            }
            """, line: 5),
        MalformedCase(label: "unclosed block", text: """
            service bad
            {
                socket_type = stream
                wait        = no
                server      = /bin/cat
                listen      = 127.0.0.1:40001
            """, line: nil),
    ]

    @Test("malformed config fails check with FILE:LINE", arguments: malformedCases)
    func malformedConfigCheck(_ malformed: MalformedCase) throws {
        let scratch = try ScratchFolder("malformed")
        let config = try scratch.write("bad.conf", malformed.text + "\n")
        let result = try runCommand(try Locations.siesteBinary(), ["check", "-c", config.path])

        #expect(!result.timedOut)
        #expect(result.status == 78, "expected exit code 78 (configuration error): \(result.summary)")
        if let line = malformed.line {
            #expect(result.stderr.contains("\(config.path):\(line): "), "\(result.summary)")
        } else {
            #expect(result.stderr.contains("\(config.path):"), "\(result.summary)")
        }
    }

    @Test("malformed config stops serve with 78")
    func malformedConfigServe() throws {
        let scratch = try ScratchFolder("malformed-serve")
        let config = try scratch.write("bad.conf", Self.malformedCases[0].text + "\n")
        let sieste = try Sieste.serve(configs: [config], in: scratch.url, waitForReady: false)
        try poll("sieste to exit on a malformed configuration") { sieste.isRunning ? nil : true }
        #expect(try sieste.stop() == 78)

        let configErrors = sieste.lines("config")
        #expect(configErrors.first?.level == "error", "\(sieste.stderrText)")
        #expect(configErrors.first?.diagnostic.hasPrefix("\(config.path):4: ") == true, "\(sieste.stderrText)")
        #expect(sieste.lines("ready").isEmpty)
    }
}
