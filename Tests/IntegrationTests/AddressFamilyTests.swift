import Foundation
import Testing

/// Per-connection services over IPv6, dual stack and Unix sockets, with the
/// peer as the service sees it.
@Suite("address families", .timeLimit(.minutes(2)))
struct AddressFamilyTests {
    /// Prints the peer variables a per-connection service receives.
    static let peerScript = """
        #!/bin/sh
        echo "REMOTE_ADDR=$REMOTE_ADDR PROTO=$PROTO TCPREMOTEIP=$TCPREMOTEIP"

        """

    @Test("dual stack shows IPv4 peers as IPv4")
    func dualStackPeers() throws {
        let scratch = try ScratchFolder("dual-stack")
        let script = try scratch.write("peer.sh", AddressFamilyTests.peerScript)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let port = try Ports.free()
        // A port with no host: one IPv6 socket that also accepts IPv4.
        let config = try scratch.write("sieste.conf", """
            service peer
            {
                type        = UNLISTED
                socket_type = stream
                wait        = no
                user        = root
                server      = \(script.path)
                listen      = \(port)
            }

            """)
        let sieste = try Sieste.serve(configs: [config], in: scratch.url, extraArguments: ["--socket", "none"])
        let listening = sieste.lines("listening", service: "peer")
        #expect(listening.map { $0["address"] } == ["[::]:\(port)"], "\(sieste.stderrText)")

        let client = """
            import socket, sys
            port = int(sys.argv[1])
            for host in ("127.0.0.1", "::1"):
                with socket.create_connection((host, port), timeout=10) as connection:
                    data = b""
                    while chunk := connection.recv(4096):
                        data += chunk
                    print(data.decode().strip())
            """
        let result = try runPython(client, [String(port)])
        #expect(result.status == 0, "\(result.summary)")
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines.first == "REMOTE_ADDR=127.0.0.1 PROTO=TCP TCPREMOTEIP=127.0.0.1", "\(result.output)")
        #expect(lines.last == "REMOTE_ADDR=::1 PROTO=TCP TCPREMOTEIP=::1", "\(result.output)")
        let peers = sieste.lines("started", service: "peer").compactMap { $0["peer"] }
        #expect(peers.count == 2)
        #expect(peers.first?.hasPrefix("127.0.0.1:") == true, "a mapped peer is logged as IPv4: \(peers)")
        #expect(peers.last?.hasPrefix("[::1]:") == true, "\(peers)")
        #expect(try sieste.stop() == 0)
    }

    @Test("Unix socket per connection")
    func unixSocketPerConnection() throws {
        let scratch = try ScratchFolder("unix-per-connection")
        let socketPath = scratch.url.appendingPathComponent("cat.sock").path
        let config = try scratch.write("sieste.conf", """
            service unix-cat
            {
                socket_type = stream
                wait        = no
                user        = root
                server      = /bin/cat
                listen      = \(socketPath)
                socket_mode = 0660
            }

            """)
        let sieste = try Sieste.serve(configs: [config], in: scratch.url, extraArguments: ["--socket", "none"])
        let attributes = try FileManager.default.attributesOfItem(atPath: socketPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o660)

        let client = """
            import socket, sys
            with socket.socket(socket.AF_UNIX) as connection:
                connection.settimeout(10)
                connection.connect(sys.argv[1])
                connection.sendall(b"over unix\\n")
                connection.shutdown(socket.SHUT_WR)
                data = b""
                while chunk := connection.recv(4096):
                    data += chunk
                print(data.decode(), end="")
            """
        let result = try runPython(client, [socketPath])
        #expect(result.status == 0, "\(result.summary)\n\(sieste.stderrText)")
        #expect(result.output == "over unix\n")
        #expect(try sieste.stop() == 0)
    }
}
