import Foundation
import Testing

@testable import SiesteCore

/// The file name that configuration text loaded in tests is reported under.
let testFile = "/etc/sieste/test.conf"

extension NameResolver {
    /// Fixed users, groups, services and hosts, so that tests do not depend
    /// on the machine's databases.
    static func fake(
        isRoot: Bool = true, environment: [String: String] = [:], currentUID: UInt32 = 1000, currentGID: UInt32 = 1000
    ) -> NameResolver {
        let users: [String: (UInt32, UInt32)] = [
            "root": (0, 0), "nobody": (65534, 65534), "www-data": (33, 33), "alice": (1000, 1000),
        ]
        let groups: [String: UInt32] = ["root": 0, "nogroup": 65534, "www-data": 33, "staff": 50, "alice": 1000]
        let services: [String: UInt16] = [
            "echo": 7, "discard": 9, "daytime": 13, "chargen": 19, "ftp": 21, "time": 37, "tftp": 69,
            "finger": 79, "http": 80,
        ]
        let hosts: [String: SocketAddress] = [
            "localhost": .ipv4(0x7f00_0001, port: 0),
            "ip6-localhost": .ipv6(high: 0, low: 1, port: 0),
            "backend.example": .ipv4(0xc000_020a, port: 0),
        ]
        return NameResolver(
            user: { name in users[name].map { (uid: $0.0, gid: $0.1) } },
            group: { groups[$0] },
            supplementaryGroups: { name, gid in name == "alice" ? [gid, 50] : [gid] },
            servicePort: { name, _ in services[name] },
            environment: { environment[$0] },
            host: { hosts[$0] },
            isRoot: isRoot,
            currentUID: isRoot ? 0 : currentUID,
            currentGID: isRoot ? 0 : currentGID
        )
    }
}

/// Loads configuration text under `testFile`, failing the test on errors.
func loadConfiguration(
    _ text: String, resolver: NameResolver = .fake(), format: ConfigFormat = .automatic,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) -> Configuration? {
    do {
        return try ConfigurationLoader(resolver: resolver).load(text: text, file: testFile, format: format)
    } catch {
        let listing = error.diagnostics.map { $0.text }.joined(separator: "\n")
        Issue.record(Comment(rawValue: "configuration did not load:\n" + listing), sourceLocation: sourceLocation)
        return nil
    }
}

/// Loads configuration text that must fail and returns its diagnostics.
func loadErrors(
    _ text: String, resolver: NameResolver = .fake(), format: ConfigFormat = .automatic,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) -> [Diagnostic] {
    do {
        _ = try ConfigurationLoader(resolver: resolver).load(text: text, file: testFile, format: format)
        Issue.record("configuration loaded but errors were expected", sourceLocation: sourceLocation)
        return []
    } catch {
        return error.diagnostics
    }
}

/// Returns a stream service on port 8080 with extra attribute lines, which
/// start at line 7.
func streamService(_ lines: String, name: String = "web") -> String {
    """
    service \(name)
    {
        socket_type = stream
        wait        = no
        server      = /bin/cat
        listen      = 8080
    \(lines)
    }
    """
}

/// Loads one service block and returns its model.
func loadService(
    _ text: String, resolver: NameResolver = .fake(), sourceLocation: Testing.SourceLocation = #_sourceLocation
) -> ServiceConfig? {
    guard let configuration = loadConfiguration(text, resolver: resolver, sourceLocation: sourceLocation) else { return nil }
    #expect(configuration.services.count == 1, sourceLocation: sourceLocation)
    return configuration.services.first
}

/// A temporary directory removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/sieste-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

func ipv4(_ text: String, port: UInt16 = 0) -> SocketAddress {
    .ipv4(parseIPv4(text)!, port: port)
}

func ipv6(_ text: String, port: UInt16 = 0) -> SocketAddress {
    let value = parseIPv6(text)!
    return .ipv6(high: value.high, low: value.low, port: port)
}
