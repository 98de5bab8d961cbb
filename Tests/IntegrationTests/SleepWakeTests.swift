import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Sleep and wake of `wait = yes` services and of a lazy proxy's backend:
/// idle stops that wait for open connections, no client lost across stops,
/// and restart protection. The tests run one at a time because several of
/// them bound durations and CPU time, which parallel transfers would blur.
@Suite("sleep and wake", .serialized, .timeLimit(.minutes(2)))
struct SleepWakeTests {
    @Test("slow download outlives idle timeout", .timeLimit(.minutes(1)))
    func slowDownload() throws {
        try Locations.requireProgram("/usr/sbin/lighttpd")
        let scratch = try ScratchFolder("slow-download")
        let port = try Ports.free()
        let documentRoot = scratch.url.appendingPathComponent("htdocs")
        try FileManager.default.createDirectory(at: documentRoot, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: documentRoot.path)

        // 8 MiB at 2 MiB/s last 4 s, four idle timeouts of 1 s. The client
        // paces its reads and keeps a small receive buffer, so lighttpd
        // still has data to send for most of the transfer and a stop during
        // it would cut the body. curl 7.88's --limit-rate was not used
        // because it let the file through at twice the rate in some runs.
        let size = 8 << 20
        let rate = 2 << 20
        var generator = SeededGenerator(seed: 0x5E5)
        let words = (0..<(size / 8)).map { _ in generator.next() }
        let content = words.withUnsafeBytes { Data($0) }
        let file = documentRoot.appendingPathComponent("large.bin")
        try content.write(to: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        let client = try scratch.write("slow-client.py", slowDownloadClientScript)

        let lighttpdConfig = try writeLighttpdConfig(in: scratch, port: port, documentRoot: documentRoot)
        let config = try scratch.write("sieste.conf", lighttpdHandoffService(
            "http-slow", port: port, lighttpdConfig: lighttpdConfig, idleTimeout: "1s"))
        let sieste = try Sieste.serve(configs: [config], in: scratch.url)

        let output = scratch.url.appendingPathComponent("downloaded.bin")
        let clock = ContinuousClock()
        let began = clock.now
        let download = try decodeClientReport(runCommand("/usr/bin/python3", [
            client.path, String(port), "/large.bin", String(rate), output.path,
        ], timeout: .seconds(30)))
        let ended = clock.now
        let stopsDuringDownload = sieste.lines("idle-stop", service: "http-slow")
        let markAtEnd = sieste.mark

        let context = "\(download)\n--- sieste ---\n\(sieste.stderrText)"
        #expect(download["end"] as? String == "complete", "\(context)")
        #expect(download["status"] as? Int == 200, "\(context)")
        // Without this the test would prove nothing: the transfer must span
        // several idle timeouts.
        #expect(ended - began >= .seconds(3), "the download took only \(ended - began)")
        let received = try Data(contentsOf: output)
        #expect(received.count == content.count, "received \(received.count) of \(content.count) bytes")
        // Compared outside #expect, which would diff two 8 MiB collections
        // element by element on failure.
        let identical = received == content
        #expect(identical, "the downloaded bytes differ from the file")

        #expect(stopsDuringDownload.isEmpty, "lighttpd was stopped during the download: \(sieste.stderrText)")
        let started = try #require(sieste.lines("started", service: "http-slow").first, "\(sieste.stderrText)")
        let pid = try #require(started["pid"])
        #expect(sieste.lines("started", service: "http-slow").count == 1, "\(sieste.stderrText)")
        #expect(ProcTable.exists(Int32(pid) ?? 0), "lighttpd (pid \(pid)) should still run when the download ends")

        let idleStop = try sieste.waitFor("idle-stop service=http-slow after the download", after: markAtEnd, timeout: .seconds(10)) {
            $0.event == "idle-stop" && $0["service"] == "http-slow"
        }
        let stoppedAfter = clock.now - ended
        #expect(idleStop["pid"] == pid)
        // The stop comes idle_timeout after the last poll that saw the
        // connection, and polls are 250 ms apart, so at least 0.75 s after
        // the end. The bound of 0.5 s leaves room for the log reader.
        #expect(stoppedAfter >= .milliseconds(500), "idle-stop only \(stoppedAfter) after the download ended")
        try sieste.waitFor("exited service=http-slow pid=\(pid)") {
            $0.event == "exited" && $0["service"] == "http-slow" && $0["pid"] == pid
        }
        #expect(try sieste.stop() == 0)
    }

    @Test("clients across 20 idle stops all answered", .timeLimit(.minutes(1)))
    func noLostConnections() throws {
        try Locations.requireProgram("/usr/sbin/lighttpd")
        let scratch = try ScratchFolder("stop-cycles")
        let port = try Ports.free()
        let documentRoot = scratch.url.appendingPathComponent("htdocs")
        try FileManager.default.createDirectory(at: documentRoot, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: documentRoot.path)
        let page = "<p>awake</p>\n"
        try scratch.write("htdocs/page.html", page)

        // On SIGINT lighttpd shuts down gracefully: it serves the connections
        // it has accepted, then exits (doc/initscripts.txt in lighttpd 1.4).
        // So a stop cannot cut a client that lighttpd took just before it.
        let lighttpdConfig = try writeLighttpdConfig(in: scratch, port: port, documentRoot: documentRoot)
        let config = try scratch.write("sieste.conf", lighttpdHandoffService(
            "http-cycle", port: port, lighttpdConfig: lighttpdConfig, idleTimeout: "300ms", stopSignal: "INT"))
        let sieste = try Sieste.serve(configs: [config], in: scratch.url)

        // Requests alternate between three kinds of spacing. The first kind
        // is sent right after an idle-stop line, while lighttpd stops or has
        // just exited. The second comes sooner than the idle timeout, while
        // lighttpd still runs. The third comes around the time a stop is due
        // (300 ms idle plus polls 250 ms apart). The pauses only shape the
        // load, and no check depends on them.
        let targetStops = 22
        let maximumRequests = 150
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(45)
        var generator = SeededGenerator(seed: 20)
        var failures: [String] = []
        var requests = 0
        var requestsAfterStopLine = 0
        var requestsWhileStopping = 0
        var mark = sieste.mark

        // A broken daemon fails every request after its 5 s timeout. Five
        // failures are enough to tell, and stopping there keeps the run short.
        while requests < maximumRequests, clock.now < deadline, failures.count < 5,
              sieste.lines("idle-stop", service: "http-cycle").count < targetStops {
            switch requests % 3 {
            case 0:
                // sieste logs idle-stop just before it sends the signal, so
                // a request sent at once can reach lighttpd while it stops.
                if let seen = sieste.waitClosely(after: mark, timeout: .seconds(5), where: {
                    $0.event == "idle-stop" && $0["service"] == "http-cycle"
                }) {
                    requestsAfterStopLine += 1
                    if let pid = seen["pid"].flatMap({ Int32($0) }), ProcTable.exists(pid) {
                        requestsWhileStopping += 1
                    }
                }
            case 1:
                Thread.sleep(forTimeInterval: Double.random(in: 0.02...0.25, using: &generator))
            default:
                Thread.sleep(forTimeInterval: Double.random(in: 0.35...0.9, using: &generator))
            }
            mark = sieste.mark
            let attempt = httpGetRaw(port: port, path: "/page.html", timeoutSeconds: 5)
            requests += 1
            if attempt != .answered(status: 200, body: page) {
                failures.append("request \(requests): \(attempt)")
            }
        }

        let stops = sieste.lines("idle-stop", service: "http-cycle")
        let context = "after \(requests) requests, \(requestsWhileStopping) of them sent while lighttpd stopped: "
            + "\(failures)\n--- sieste ---\n\(sieste.stderrText)"
        #expect(failures.isEmpty, "\(context)")
        #expect(stops.count >= 20, "only \(stops.count) idle stops: \(context)")
        #expect(requestsAfterStopLine >= 5, "only \(requestsAfterStopLine) requests sent right after an idle-stop")

        let exits = try poll("an exited line for each idle-stop", timeout: .seconds(10)) { () -> [LogLine]? in
            let exits = sieste.lines("exited", service: "http-cycle")
            return exits.count >= stops.count ? exits : nil
        }
        let failedExits = exits.filter { $0.level != "info" }
        #expect(failedExits.isEmpty, "lighttpd exited without being asked: \(failedExits)")
        #expect(sieste.lines("held-back").isEmpty, "\(context)")
        #expect(try sieste.stop() == 0)
    }

    @Test("failing server held back at low CPU", .timeLimit(.minutes(1)))
    func heldBackQuietly() throws {
        let scratch = try ScratchFolder("held-back")
        let port = try Ports.free()
        // server_args is split on whitespace without quoting, so the command
        // goes into a script file rather than `sh -c "exit 1"`.
        let script = try scratch.write("fail.sh", "exit 1\n")
        let config = try scratch.write("sieste.conf", """
            service failing
            {
                socket_type = stream
                wait        = yes
                user        = root
                server      = /bin/sh
                server_args = \(script.path)
                listen      = 127.0.0.1:\(port)
            }

            """)
        let sieste = try Sieste.serve(configs: [config], in: scratch.url)
        let clock = ContinuousClock()
        let ticksBefore = try cpuTicks(of: sieste.pid)
        let began = clock.now

        // The first client wakes the service: two quick failures are retried
        // at once, the third holds it back for 1 s, and the client waiting
        // in the backlog is closed rather than left hanging.
        let first = awaitClose(port: port, payload: "wake\n", timeoutSeconds: 5)
        #expect(first == .eof || first == .reset, "first client: \(first)\n\(sieste.stderrText)")
        let firstHold = try sieste.waitFor("held-back service=failing", timeout: .seconds(10)) {
            $0.event == "held-back" && $0["service"] == "failing"
        }
        #expect(firstHold.level == "warning")
        #expect(firstHold["delay_ms"] == "1000", "\(firstHold)")
        var mark = sieste.mark
        try sieste.waitFor("released service=failing", after: mark, timeout: .seconds(5)) {
            $0.event == "released" && $0["service"] == "failing"
        }
        let startsBeforeSecond = sieste.lines("started", service: "failing").count

        // Once released, the service may start again, and one more quick
        // failure doubles the delay.
        mark = sieste.mark
        let second = awaitClose(port: port, payload: "wake\n", timeoutSeconds: 5)
        #expect(second == .eof || second == .reset, "second client: \(second)\n\(sieste.stderrText)")
        let secondHold = try sieste.waitFor("a second held-back service=failing", after: mark, timeout: .seconds(10)) {
            $0.event == "held-back" && $0["service"] == "failing"
        }
        #expect(secondHold["delay_ms"] == "2000", "\(secondHold)")

        // A client during the 2 s hold is closed at once, well before the release.
        mark = sieste.mark
        let connectedDuringHold = clock.now
        let third = awaitClose(port: port, payload: "wake\n", timeoutSeconds: 5)
        let closedAfter = clock.now - connectedDuringHold
        #expect(third == .eof || third == .reset, "client during the hold: \(third)\n\(sieste.stderrText)")
        #expect(closedAfter < .seconds(1), "a client during the hold waited \(closedAfter)")
        try sieste.waitFor("refused service=failing during the hold", after: mark, timeout: .seconds(5)) {
            $0.event == "refused" && $0["service"] == "failing"
        }

        try sieste.waitFor("the second released service=failing", after: mark, timeout: .seconds(5)) {
            $0.event == "released" && $0["service"] == "failing"
        }
        let wall = clock.now - began
        let ticksUsed = try cpuTicks(of: sieste.pid) - ticksBefore

        let starts = sieste.lines("started", service: "failing")
        #expect(startsBeforeSecond == 3, "expected three starts before the first hold: \(sieste.stderrText)")
        #expect(starts.count == 4, "one start after the first release, none during a hold: \(sieste.stderrText)")
        let exits = sieste.lines("exited", service: "failing")
        #expect(exits.count == starts.count, "\(sieste.stderrText)")
        #expect(exits.allSatisfy { $0["status"] == "1" }, "\(exits)")
        #expect(exits.allSatisfy { $0.level == "warning" }, "an exit sieste did not request is a warning: \(exits)")

        // This bounds sieste's work, not the machine's speed. A restart loop
        // or a busy wait while held back would spend most of the 3 s of wall
        // time on the CPU, and a quiet sieste uses almost none.
        let cpuSeconds = Double(ticksUsed) / Double(clockTicksPerSecond)
        #expect(wall >= .seconds(3), "the holds should last 1 s + 2 s, but the test took \(wall)")
        #expect(cpuSeconds < 0.3, "sieste used \(cpuSeconds) s of CPU in \(wall) while held back")
        #expect(try sieste.stop() == 0)
    }

    @Test("client in backlog during stop is served", .timeLimit(.minutes(1)))
    func backlogDuringStop() throws {
        let scratch = try ScratchFolder("backlog-stop")
        let port = try Ports.free()
        let script = try scratch.write("slow-stop.py", slowStopServerScript)
        // The server keeps its listening socket 1.5 s after SIGTERM, which
        // is the window in which the second client arrives.
        let shutdownSeconds = 1.5
        let config = try scratch.write("sieste.conf", """
            service slow-stop
            {
                socket_type  = stream
                wait         = yes
                user         = root
                server       = /usr/bin/python3
                server_args  = \(script.path) \(shutdownSeconds)
                handoff      = listen_fds
                idle_timeout = 500ms
                listen       = 127.0.0.1:\(port)
            }

            """)
        let sieste = try Sieste.serve(configs: [config], in: scratch.url)

        let first = try tcpExchange(port: port, timeout: .seconds(10))
        try #require(first.end == .eof, "first client: \(first.end)\n\(sieste.stderrText)")
        let firstPid = first.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let started = try sieste.waitFor("started service=slow-stop") { $0.event == "started" && $0["service"] == "slow-stop" }
        #expect(started["pid"] == firstPid)

        try sieste.waitFor("idle-stop service=slow-stop pid=\(firstPid)", timeout: .seconds(10)) {
            $0.event == "idle-stop" && $0["service"] == "slow-stop" && $0["pid"] == firstPid
        }
        let mark = sieste.mark
        try #require(ProcTable.exists(Int32(firstPid) ?? 0), "the first server must still be stopping when the second client connects")
        let clock = ContinuousClock()
        let connected = clock.now
        let second = try tcpExchange(port: port, timeout: .seconds(10))
        let waited = clock.now - connected

        try #require(second.end == .eof, "second client: \(second.end)\n\(sieste.stderrText)")
        let secondPid = second.text.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secondPid != firstPid, "the stopping server must not accept after SIGTERM")
        let exitIndex = try #require(sieste.index(after: mark) {
            $0.event == "exited" && $0["service"] == "slow-stop" && $0["pid"] == firstPid
        }, "\(sieste.stderrText)")
        let restartIndex = try #require(sieste.index(after: mark) {
            $0.event == "started" && $0["service"] == "slow-stop" && $0["pid"] == secondPid
        }, "\(sieste.stderrText)")
        #expect(exitIndex < restartIndex, "\(sieste.stderrText)")
        // The client waits for the rest of the slow shutdown and one start of
        // python3; the restart must not wait for another client or a timer.
        #expect(waited < .seconds(shutdownSeconds + 1.5), "the second client waited \(waited)")
        #expect(try sieste.stop() == 0)
    }
}
