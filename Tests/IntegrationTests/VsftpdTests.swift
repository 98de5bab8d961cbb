import Foundation
import Testing

/// examples/vsftpd: one vsftpd per connection, anonymous download.
@Suite("vsftpd per connection", .timeLimit(.minutes(2)))
struct VsftpdTests {
    private static let downloadScript = #"""
    import ftplib, io, sys
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", int(sys.argv[1]), timeout=15)
    ftp.login()
    buffer = io.BytesIO()
    ftp.retrbinary("RETR " + sys.argv[2], buffer.write)
    ftp.quit()
    sys.stdout.buffer.write(buffer.getvalue())
    """#

    @Test("anonymous download matches the file")
    func anonymousDownload() throws {
        try Locations.requireProgram("/usr/sbin/vsftpd")
        // vsftpd refuses to start without its secure_chroot_dir, which lives
        // under /run and is gone after a reboot.
        try FileManager.default.createDirectory(atPath: "/var/run/vsftpd/empty", withIntermediateDirectories: true)

        let example = try ExampleCopy("vsftpd")
        let port = try Ports.free()
        try example.movePort(2121, to: port)
        try example.replace([("anon_root=/srv/ftp", "anon_root=\(example.file("pub").path)")])

        let sieste = try Sieste.serve(configs: [example.config], in: example.root)
        try sieste.waitFor("listening service=ftp") {
            $0.event == "listening" && $0["service"] == "ftp" && $0["address"] == "127.0.0.1:\(port)"
        }

        let result = try runPython(Self.downloadScript, [String(port), "hello.txt"])
        #expect(result.status == 0, "ftplib download failed: \(result.summary)\n--- sieste ---\n\(sieste.stderrText)")
        let expected = try Data(contentsOf: example.file("pub/hello.txt"))
        #expect(result.stdout == expected)

        let started = try sieste.waitFor("started service=ftp") { $0.event == "started" && $0["service"] == "ftp" }
        #expect(started["peer"]?.hasPrefix("127.0.0.1:") == true)
        let pid = try #require(started["pid"])
        try sieste.waitFor("exited service=ftp pid=\(pid)") {
            $0.event == "exited" && $0["service"] == "ftp" && $0["pid"] == pid
        }
        #expect(sieste.lines("exec-failed").isEmpty)

        #expect(try sieste.stop() == 0)
    }
}
