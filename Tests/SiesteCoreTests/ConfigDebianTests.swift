import Foundation
import Testing

@testable import SiesteCore

/// Files shaped like those Debian's xinetd package installs: a defaults
/// block with only comments, `includedir /etc/xinetd.d`, and one file per
/// builtin with a stream and a dgram entry distinguished by `id`.
@Suite("Debian xinetd files")
struct ConfigDebianTests {
    static let mainFile = """
        # Minimal xinetd configuration

        defaults
        {

        # log_type = SYSLOG daemon info

        }

        includedir INCLUDEDIR

        """

    /// Returns a per-builtin file in Debian's layout (tabs, `disable` first).
    static func builtinFile(_ name: String, disabled: Bool) -> String {
        let disable = disabled ? "yes" : "no"
        return """
            # default: off
            # description: the \(name) builtin, tcp then udp.
            service \(name)
            {
            \tdisable\t\t= \(disable)
            \ttype\t\t= INTERNAL
            \tid\t\t= \(name)-stream
            \tsocket_type\t= stream
            \tprotocol\t= tcp
            \tuser\t\t= root
            \twait\t\t= no
            }

            # udp
            service \(name)
            {
            \tdisable\t\t= \(disable)
            \ttype\t\t= INTERNAL
            \tid\t\t= \(name)-dgram
            \tsocket_type\t= dgram
            \tprotocol\t= udp
            \tuser\t\t= root
            \twait\t\t= yes
            }

            """
    }

    /// Returns the `-udp` variant: UNLISTED with an explicit port and
    /// trailing blanks after the closing brace.
    static func udpFile(_ name: String, port: Int) -> String {
        """
        # default: off
        service \(name)
        {
        \ttype\t\t= INTERNAL UNLISTED
        \tid\t\t= \(name)-dgram
        \tsocket_type\t= dgram
        \tprotocol\t= udp
        \tuser\t\t= root
        \twait\t\t= yes
        \tdisable\t\t= yes
        \tport\t\t= \(port)
        }                                                       \n
        """
    }

    /// xinetd's own `servers` and `services` listings, which sieste lacks.
    static func listingFile(_ name: String, port: Int) -> String {
        "service \(name)\n{\n\ttype\t\t= INTERNAL UNLISTED\n\tport\t\t= \(port)\n\tsocket_type\t= stream\n\tprotocol\t= tcp\n\twait\t\t= no\n\tdisable\t\t= yes\n\tonly_from\t= 127.0.0.1\n}\n"
    }

    static let builtins = [("chargen", 19), ("daytime", 13), ("discard", 9), ("echo", 7), ("time", 37)]

    func writeTree(enabling enabled: Set<String> = []) throws -> (TemporaryDirectory, String) {
        let directory = try TemporaryDirectory()
        for (name, port) in Self.builtins {
            try directory.write("xinetd.d/" + name, Self.builtinFile(name, disabled: !enabled.contains(name)))
            try directory.write("xinetd.d/" + name + "-udp", Self.udpFile(name, port: port))
        }
        try directory.write("xinetd.d/servers", Self.listingFile("servers", port: 9099))
        try directory.write("xinetd.d/services", Self.listingFile("services", port: 9098))
        let main = try directory.write(
            "xinetd.conf", Self.mainFile.replacingOccurrences(of: "INCLUDEDIR", with: directory.path + "/xinetd.d"))
        return (directory, main)
    }

    @Test("all disabled files load")
    func allDisabled() throws {
        let (directory, main) = try writeTree()
        let configuration = try ConfigurationLoader(resolver: .fake(isRoot: false)).load(paths: [main])
        #expect(configuration.services.isEmpty)
        #expect(configuration.disabledServices.count == 17)
        // Only xinetd's listing builtins are reported, as warnings.
        #expect(configuration.warnings.count == 2)
        #expect(configuration.warnings.allSatisfy { $0.message.hasSuffix("is disabled)") })
        _ = directory
    }

    @Test("enabling echo gives two builtins on port 7")
    func enabledEcho() throws {
        let (directory, main) = try writeTree(enabling: ["echo"])
        let configuration = try ConfigurationLoader(resolver: .fake(isRoot: false)).load(paths: [main])
        #expect(configuration.services.map { $0.id } == ["echo-stream", "echo-dgram"])
        #expect(configuration.services.allSatisfy { $0.builtin == .echo })
        #expect(configuration.services.map { $0.socketKind } == [.stream, .dgram])
        #expect(configuration.services.allSatisfy { $0.listen == [ListenSpec(address: ipv6("::", port: 7), v6only: false)] })
        #expect(configuration.warnings.count == 2)
        _ = directory
    }

    @Test("enabling every builtin")
    func enabledEveryBuiltin() throws {
        let (directory, main) = try writeTree(enabling: Set(Self.builtins.map { $0.0 }))
        let configuration = try ConfigurationLoader(resolver: .fake()).load(paths: [main])
        #expect(configuration.services.count == 10)
        #expect(Set(configuration.services.compactMap { $0.builtin }) == [.echo, .discard, .chargen, .daytime, .time])
        _ = directory
    }

    @Test("installed /etc/xinetd.conf loads", .enabled(if: FileManager.default.fileExists(atPath: "/etc/xinetd.conf")))
    func installedConfiguration() throws {
        let configuration = try ConfigurationLoader().load(paths: ["/etc/xinetd.conf"])
        let names = (configuration.services + configuration.disabledServices).map { $0.name }
        #expect(!names.isEmpty)
        for warning in configuration.warnings {
            #expect(warning.location.file.hasPrefix("/etc/xinetd"))
        }
    }
}
