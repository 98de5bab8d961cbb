import Foundation
import Testing

/// examples/tftpd: in.tftpd as a datagram `wait = yes` service.
@Suite("tftpd-hpa datagram wait", .timeLimit(.minutes(2)))
struct TftpdTests {
    @Test("get matches the file, also after in.tftpd exits")
    func getTwice() throws {
        try Locations.requireProgram("/usr/sbin/in.tftpd")
        try Locations.requireProgram("/usr/bin/tftp")
        let example = try ExampleCopy("tftpd")
        let port = try Ports.free(udp: true)
        try example.movePort(6969, to: port)
        // in.tftpd exits after 2 s without a request, so that the test can
        // check that sieste watches the socket again and starts a second one.
        try example.setAttribute("server_args", from: "-s -t 60 examples/tftpd/files", to: "-s -t 2 examples/tftpd/files")
        let expected = try Data(contentsOf: example.file("files/hello.txt"))
        let downloads = try ScratchFolder("tftp-client")

        let sieste = try Sieste.serve(configs: [example.config], in: example.root)
        try sieste.waitFor("listening service=tftp") {
            $0.event == "listening" && $0["service"] == "tftp" && $0["address"] == "127.0.0.1:\(port)"
        }

        let first = try tftpGet(port: port, file: "hello.txt", into: downloads.url)
        #expect(first == expected, "\(sieste.stderrText)")
        let started = try sieste.waitFor("started service=tftp") { $0.event == "started" && $0["service"] == "tftp" }
        let pid = try #require(started["pid"])
        try sieste.waitFor("exited service=tftp pid=\(pid)") {
            $0.event == "exited" && $0["service"] == "tftp" && $0["pid"] == pid
        }

        let mark = sieste.mark
        let second = try tftpGet(port: port, file: "hello.txt", into: downloads.url)
        #expect(second == expected)
        let restarted = try sieste.waitFor("a second started service=tftp", after: mark) {
            $0.event == "started" && $0["service"] == "tftp"
        }
        #expect(restarted["pid"] != pid)

        #expect(try sieste.stop() == 0)
    }
}
