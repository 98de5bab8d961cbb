import Testing
@testable import SiesteCore

@Suite("SocketAddress")
struct SocketAddressTests {
    @Test("text of each family", arguments: [
        (SocketAddress.ipv4(0x7f00_0001, port: 8080), "127.0.0.1:8080"),
        (SocketAddress.ipv6(high: 0, low: 1, port: 53), "[::1]:53"),
        (SocketAddress.ipv6(high: 0x2001_0db8_0000_0000, low: 0x0000_0000_0000_0001, port: 80), "[2001:db8::1]:80"),
        (SocketAddress.ipv6(high: 0, low: 0, port: 21), "[::]:21"),
        (SocketAddress.unix("/run/x.sock"), "/run/x.sock"),
        (SocketAddress.abstract("name"), "@name"),
    ])
    func text(address: SocketAddress, expected: String) {
        #expect(address.text == expected)
    }

    @Test("mapped IPv4 becomes IPv4")
    func unmapped() {
        let mapped = SocketAddress.ipv6(high: 0, low: 0x0000_ffff_c000_0207, port: 4000)
        #expect(mapped.unmapped == .ipv4(0xc000_0207, port: 4000))
        #expect(mapped.unmapped.text == "192.0.2.7:4000")
        #expect(mapped.hostText == "::ffff:192.0.2.7")
    }

    @Test("round trip through the C form", arguments: [
        SocketAddress.ipv4(0x0a00_0001, port: 1),
        SocketAddress.ipv6(high: 0xfe80_0000_0000_0000, low: 0x1234, port: 65535),
        SocketAddress.unix("/tmp/sieste-test.sock"),
        SocketAddress.abstract("sieste-test"),
    ])
    func roundTrip(address: SocketAddress) {
        let copy = address.withCAddress { SocketAddress($0.pointee) }
        #expect(copy == address)
    }

    @Test("zero runs compress once")
    func ipv6Compression() {
        #expect(formatIPv6(high: 0x0001_0000_0000_0001, low: 0x0000_0000_0000_0001) == "1:0:0:1::1")
        #expect(formatIPv6(high: 0x0001_0002_0003_0004, low: 0x0005_0006_0007_0008) == "1:2:3:4:5:6:7:8")
    }
}

@Suite("NetworkPrefix")
struct NetworkPrefixTests {
    @Test("IPv4 prefix matches mapped peers")
    func ipv4() {
        let prefix = NetworkPrefix(address: .ipv4(0xc000_0200, port: 0), length: 24)
        #expect(prefix.contains(.ipv4(0xc000_02ff, port: 1)))
        #expect(!prefix.contains(.ipv4(0xc000_0300, port: 1)))
        #expect(prefix.contains(.ipv6(high: 0, low: 0x0000_ffff_c000_0207, port: 1)))
    }

    @Test("IPv6 prefix past 64 bits")
    func ipv6() {
        let prefix = NetworkPrefix(address: .ipv6(high: 0x2001_0db8_0000_0000, low: 0xabcd_0000_0000_0000, port: 0), length: 80)
        #expect(prefix.contains(.ipv6(high: 0x2001_0db8_0000_0000, low: 0xabcd_ffff_0000_0001, port: 0)))
        #expect(!prefix.contains(.ipv6(high: 0x2001_0db8_0000_0000, low: 0xabce_0000_0000_0000, port: 0)))
        #expect(!prefix.contains(.ipv4(0x7f00_0001, port: 0)))
    }

    @Test("zero length matches all of a family")
    func everything() {
        let prefix = NetworkPrefix(address: .ipv4(0, port: 0), length: 0)
        #expect(prefix.contains(.ipv4(0x0102_0304, port: 0)))
    }
}

@Suite("RestartGuard")
struct RestartGuardTests {
    @Test("two quick failures are tolerated")
    func tolerated() {
        var guardian = RestartGuard()
        #expect(guardian.record(failed: true, ranFor: 10) == nil)
        #expect(guardian.record(failed: true, ranFor: 10) == nil)
        #expect(guardian.record(failed: true, ranFor: 10) == 1_000)
    }

    @Test("delay doubles up to the maximum")
    func doubling() {
        var guardian = RestartGuard()
        var delays: [Milliseconds] = []
        for _ in 0..<12 {
            if let delay = guardian.record(failed: true, ranFor: 0) { delays.append(delay) }
        }
        #expect(Array(delays.prefix(4)) == [1_000, 2_000, 4_000, 8_000])
        #expect(delays.last == RestartGuard.maximumDelay)
    }

    @Test("a long run or a success resets the count")
    func reset() {
        var guardian = RestartGuard()
        _ = guardian.record(failed: true, ranFor: 0)
        _ = guardian.record(failed: true, ranFor: 0)
        #expect(guardian.record(failed: true, ranFor: RestartGuard.window + 1) == nil)
        #expect(guardian.quickFailures == 0)
        _ = guardian.record(failed: true, ranFor: 0)
        #expect(guardian.record(failed: false, ranFor: 0) == nil)
        #expect(guardian.quickFailures == 0)
    }
}

@Suite("RateLimiter")
struct RateLimiterTests {
    @Test("burst then suppression count")
    func burst() {
        var limiter = RateLimiter(burst: 2, period: 1_000)
        #expect(limiter.admit(now: 0) == 0)
        #expect(limiter.admit(now: 10) == 0)
        #expect(limiter.admit(now: 20) == nil)
        #expect(limiter.admit(now: 30) == nil)
        #expect(limiter.admit(now: 1_000) == 2)
    }
}

@Suite("Logger")
struct LoggerTests {
    @Test("values are quoted when needed", arguments: [
        ("plain", "plain"),
        ("two words", "\"two words\""),
        ("", "\"\""),
        ("a=b", "\"a=b\""),
        ("say \"hi\"", "\"say \\\"hi\\\"\""),
        ("line\nbreak", "\"line\\nbreak\""),
        ("bell\u{7}", "\"bell\\x07\""),
    ])
    func quoting(value: String, expected: String) {
        #expect(Logger.quoted(value) == expected)
    }

    @Test("one line per event with fixed keys")
    func line() {
        var lines: [String] = []
        let logger = Logger(minimumLevel: .info) { lines.append($0) }
        logger.info("started", [("service", "ftp"), ("pid", "12")])
        logger.debug("hidden", [("service", "ftp")])
        #expect(lines == ["info started service=ftp pid=12\n"])
    }
}

@Suite("Builtin replies")
struct BuiltinReplyTests {
    @Test("chargen lines rotate")
    func chargen() {
        let bytes = BuiltinReplies.chargenLines(startingAt: 0, count: 2)
        #expect(bytes.count == 148)
        #expect(bytes[0] == 32)
        #expect(bytes[74] == 33)
        #expect(bytes[72] == 0x0d)
        #expect(bytes[73] == 0x0a)
    }

    @Test("time is four bytes")
    func time() {
        #expect(BuiltinReplies.reply(for: .time).count == 4)
    }
}
