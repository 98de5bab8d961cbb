import CSieste
import Testing

@testable import SiesteCore

@Suite("parseDuration")
struct DurationTests {
    @Test(
        "accepted forms",
        arguments: [
            ("90", 90_000), ("0", 0), ("30s", 30_000), ("5m", 300_000), ("1h", 3_600_000),
            ("250ms", 250), ("2d", 172_800_000), ("007", 7_000),
        ] as [(String, Int64)])
    func acceptedForms(text: String, milliseconds: Int64) {
        #expect(parseDuration(text) == milliseconds)
    }

    @Test(
        "rejected forms",
        arguments: [
            "", "-5", "+5", "1.5s", "s", "5 s", " 5", "5x", "5sec", "ms", "1e3", "five",
            "99999999999999999999", "9223372036854775807m", "5S",
        ])
    func rejectedForms(text: String) {
        #expect(parseDuration(text) == nil)
    }

    @Test("largest value without overflow")
    func largestValue() {
        #expect(parseDuration("9223372036854775807ms") == Int64.max)
        #expect(parseDuration("9223372036854775808ms") == nil)
    }
}

@Suite("parseSignal")
struct SignalTests {
    @Test(
        "names and numbers",
        arguments: [
            ("TERM", SIGTERM), ("SIGTERM", SIGTERM), ("term", SIGTERM), ("sigterm", SIGTERM),
            ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("KILL", SIGKILL),
            ("USR1", SIGUSR1), ("SIGUSR2", SIGUSR2), ("WINCH", SIGWINCH), ("15", SIGTERM), ("1", 1), ("64", 64),
        ] as [(String, Int32)])
    func namesAndNumbers(text: String, number: Int32) {
        #expect(parseSignal(text) == number)
    }

    @Test("rejected signals", arguments: ["", "0", "65", "-15", "SIG", "TERMINATE", "SIGSIGTERM", "15s", " TERM"])
    func rejectedSignals(text: String) {
        #expect(parseSignal(text) == nil)
    }
}
