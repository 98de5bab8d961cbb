import Foundation
import Testing

/// `type = INTERNAL` services answered inside sieste, as Debian's
/// /etc/xinetd.d files declare them.
@Suite("builtin services", .timeLimit(.minutes(2)))
struct BuiltinTests {
    @Test("echo daytime time chargen discard")
    func builtinsAnswer() throws {
        let scratch = try ScratchFolder("builtin")
        let echoPort = try Ports.free()
        let daytimePort = try Ports.free()
        let timePort = try Ports.free()
        let chargenPort = try Ports.free()
        let discardPort = try Ports.free()
        func block(_ name: String, _ socketType: String, _ port: UInt16, id: String? = nil) -> String {
            """
            service \(name)
            {
                type        = INTERNAL UNLISTED
                \(id.map { "id          = \($0)" } ?? "")
                socket_type = \(socketType)
                wait        = \(socketType == "dgram" ? "yes" : "no")
                listen      = 127.0.0.1:\(port)
            }

            """
        }
        let config = try scratch.write("sieste.conf",
            block("echo", "stream", echoPort) + block("echo", "dgram", echoPort, id: "echo-dgram")
            + block("daytime", "stream", daytimePort) + block("time", "stream", timePort)
            + block("chargen", "stream", chargenPort) + block("discard", "stream", discardPort))
        let sieste = try Sieste.serve(configs: [config], in: scratch.url, extraArguments: ["--socket", "none"])

        let client = """
            import socket, sys, time
            echo, daytime, clock, chargen, discard = (int(port) for port in sys.argv[1:6])

            def read_all(connection):
                data = b""
                while chunk := connection.recv(65536):
                    data += chunk
                return data

            # Echo returns every byte, also those sent just before the half-close.
            payload = bytes(range(256)) * 80
            with socket.create_connection(("127.0.0.1", echo), timeout=10) as connection:
                connection.sendall(payload)
                connection.shutdown(socket.SHUT_WR)
                print("echo", read_all(connection) == payload)

            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
                datagram.settimeout(10)
                datagram.sendto(b"datagram", ("127.0.0.1", echo))
                print("echo-dgram", datagram.recvfrom(64)[0] == b"datagram")

            with socket.create_connection(("127.0.0.1", daytime), timeout=10) as connection:
                text = read_all(connection)
                print("daytime", text.endswith(b"\\r\\n") and str(time.localtime().tm_year).encode() in text)

            with socket.create_connection(("127.0.0.1", clock), timeout=10) as connection:
                value = read_all(connection)
                seconds = int.from_bytes(value, "big") - 2208988800
                print("time", len(value) == 4 and abs(seconds - time.time()) < 60)

            with socket.create_connection(("127.0.0.1", chargen), timeout=10) as connection:
                data = b""
                while len(data) < 148:
                    data += connection.recv(4096)
                print("chargen", data[72:74] == b"\\r\\n" and data[74:75] == b"!")

            with socket.create_connection(("127.0.0.1", discard), timeout=10) as connection:
                connection.sendall(b"dropped")
                connection.shutdown(socket.SHUT_WR)
                print("discard", read_all(connection) == b"")
            """
        let result = try runPython(client, [echoPort, daytimePort, timePort, chargenPort, discardPort].map(String.init))
        #expect(result.status == 0, "\(result.summary)\n\(sieste.stderrText)")
        let answers = result.output.split(separator: "\n").map(String.init)
        for name in ["echo", "echo-dgram", "daytime", "time", "chargen", "discard"] {
            #expect(answers.contains("\(name) True"), "\(name): \(result.summary)")
        }
        #expect(sieste.lines("started").isEmpty, "builtins start no process: \(sieste.stderrText)")
        #expect(try sieste.stop() == 0)
    }
}
