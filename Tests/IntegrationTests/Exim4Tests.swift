import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// examples/exim4: `exim4 -bs` per connection with the example's own configuration.
@Suite("exim4 per connection", .timeLimit(.minutes(2)))
struct Exim4Tests {
    private static let sendScript = #"""
    import smtplib, sys
    port, subject = int(sys.argv[1]), sys.argv[2]
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=15)
    code, _ = smtp.ehlo()
    print("ehlo", code)
    refused = smtp.sendmail("tester@localhost", ["sieste@localhost"],
                            "Subject: %s\r\n\r\nsent through sieste\r\n" % subject)
    print("refused", len(refused))
    code, _ = smtp.docmd("NOOP")
    print("noop", code)
    try:
        smtp.sendmail("tester@localhost", ["someone@example.org"], "Subject: relay\r\n\r\nx\r\n")
        print("relay accepted")
    except smtplib.SMTPRecipientsRefused as error:
        print("relay", error.recipients["someone@example.org"][0])
    code, _ = smtp.quit()
    print("quit", code)
    """#

    @Test("message is accepted and delivered")
    func deliversMessage() throws {
        try Locations.requireProgram("/usr/sbin/exim4")
        let example = try ExampleCopy("exim4")
        let port = try Ports.free()
        try example.movePort(2525, to: port)

        // Keep exim's spool, log and mailbox inside the test's folder. The
        // transport writes as Debian-exim, so the mailbox folder is theirs.
        let spool = example.root.appendingPathComponent("spool")
        let log = example.root.appendingPathComponent("log")
        let mail = example.root.appendingPathComponent("mail")
        for folder in [spool, log, mail] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        guard let eximUser = getpwnam("Debian-exim") else {
            throw HarnessError("user Debian-exim not found; is exim4-daemon-light installed?")
        }
        #expect(chown(mail.path, eximUser.pointee.pw_uid, eximUser.pointee.pw_gid) == 0)
        try example.replace([
            ("/var/spool/exim4/sieste-example", spool.path),
            ("/var/log/exim4/sieste-example-", log.path + "/"),
            ("/tmp/sieste-exim4-example/mail", mail.path),
        ])

        let sieste = try Sieste.serve(configs: [example.config], in: example.root)
        let subject = "sieste-\(UUID().uuidString)"
        let result = try runPython(Self.sendScript, [String(port), subject])
        let context = "\(result.summary)\n--- sieste ---\n\(sieste.stderrText)"
        #expect(result.status == 0, "smtplib failed: \(context)")
        let replies = result.output.split(separator: "\n").map(String.init)
        #expect(replies.contains("ehlo 250"), "\(context)")
        #expect(replies.contains("refused 0"), "\(context)")
        #expect(replies.contains("noop 250"), "\(context)")
        #expect(replies.contains("relay 550"), "\(context)")
        #expect(replies.contains("quit 221"), "\(context)")

        // exim delivers in a process of its own after the 250 reply.
        let mailbox = mail.appendingPathComponent("sieste")
        let delivered = try poll("the message in \(mailbox.path)") { () -> String? in
            guard let text = try? String(contentsOf: mailbox, encoding: .utf8), text.contains(subject) else {
                return nil
            }
            return text
        }
        #expect(delivered.contains("sent through sieste"))
        #expect(delivered.contains("Envelope-to: sieste@localhost"))

        let started = sieste.lines("started", service: "smtp")
        #expect(started.count == 1)
        #expect(started.first?["peer"]?.hasPrefix("127.0.0.1:") == true)
        #expect(try sieste.stop() == 0)
    }
}
