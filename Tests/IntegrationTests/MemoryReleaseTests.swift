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
        let afterServing = try privateCleanKiB(pid: sieste.pid)

        let mark = sieste.mark
        _ = try sieste.waitFor("memory-released", after: mark, timeout: .seconds(30)) { $0.event == "memory-released" }
        let afterRelease = try privateCleanKiB(pid: sieste.pid)
        #expect(afterRelease < afterServing, "Private_Clean \(afterServing) KiB after serving, \(afterRelease) KiB after the release")

        // Serving again maps the code back and works as before.
        #expect(try tcpExchange(port: port, send: "again\n").text == "again\n")
        #expect(try sieste.stop() == 0)
    }
}

/// Private_Clean of a process from /proc/PID/smaps_rollup, in KiB: the
/// pages of its own binary it has mapped, among others.
private func privateCleanKiB(pid: Int32) throws -> Int {
    let text = try String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8)
    for line in text.split(separator: "\n") where line.hasPrefix("Private_Clean:") {
        let fields = line.split(separator: " ")
        if fields.count >= 2, let value = Int(fields[1]) { return value }
    }
    throw HarnessError("no Private_Clean line in /proc/\(pid)/smaps_rollup:\n\(text)")
}
