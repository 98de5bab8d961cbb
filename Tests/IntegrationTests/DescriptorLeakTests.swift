import Foundation
import Testing

/// Every path a client can take through sieste gives back its descriptors:
/// spawned, relayed, answered by a builtin, refused, or failed to exec.
@Suite("descriptor leaks", .timeLimit(.minutes(2)))
struct DescriptorLeakTests {
    @Test("descriptors return to baseline")
    func descriptorsReturnToBaseline() throws {
        let scratch = try ScratchFolder("fd-leak")
        let catPort = try Ports.free()
        let relayPort = try Ports.free()
        let echoPort = try Ports.free()
        let refusedPort = try Ports.free()
        let missingPort = try Ports.free()
        let config = try scratch.write("sieste.conf", catService("cat", port: catPort) + """
            service relay
            {
                type        = UNLISTED
                socket_type = stream
                wait        = no
                redirect    = 127.0.0.1 \(catPort)
                listen      = 127.0.0.1:\(relayPort)
            }

            service echo
            {
                type        = INTERNAL UNLISTED
                socket_type = stream
                wait        = no
                listen      = 127.0.0.1:\(echoPort)
            }

            service refused
            {
                type        = UNLISTED
                socket_type = stream
                wait        = no
                server      = /bin/cat
                only_from   = 192.0.2.1
                listen      = 127.0.0.1:\(refusedPort)
            }

            service missing
            {
                type        = UNLISTED
                socket_type = stream
                wait        = no
                server      = /nonexistent/sieste-test-server
                listen      = 127.0.0.1:\(missingPort)
            }

            """)
        let sieste = try Sieste.serve(configs: [config], in: scratch.url, extraArguments: ["--socket", "none"])
        let baseline = try openDescriptors(pid: sieste.pid)

        let rounds = 10
        for round in 1...rounds {
            #expect(try tcpExchange(port: catPort, send: "cat \(round)\n").text == "cat \(round)\n")
            #expect(try tcpExchange(port: relayPort, send: "relay \(round)\n").text == "relay \(round)\n")
            #expect(try tcpExchange(port: echoPort, send: "echo \(round)\n").text == "echo \(round)\n")
            #expect(try tcpExchange(port: refusedPort, send: "no\n").text == "")
            #expect(try tcpExchange(port: missingPort, send: "no\n").text == "")
        }

        // Children exit and relays close asynchronously; wait for both.
        _ = try poll("every cat child exited") {
            sieste.lines("exited", service: "cat").count >= 2 * rounds ? true : nil
        }
        let settled = try poll("descriptors back to \(baseline.count)") { () -> [String]? in
            let now = try openDescriptors(pid: sieste.pid)
            return now.count == baseline.count ? now : nil
        }
        #expect(settled.sorted() == baseline.sorted(), "before: \(baseline)\nafter: \(settled)")
        #expect(sieste.lines("refused", service: "refused").count >= 1)
        #expect(sieste.lines("exec-failed", service: "missing").count >= 1)
        #expect(try sieste.stop() == 0)
    }
}

/// The targets of a process's open descriptors (socket:[inode], pipe:[...],
/// paths), one entry per descriptor.
private func openDescriptors(pid: Int32) throws -> [String] {
    let folder = "/proc/\(pid)/fd"
    let manager = FileManager.default
    return try manager.contentsOfDirectory(atPath: folder).map { entry in
        (try? manager.destinationOfSymbolicLink(atPath: folder + "/" + entry)).map { entry + " -> " + $0 } ?? entry
    }
}
