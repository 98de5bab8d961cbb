import Foundation
import Testing

/// What a client sees at a limit: at `instances` it waits in the backlog
/// and is served when an instance ends; over `per_source` it is closed at
/// once and the refusal is logged.
@Suite("connection limits", .timeLimit(.minutes(2)))
struct LimitTests {
    /// A server that holds each connection until the client sends a line,
    /// then echoes it; written to the scratch folder as a shell script.
    static let holdScript = """
        #!/bin/sh
        read line
        echo "$line"

        """

    @Test("instances queue clients, per_source refuses")
    func instancesQueueAndPerSourceRefuses() throws {
        let scratch = try ScratchFolder("limits")
        let script = try scratch.write("hold.sh", LimitTests.holdScript)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let queuedPort = try Ports.free()
        let perSourcePort = try Ports.free()
        let config = try scratch.write("sieste.conf", """
            service queued
            {
                type        = UNLISTED
                socket_type = stream
                wait        = no
                user        = root
                server      = \(script.path)
                instances   = 2
                listen      = 127.0.0.1:\(queuedPort)
            }

            service per-source
            {
                type        = UNLISTED
                socket_type = stream
                wait        = no
                user        = root
                server      = \(script.path)
                per_source  = 1
                listen      = 127.0.0.1:\(perSourcePort)
            }

            """)
        let sieste = try Sieste.serve(configs: [config], in: scratch.url, extraArguments: ["--socket", "none"])

        // Five clients connect at once to a service with two instances, then
        // talk in turn: the first two get processes at once, the other three
        // wait in the backlog until an instance ends.
        let client = """
            import socket, sys
            port, per_source = int(sys.argv[1]), int(sys.argv[2])
            connections = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(5)]
            answers = []
            for index, connection in enumerate(connections):
                connection.sendall(b"client %d\\n" % index)
                answers.append(connection.recv(64).decode().strip())
            print("queued", answers == ["client %d" % index for index in range(5)])

            # per_source = 1: a second connection from 127.0.0.1 while the
            # first is held open is closed at once without an answer.
            first = socket.create_connection(("127.0.0.1", per_source), timeout=20)
            second = socket.create_connection(("127.0.0.1", per_source), timeout=20)
            print("second refused", second.recv(64) == b"")
            first.sendall(b"first\\n")
            print("first served", first.recv(64) == b"first\\n")
            """
        let result = try runPython(client, [String(queuedPort), String(perSourcePort)], timeout: .seconds(60))
        #expect(result.status == 0, "\(result.summary)\n\(sieste.stderrText)")
        let answers = result.output.split(separator: "\n").map(String.init)
        #expect(answers.contains("queued True"), "\(result.summary)")
        #expect(answers.contains("second refused True"), "\(result.summary)")
        #expect(answers.contains("first served True"), "\(result.summary)")

        // The log shows the queueing: the third start comes after an exit.
        let queuedEvents = sieste.rawLines.compactMap(LogLine.parse).filter {
            $0["service"] == "queued" && ($0.event == "started" || $0.event == "exited")
        }
        let starts = queuedEvents.enumerated().filter { $0.element.event == "started" }.map(\.offset)
        let firstExit = queuedEvents.firstIndex { $0.event == "exited" }
        #expect(starts.count == 5, "\(sieste.stderrText)")
        if starts.count == 5, let firstExit {
            #expect(starts[1] < firstExit, "two instances run at once: \(queuedEvents)")
            #expect(starts[2] > firstExit, "the third client waits for an instance to end: \(queuedEvents)")
        } else {
            Issue.record("no exited line for service queued: \(sieste.stderrText)")
        }
        let refusals = sieste.lines("refused", service: "per-source")
        #expect(refusals.count == 1, "\(sieste.stderrText)")
        #expect(refusals.first?["reason"] == "per_source limit reached")
        #expect(try sieste.stop() == 0)
    }
}
