import Foundation
import Testing

/// A daemon whose services went back to sleep gives back the memory that
/// serving them used.
@Suite("memory release when quiet", .timeLimit(.minutes(2)))
struct MemoryReleaseTests {
    @Test("quiet daemon unmaps serving code")
    func releasesAfterQuietPeriod() throws {
        let scratch = try ScratchFolder("quiet")
        let port = try Ports.free()
        let config = try scratch.write("sieste.conf", catService("echo", port: port))
        let sieste = try Sieste.serve(configs: [config], in: scratch.url, extraArguments: ["--verbose", "--socket", "none"])

        for round in 1...5 {
            #expect(try tcpExchange(port: port, send: "round \(round)\n").text == "round \(round)\n")
        }
        _ = try poll("five exited lines") { sieste.lines("exited", service: "echo").count >= 5 ? true : nil }
        let afterServing = try codeResidentKiB(pid: sieste.pid)

        let mark = sieste.mark
        _ = try sieste.waitFor("memory-released", after: mark, timeout: .seconds(30)) { $0.event == "memory-released" }
        let afterRelease = try codeResidentKiB(pid: sieste.pid)
        #expect(afterRelease < afterServing, "code Rss \(afterServing) KiB after serving, \(afterRelease) KiB after the release")

        // Serving again maps the code back and works as before.
        #expect(try tcpExchange(port: port, send: "again\n").text == "again\n")
        #expect(try sieste.stop() == 0)
    }
}

/// Rss of the executable mapping of a process's own binary, in KiB, from
/// /proc/PID/smaps. Rss counts every page the process has mapped, whether
/// or not other processes running the same binary map it too (which moves
/// pages from Private_Clean to Shared_Clean while tests run in parallel).
private func codeResidentKiB(pid: Int32) throws -> Int {
    let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
    let text = try String(contentsOfFile: "/proc/\(pid)/smaps", encoding: .utf8)
    var inCode = false
    for line in text.split(separator: "\n") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if let first = fields.first, first.contains("-"), fields.count >= 2, first.first?.isHexDigit == true {
            inCode = fields[1] == "r-xp" && line.hasSuffix(binary)
            continue
        }
        if inCode, fields.first == "Rss:", fields.count >= 2, let value = Int(fields[1]) {
            return value
        }
    }
    throw HarnessError("no executable mapping of \(binary) in /proc/\(pid)/smaps")
}
