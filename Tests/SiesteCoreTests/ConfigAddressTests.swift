import Testing

@testable import SiesteCore

@Suite("IP literals")
struct ConfigIPLiteralTests {
    @Test(
        "IPv4 literals",
        arguments: [("127.0.0.1", 0x7f00_0001), ("0.0.0.0", 0), ("255.255.255.255", 0xffff_ffff), ("192.0.2.7", 0xc000_0207)]
            as [(String, UInt32)])
    func ipv4Literals(text: String, value: UInt32) {
        #expect(parseIPv4(text) == value)
    }

    @Test("invalid IPv4 literals", arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", "1.2.3.4 ", "1234.1.1.1"])
    func invalidIPv4(text: String) {
        #expect(parseIPv4(text) == nil)
    }

    @Test(
        "IPv6 literals",
        arguments: [
            ("::", 0, 0), ("::1", 0, 1), ("2001:db8::1", 0x2001_0db8_0000_0000, 1),
            ("fe80::1:2", 0xfe80_0000_0000_0000, 0x0000_0000_0001_0002),
            ("::ffff:192.0.2.7", 0, 0x0000_ffff_c000_0207), ("1:2:3:4:5:6:7:8", 0x0001_0002_0003_0004, 0x0005_0006_0007_0008),
            ("1::", 0x0001_0000_0000_0000, 0), ("ABCD::", 0xabcd_0000_0000_0000, 0),
        ] as [(String, UInt64, UInt64)])
    func ipv6Literals(text: String, high: UInt64, low: UInt64) {
        let parsed = parseIPv6(text)
        #expect(parsed?.high == high)
        #expect(parsed?.low == low)
    }

    @Test(
        "invalid IPv6 literals",
        arguments: [":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "::g", "1:2:3:4:5:6:7", "fe80::1%eth0", "1:", ":1", "::1.2.3"])
    func invalidIPv6(text: String) {
        #expect(parseIPv6(text) == nil)
    }
}

@Suite("NetworkPrefix")
struct ConfigNetworkPrefixTests {
    @Test("IPv4-mapped peer matches an IPv4 prefix")
    func mappedPeerMatchesIPv4Prefix() {
        let prefix = NetworkPrefix(address: ipv4("192.0.2.0"), length: 24)
        #expect(prefix.contains(ipv6("::ffff:192.0.2.7", port: 4000)))
        #expect(!prefix.contains(ipv6("::ffff:198.51.100.7", port: 4000)))
        #expect(prefix.contains(ipv4("192.0.2.200", port: 1)))
    }

    @Test("IPv6 prefix does not match an IPv4 peer")
    func ipv6PrefixRejectsIPv4Peer() {
        let prefix = NetworkPrefix(address: ipv6("2001:db8::"), length: 32)
        #expect(prefix.contains(ipv6("2001:db8:ffff::1")))
        #expect(!prefix.contains(ipv6("2001:db9::1")))
        #expect(!prefix.contains(ipv4("192.0.2.1")))
    }

    @Test("only_from of a mapped prefix becomes IPv4")
    func mappedPrefixInConfigurationBecomesIPv4() {
        let service = loadService(streamService("only_from = ::ffff:192.0.2.0/120 ::ffff:198.51.100.9"))
        #expect(service?.onlyFrom == [
            NetworkPrefix(address: ipv4("192.0.2.0"), length: 24),
            NetworkPrefix(address: ipv4("198.51.100.9"), length: 32),
        ])
        #expect(service?.onlyFrom.first?.contains(ipv6("::ffff:192.0.2.9")) == true)
    }

    @Test(
        "only_from forms",
        arguments: [
            ("127.0.0.1", [NetworkPrefix(address: ipv4("127.0.0.1"), length: 32)]),
            ("10.1.0.0", [NetworkPrefix(address: ipv4("10.1.0.0"), length: 16)]),
            ("128.138.12.0", [NetworkPrefix(address: ipv4("128.138.12.0"), length: 24)]),
            ("192.0.2.0/25", [NetworkPrefix(address: ipv4("192.0.2.0"), length: 25)]),
            ("0.0.0.0/0", [NetworkPrefix(address: ipv4("0.0.0.0"), length: 0)]),
            ("2001:db8::/32", [NetworkPrefix(address: ipv6("2001:db8::"), length: 32)]),
            ("[2001:db8::]/48", [NetworkPrefix(address: ipv6("2001:db8::"), length: 48)]),
            ("::1", [NetworkPrefix(address: ipv6("::1"), length: 128)]),
            ("::/0", [NetworkPrefix(address: ipv6("::"), length: 0)]),
            (
                "0.0.0.0",
                [NetworkPrefix(address: ipv4("0.0.0.0"), length: 0), NetworkPrefix(address: ipv6("::"), length: 0)]
            ),
            (
                "192.0.{2,3}",
                [NetworkPrefix(address: ipv4("192.0.2.0"), length: 24), NetworkPrefix(address: ipv4("192.0.3.0"), length: 24)]
            ),
            (
                "10.0.0.{1,9}",
                [NetworkPrefix(address: ipv4("10.0.0.1"), length: 32), NetworkPrefix(address: ipv4("10.0.0.9"), length: 32)]
            ),
            ("localhost", [NetworkPrefix(address: ipv4("127.0.0.1"), length: 32)]),
            ("ip6-localhost", [NetworkPrefix(address: ipv6("::1"), length: 128)]),
        ] as [(String, [NetworkPrefix])])
    func onlyFromForms(text: String, prefixes: [NetworkPrefix]) {
        let service = loadService(streamService("only_from = " + text))
        #expect(service?.onlyFrom == prefixes)
        #expect(service?.rejectsAllPeers == false)
    }

    @Test("0.0.0.0 admits IPv4 and IPv6 peers")
    func zeroAddressAdmitsEveryPeer() {
        let service = loadService(streamService("only_from = 0.0.0.0"))
        let prefixes = service?.onlyFrom ?? []
        #expect(prefixes.contains { $0.contains(ipv4("203.0.113.5")) })
        #expect(prefixes.contains { $0.contains(ipv6("2001:db8::5")) })
    }

    @Test("empty only_from rejects everyone")
    func emptyOnlyFromRejectsEveryone() {
        let service = loadService(streamService("only_from ="))
        #expect(service?.rejectsAllPeers == true)
        #expect(service?.onlyFrom.isEmpty == true)
    }

    @Test(
        "invalid only_from values",
        arguments: [
            ("192.0.2.0/33", "prefix length from 0 to 32"),
            ("2001:db8::/129", "prefix length from 0 to 128"),
            (".example.com", "domain pattern \".example.com\""),
            ("no-such-host.invalid", "cannot resolve host \"no-such-host.invalid\" in only_from"),
            ("192.0.{2,x}", "factorized address"),
            ("300.1.1.1/8", "invalid value \"300.1.1.1/8\" for only_from"),
        ])
    func invalidOnlyFrom(text: String, fragment: String) {
        let errors = loadErrors(streamService("only_from = " + text))
        #expect(errors.count == 1)
        #expect(errors.first?.location.file == testFile)
        #expect(errors.first?.location.line == 7)
        #expect(errors.first?.message.contains(fragment) == true, "\(errors.first?.message ?? "")")
    }

    @Test("no_access is parsed like only_from")
    func noAccessForms() {
        let service = loadService(streamService("no_access = 192.0.2.0/24 2001:db8::1"))
        #expect(service?.noAccess == [
            NetworkPrefix(address: ipv4("192.0.2.0"), length: 24),
            NetworkPrefix(address: ipv6("2001:db8::1"), length: 128),
        ])
    }
}
