import Foundation
import Testing

@testable import SiesteCore

/// Converts a file with the fake resolver, failing the test on errors.
func convertFile(
    _ path: String, format: ConversionSource = .automatic, sourceLocation: Testing.SourceLocation = #_sourceLocation
) -> ConversionResult? {
    let result = ConfigConverter(resolver: .fake()).convert(path: path, format: format)
    if !result.errors.isEmpty {
        let listing = result.errors.map { $0.text }.joined(separator: "\n")
        Issue.record(Comment(rawValue: "conversion failed:\n" + listing), sourceLocation: sourceLocation)
        return nil
    }
    return result
}

/// Converts a file that must fail and returns the error lines.
func conversionErrors(_ path: String, format: ConversionSource = .automatic) -> [String] {
    ConfigConverter(resolver: .fake()).convert(path: path, format: format).errors.map { $0.text }
}

/// Loads converted text as native configuration with the fake resolver.
func loadConverted(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [ServiceConfig]? {
    do {
        let configuration = try ConfigurationLoader(resolver: .fake()).load(text: text, file: "/converted.conf", format: .xinetd)
        return configuration.services + configuration.disabledServices
    } catch {
        let listing = error.diagnostics.map { $0.text }.joined(separator: "\n")
        Issue.record(Comment(rawValue: "converted text did not load:\n" + listing + "\n" + text), sourceLocation: sourceLocation)
        return nil
    }
}

/// Returns the service with its location cleared, so that a service loaded from
/// converted text compares equal to one loaded from its source.
func withoutLocation(_ service: ServiceConfig) -> ServiceConfig {
    var copy = service
    copy.location = SiesteCore.SourceLocation(file: "", line: 0)
    return copy
}

@Suite("convert inetd.conf")
struct ConvertInetdTests {
    /// Converts an inetd.conf text and checks that loading the output gives
    /// the services that loading the text directly gives.
    func expectSameServices(_ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("inetd.conf", text)
        let direct = try ConfigurationLoader(resolver: .fake()).load(paths: [path], format: .inetd)
        let result = try #require(convertFile(path), sourceLocation: sourceLocation)
        let converted = try #require(loadConverted(result.text), sourceLocation: sourceLocation)
        #expect(converted.count == direct.services.count + direct.disabledServices.count, sourceLocation: sourceLocation)
        for (convertedService, directService) in zip(converted, direct.services + direct.disabledServices) {
            #expect(withoutLocation(convertedService) == withoutLocation(directService), sourceLocation: sourceLocation)
        }
    }

    @Test(
        "output loads as the source does",
        arguments: [
            "finger stream tcp nowait nobody /usr/sbin/tcpd /usr/sbin/in.fingerd -w\n",
            "finger stream tcp4 nowait nobody /usr/sbin/in.fingerd\n",
            "finger stream tcp6 nowait nobody /usr/sbin/in.fingerd in.fingerd\n",
            "finger stream tcp46 nowait nobody /usr/sbin/in.fingerd in.fingerd\n",
            "tftp dgram udp wait root /usr/sbin/in.tftpd in.tftpd -s /srv/tftp\n",
            "tftp dgram udp46 wait.10 root /usr/sbin/in.tftpd in.tftpd -s /srv/tftp\n",
            "http stream tcp nowait www-data:staff /bin/cat cat\n",
            "http stream tcp nowait.40 www-data.staff /bin/cat cat\n",
            "127.0.0.1:2121 stream tcp nowait nobody /bin/cat cat\n",
            "[::1]:ftp stream tcp nowait nobody /bin/cat cat\n",
            "[::1]:ftp stream tcp46 nowait nobody /bin/cat cat\n",
            "localhost:ftp stream tcp nowait nobody /bin/cat cat\n",
            "127.0.0.1:\nftp stream tcp nowait nobody /bin/cat cat\n*:\nfinger stream tcp4 nowait nobody /bin/cat cat\n",
            "echo stream tcp nowait root internal\necho dgram udp wait root internal\n",
            "/run/sieste-test.sock stream unix nowait nobody /bin/cat cat\n",
            "/run/sieste-test.sock seqpacket unix wait nobody /bin/cat cat\n",
            "# header\n\nfinger  stream  tcp  nowait  nobody  /usr/sbin/tcpd\n        /usr/sbin/in.fingerd -w\n#discard stream tcp nowait root internal\ndaytime stream tcp nowait root internal\n",
        ])
    func sameServices(text: String) throws {
        try expectSameServices(text)
    }

    @Test("block layout")
    func blockLayout() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("inetd.conf", "# finger\nfinger stream tcp nowait nobody /usr/sbin/tcpd /usr/sbin/in.fingerd -w\necho stream tcp46 nowait root internal\n")
        let result = try #require(convertFile(path))
        let expected = """
            # from \(path):2
            service finger
            {
                id          = finger/tcp
                socket_type = stream
                wait        = no
                user        = nobody
                server      = /usr/sbin/tcpd
                server_args = /usr/sbin/in.fingerd -w
                flags       = NAMEINARGS
                listen      = 0.0.0.0:79 [::]:79
                v6only      = yes
            }

            # from \(path):3
            service echo
            {
                id          = echo/tcp46
                type        = INTERNAL
                socket_type = stream
                wait        = no
                user        = root
                listen      = [::]:7
            }

            """
        #expect(result.text == expected)
        #expect(result.warnings.isEmpty)
    }

    @Test("line errors keep the loader's messages")
    func lineErrors() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("inetd.conf", "# header\nfinger stream tcpx nowait nobody /bin/cat cat\necho stream tcp nowait root internal\ngopher stream tcp nowait nobody /bin/cat cat\n")
        let errors = conversionErrors(path)
        #expect(errors == [
            path + ":2: invalid protocol \"tcpx\" in inetd.conf entry: expected tcp, udp, tcp4, udp4, tcp6, udp6, tcp46, udp46 or unix",
            path + ":4: service \"gopher\" is not in /etc/services for tcp: use a port number",
        ])
        #expect(ConfigConverter(resolver: .fake()).convert(path: path).text.isEmpty)
    }

    @Test("xinetd syntax is rejected")
    func xinetdSyntax() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("sieste.conf", "# native\nservice echo\n{\n}\n")
        #expect(conversionErrors(path) == [path + ":2: this file is already in xinetd syntax, which sieste loads as it is: nothing to convert"])
    }

    @Test("systemd unit under another name is rejected")
    func systemdUnitText() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("echo.unit", "[Socket]\nListenStream=7\n")
        #expect(conversionErrors(path) == [path + ":1: this file looks like a systemd unit: convert the X.socket unit, or pass --format systemd"])
    }

    @Test("unreadable file")
    func unreadableFile() throws {
        let directory = try TemporaryDirectory()
        #expect(conversionErrors(directory.path + "/missing.conf") == [directory.path + "/missing.conf: cannot read file: No such file or directory"])
    }

    @Test("file without entries")
    func withoutEntries() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("inetd.conf", "# everything is off\n#echo stream tcp nowait root internal\n")
        let result = try #require(convertFile(path))
        #expect(result.text.isEmpty)
        #expect(result.warnings.map { $0.text } == [path + ": no inetd.conf entries found"])
    }
}
