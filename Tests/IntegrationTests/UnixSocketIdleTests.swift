import Foundation
import Testing

/// Idle detection on a Unix socket goes through unix_diag rather than
/// inet_diag: an open connection must keep the service running.
@Suite("idle on a Unix socket", .timeLimit(.minutes(2)))
struct UnixSocketIdleTests {
    /// A listen_fds service that echoes on every connection it accepts
    /// from fd 3 and keeps each open until the client closes it.
    static let echoServer = """
        import selectors, socket
        listener = socket.socket(fileno=3)
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select():
                if key.fileobj is listener:
                    connection, _ = listener.accept()
                    selector.register(connection, selectors.EVENT_READ)
                    continue
                data = key.fileobj.recv(4096)
                if data:
                    key.fileobj.sendall(data)
                else:
                    selector.unregister(key.fileobj)
                    key.fileobj.close()

        """

    @Test("open Unix connection keeps service")
    func openConnectionKeepsService() throws {
        let scratch = try ScratchFolder("unix-idle")
        let server = try scratch.write("echo.py", UnixSocketIdleTests.echoServer)
        let socketPath = scratch.url.appendingPathComponent("echo.sock").path
        let config = try scratch.write("sieste.conf", """
            service unix-echo
            {
                socket_type  = stream
                wait         = yes
                user         = root
                handoff      = listen_fds
                server       = /usr/bin/python3
                server_args  = \(server.path)
                listen       = \(socketPath)
                idle_timeout = 1s
            }

            """)
        let sieste = try Sieste.serve(configs: [config], in: scratch.url, extraArguments: ["--socket", "none"])

        // The client holds its connection for three idle timeouts, talking
        // at the start and at the end; the service must survive it.
        let client = """
            import socket, sys, time
            connection = socket.socket(socket.AF_UNIX)
            connection.settimeout(10)
            connection.connect(sys.argv[1])
            connection.sendall(b"first")
            assert connection.recv(16) == b"first"
            time.sleep(3)
            connection.sendall(b"last")
            assert connection.recv(16) == b"last"
            connection.close()
            print("ok")
            """
        let result = try runPython(client, [socketPath], timeout: .seconds(30))
        #expect(result.status == 0, "\(result.summary)\n\(sieste.stderrText)")
        #expect(result.output == "ok\n")
        #expect(sieste.lines("idle-stop", service: "unix-echo").isEmpty, "stopped while a connection was open: \(sieste.stderrText)")

        // Once the client has gone, the idle timeout stops the service.
        _ = try sieste.waitFor("idle-stop service=unix-echo", timeout: .seconds(20)) {
            $0.event == "idle-stop" && $0["service"] == "unix-echo"
        }
        #expect(try sieste.stop() == 0)
    }
}
