import Foundation
import Testing

@testable import SiesteCore

@Suite("convert systemd units")
struct ConvertSystemdTests {
    static let echoSocket = """
        [Unit]
        Description=Echo server socket

        [Socket]
        ListenStream=127.0.0.1:7007
        ListenStream=[::1]:7007
        Accept=yes
        MaxConnections=8
        MaxConnectionsPerSource=2
        NoDelay=yes
        KeepAlive=true

        [Install]
        WantedBy=sockets.target

        """

    static let echoService = """
        [Unit]
        Description=Echo server, one per connection

        [Service]
        ExecStart=-/bin/cat
        StandardInput=socket
        User=nobody
        Group=nogroup

        """

    static let lighttpdSocket = """
        [Socket]
        ListenStream=8080
        ListenStream=[::1]:8443
        BindIPv6Only=ipv6-only
        FileDescriptorName=http

        """

    static let lighttpdService = """
        [Unit]
        Description=Lighttpd Daemon

        [Service]
        Type=simple
        ExecStart=/usr/sbin/lighttpd -D -f /etc/lighttpd/lighttpd.conf
        User=www-data
        StandardError=null

        """

    /// Writes the units, converts the first one, loads the output and
    /// returns the one service.
    func convertAndLoad(
        _ units: [(name: String, text: String)], convert name: String? = nil,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws -> (service: ServiceConfig, result: ConversionResult, directory: TemporaryDirectory)? {
        let directory = try TemporaryDirectory()
        for unit in units { try directory.write(unit.name, unit.text) }
        guard let result = convertFile(directory.path + "/" + (name ?? units[0].name), sourceLocation: sourceLocation),
            let services = loadConverted(result.text, sourceLocation: sourceLocation)
        else { return nil }
        #expect(services.count == 1, sourceLocation: sourceLocation)
        guard let service = services.first else { return nil }
        return (service, result, directory)
    }

    /// Writes the units and returns the errors of converting the first one.
    func errors(_ units: [(name: String, text: String)]) throws -> (errors: [String], directory: String) {
        let directory = try TemporaryDirectory()
        for unit in units { try directory.write(unit.name, unit.text) }
        return (conversionErrors(directory.path + "/" + units[0].name), directory.path)
    }

    @Test("Accept=yes runs the template per connection")
    func acceptYes() throws {
        let converted = try #require(try convertAndLoad([("echo.socket", Self.echoSocket), ("echo@.service", Self.echoService)]))
        let service = converted.service
        #expect(service.name == "echo")
        #expect(service.mode == .perConnection)
        #expect(service.handoff == .stdio)
        #expect(service.server == "/bin/cat")
        #expect(service.arguments == ["cat"])
        #expect(service.listen == [ListenSpec(address: ipv4("127.0.0.1", port: 7007)), ListenSpec(address: ipv6("::1", port: 7007))])
        #expect(service.instances == 8)
        #expect(service.perSource == 2)
        #expect(service.noDelay)
        #expect(service.keepAlive)
        #expect(service.credentials == Credentials(userName: "nobody", uid: 65534, gid: 65534, groups: [65534]))
        // With StandardInput=socket, systemd's standard output and error default to the socket.
        #expect(service.stderr == .socket)
        #expect(converted.result.warnings.isEmpty)
        #expect(converted.result.text.hasPrefix("# from " + converted.directory.path + "/echo.socket and " + converted.directory.path + "/echo@.service\n# Echo server, one per connection\nservice echo\n{\n"))
    }

    @Test("Accept=no hands the listening sockets over")
    func acceptNo() throws {
        let converted = try #require(try convertAndLoad([("lighttpd.socket", Self.lighttpdSocket), ("lighttpd.service", Self.lighttpdService)]))
        let service = converted.service
        #expect(service.mode == .handoff)
        #expect(service.handoff == .listenFDs)
        #expect(service.server == "/usr/sbin/lighttpd")
        #expect(service.arguments == ["lighttpd", "-D", "-f", "/etc/lighttpd/lighttpd.conf"])
        #expect(service.listen == [ListenSpec(address: ipv6("::", port: 8080), v6only: true), ListenSpec(address: ipv6("::1", port: 8443), v6only: true)])
        #expect(service.fdNames == ["http", "http"])
        #expect(service.stderr == .null)
        #expect(service.credentials?.userName == "www-data")
        #expect(service.instances == nil)
    }

    @Test("service unit as the argument")
    func serviceUnitArgument() throws {
        let fromSocket = try #require(try convertAndLoad([("echo.socket", Self.echoSocket), ("echo@.service", Self.echoService)]))
        let fromService = try #require(
            try convertAndLoad([("echo.socket", Self.echoSocket), ("echo@.service", Self.echoService)], convert: "echo@.service"))
        #expect(withoutLocation(fromSocket.service) == withoutLocation(fromService.service))
    }

    @Test("systemd defaults are written out")
    func systemdDefaults() throws {
        let socket = "[Socket]\nListenStream=/run/sieste-test.sock\nAccept=yes\n"
        let service = "[Service]\nExecStart=/bin/cat\n"
        let converted = try #require(try convertAndLoad([("t.socket", socket), ("t@.service", service)]))
        #expect(converted.service.socketMode == 0o666)
        #expect(converted.service.instances == 64)
        #expect(converted.service.protocolName == "unix")
        // Without StandardInput=socket the connection is fd 3, named as systemd names it.
        #expect(converted.service.handoff == .listenFDs)
        #expect(converted.service.fdNames == ["connection"])
        #expect(converted.service.stderr == .log)
    }

    @Test("Accept=no names sockets after the socket unit")
    func defaultDescriptorName() throws {
        let converted = try #require(
            try convertAndLoad([("web.socket", "[Socket]\nListenStream=8080\n"), ("web.service", "[Service]\nExecStart=/bin/cat\n")]))
        #expect(converted.service.fdNames == ["web.socket"])
        #expect(converted.service.listen == [ListenSpec(address: ipv6("::", port: 8080), v6only: false)])
    }

    @Test("Service= names the activated unit")
    func serviceKey() throws {
        let converted = try #require(
            try convertAndLoad([("web.socket", "[Socket]\nListenDatagram=127.0.0.1:6969\nService=other.service\n"), ("other.service", "[Service]\nExecStart=/bin/cat\n")]))
        #expect(converted.service.socketKind == .dgram)
        #expect(converted.service.protocolName == "udp")
        #expect(converted.service.wait)
    }

    @Test("socket file ownership")
    func socketOwnership() throws {
        let socket = "[Socket]\nListenSequentialPacket=/run/sieste-test.sock\nSocketMode=0660\nSocketUser=www-data\nSocketGroup=staff\n"
        let converted = try #require(try convertAndLoad([("s.socket", socket), ("s.service", "[Service]\nExecStart=/bin/cat\n")]))
        #expect(converted.service.socketKind == .seqpacket)
        #expect(converted.service.socketMode == 0o660)
        #expect(converted.service.socketOwner == 33)
        #expect(converted.service.socketGroup == 50)
    }

    @Test(
        "ExecStart prefixes and argv[0]",
        arguments: [
            ("ExecStart=-/bin/cat -u", ["cat", "-u"]),
            ("ExecStart=:/bin/cat $HOME", ["cat", "$HOME"]),
            ("ExecStart=@/bin/cat kitty -u", ["kitty", "-u"]),
            ("ExecStart=-@/bin/cat kitty", ["kitty"]),
            ("ExecStart=/bin/cat \"-u\" '--'", ["cat", "-u", "--"]),
            ("ExecStart=/bin/cat %p-%%", ["cat", "p-%"]),
            ("ExecStart=\n#reset\nExecStart=/bin/cat -v", ["cat", "-v"]),
            ("ExecStart=/bin/cat \\\n  ; comment inside a continued line\n  -v \\\n  -u", ["cat", "-v", "-u"]),
        ])
    func execStart(line: String, arguments: [String]) throws {
        let converted = try #require(
            try convertAndLoad([("p.socket", "[Socket]\nListenStream=8080\n"), ("p.service", "[Service]\n" + line + "\n")]))
        #expect(converted.service.server == "/bin/cat")
        #expect(converted.service.arguments == arguments)
    }

    @Test("+ prefix drops privileges with a warning")
    func privilegedPrefix() throws {
        let converted = try #require(
            try convertAndLoad([("p.socket", "[Socket]\nListenStream=8080\n"), ("p.service", "[Service]\nExecStart=+/bin/cat\n")]))
        #expect(converted.service.server == "/bin/cat")
        #expect(converted.result.warnings.map { $0.text } == [
            converted.directory.path + "/p.service:2: ExecStart= prefix + is dropped: the program runs as User= and Group=",
        ])
    }

    @Test("Environment assignments accumulate")
    func environment() throws {
        let service = "[Service]\nExecStart=/bin/cat\nEnvironment=OLD=1\nEnvironment=\nEnvironment=LANG=C \"MODE=echo\"\nEnvironment=PORT=7\n"
        let converted = try #require(try convertAndLoad([("p.socket", "[Socket]\nListenStream=8080\n"), ("p.service", service)]))
        #expect(converted.service.environment == ["LANG=C", "MODE=echo", "PORT=7"])
    }

    @Test("process settings")
    func processSettings() throws {
        let service = """
            [Service]
            ExecStart=/bin/cat
            WorkingDirectory=-/srv
            UMask=0027
            Nice=5
            LimitNOFILE=1024
            LimitNPROC=infinity
            KillSignal=SIGINT
            TimeoutStopSec=30s

            """
        let converted = try #require(try convertAndLoad([("p.socket", "[Socket]\nListenStream=8080\n"), ("p.service", service)]))
        #expect(converted.service.workingDirectory == "/srv")
        #expect(converted.service.umask == 0o027)
        #expect(converted.service.nice == 5)
        #expect(converted.service.stopSignal == SIGINT)
        #expect(converted.service.stopTimeout == 30_000)
        #expect(converted.service.resourceLimits.count == 2)
    }

    @Test("unknown keys become comments and warnings")
    func unknownKeys() throws {
        let socket = "[Socket]\nListenStream=8080\nFreeBind=yes\n"
        let service = "[Service]\nExecStart=/bin/cat\nExecStartPre=/bin/true %i\nRestart=on-failure\n"
        let converted = try #require(try convertAndLoad([("p.socket", socket), ("p.service", service)]))
        let path = converted.directory.path
        #expect(converted.result.text.contains("    # not converted: FreeBind=yes\n"))
        #expect(converted.result.text.contains("    # not converted: ExecStartPre=/bin/true %i\n"))
        #expect(converted.result.text.contains("    # not converted: Restart=on-failure\n}\n"))
        #expect(converted.result.warnings.map { $0.text } == [
            path + "/p.socket:3: FreeBind= in [Socket] is not converted",
            path + "/p.service:3: ExecStartPre= in [Service] is not converted",
            path + "/p.service:4: Restart= in [Service] is not converted",
        ])
    }

    @Test(
        "errors name the unit line",
        arguments: [
            ("ExecStart=/bin/cat %i", "p.service:2: specifier %i in ExecStart= cannot be converted: write the value out"),
            ("ExecStart=/bin/cat \"two words\"", "p.service:2: ExecStart= argument \"two words\" is empty or contains a blank, which server_args cannot express (its values have no quoting)"),
            ("ExecStart=/bin/cat \"\"", "p.service:2: ExecStart= argument \"\" is empty or contains a blank, which server_args cannot express (its values have no quoting)"),
            ("ExecStart=/bin/cat \"open", "p.service:2: cannot convert ExecStart=: a quote is not closed"),
            ("ExecStart=/bin/cat \\t", "p.service:2: cannot convert ExecStart=: escape sequence \\t is not converted"),
            ("ExecStart=/bin/cat ${HOME}", "p.service:2: ExecStart= argument \"${HOME}\" refers to an environment variable, which sieste does not expand: write the value out"),
            ("ExecStart=/bin/cat ; /bin/true", "p.service:2: ExecStart= holds more than one command (\";\"): sieste starts one program"),
            ("ExecStart=/bin/cat\nExecStart=/bin/true", "p.service:3: more than one ExecStart= (first at line 2): sieste starts one program"),
            ("ExecStart=no-such-program-sieste", "p.service:2: ExecStart= program \"no-such-program-sieste\" is not an absolute path and was not found in /usr/local/sbin, /usr/local/bin, /usr/sbin or /usr/bin"),
            ("ExecStart=@/bin/cat", "p.service:2: ExecStart= with the @ prefix needs argv[0] after the program"),
            ("User=nobody", "p.service: ExecStart= is missing in [Service]"),
            ("ExecStart=/bin/cat\nEnvironment=\"A=b c\"", "p.service:3: Environment= assignment \"A=b c\" contains a blank, which env cannot express (its values have no quoting)"),
            ("ExecStart=/bin/cat\nEnvironment=NOEQUALS", "p.service:3: invalid value \"NOEQUALS\" for Environment=: expected NAME=VALUE assignments"),
            ("ExecStart=/bin/cat\nNice=40", "p.service:3: invalid value \"40\" for Nice=: expected a number from -20 to 19"),
            ("ExecStart=/bin/cat\nUser", "p.service:3: invalid line \"User\": expected Key=Value or [Section]"),
        ])
    func serviceErrors(serviceLines: String, message: String) throws {
        let result = try errors([("p.socket", "[Socket]\nListenStream=8080\n"), ("p.service", "[Service]\n" + serviceLines + "\n")])
        #expect(result.errors == [result.directory + "/" + message])
    }

    @Test(
        "socket errors name the unit line",
        arguments: [
            ("ListenStream=8080\nListenDatagram=8080", "p.socket:3: ListenDatagram= mixes socket types with ListenStream= at line 2: a sieste service has one socket_type, so split the unit into one per type"),
            ("ListenStream=8080\nListenStream=/run/p.sock", "p.socket:3: address \"/run/p.sock\" mixes Unix and IP sockets with line 2: a sieste service listens on one or the other, so split the unit into one per kind"),
            ("ListenStream=localhost:80", "p.socket:2: invalid value \"localhost:80\" for ListenStream=: expected a port, ADDRESS:PORT ([::1]:8080), a socket path or @name"),
            ("ListenStream=[fe80::1%%eth0]:80", "p.socket:2: address \"[fe80::1%eth0]:80\" names a network interface, which sieste cannot bind to: use the interface's address"),
            ("ListenStream=vsock:2:1234", "p.socket:2: AF_VSOCK address \"vsock:2:1234\" is not supported: sieste listens on IP and Unix sockets"),
            ("ListenSequentialPacket=8080", "p.socket:2: invalid value \"8080\" for ListenSequentialPacket=: expected a socket path or @name, as sequential-packet sockets are Unix sockets"),
            ("ListenFIFO=/run/p.fifo", "p.socket:2: ListenFIFO= is not supported: sieste listens only on stream, datagram and sequential-packet sockets"),
            ("ListenStream=8080\nListenStream=", "p.socket: no ListenStream=, ListenDatagram= or ListenSequentialPacket= in [Socket]"),
            ("ListenStream=/run/%i.sock", "p.socket:2: specifier %i in ListenStream= cannot be converted: write the value out"),
            ("ListenStream=8080\nAccept=maybe", "p.socket:3: invalid value \"maybe\" for Accept=: expected yes or no"),
            ("ListenStream=8080\nBindIPv6Only=sometimes", "p.socket:3: invalid value \"sometimes\" for BindIPv6Only=: expected ipv6-only, both or default"),
            ("ListenStream=/run/p.sock\nSocketMode=0999", "p.socket:3: invalid value \"0999\" for SocketMode=: expected an octal mode such as 0660"),
        ])
    func socketErrors(socketLines: String, message: String) throws {
        let result = try errors([("p.socket", "[Socket]\n" + socketLines + "\n"), ("p.service", "[Service]\nExecStart=/bin/cat\n")])
        #expect(result.errors == [result.directory + "/" + message])
    }

    @Test("missing service unit")
    func missingServiceUnit() throws {
        let result = try errors([("p.socket", "[Socket]\nListenStream=8080\nAccept=yes\n")])
        #expect(result.errors == [result.directory + "/p.socket:3: cannot read " + result.directory + "/p@.service: No such file or directory"])
    }

    @Test("service unit that the socket does not activate")
    func wrongServiceUnit() throws {
        let directory = try TemporaryDirectory()
        try directory.write("p.socket", "[Socket]\nListenStream=8080\nAccept=yes\n")
        let path = try directory.write("p.service", "[Service]\nExecStart=/bin/cat\n")
        #expect(conversionErrors(path) == [path + ": p.socket activates p@.service (Accept=yes), not p.service"])
    }

    @Test("unit parser", arguments: [
        ("[Socket]\n  ListenStream = 80  \n", "Socket", "ListenStream", "80", 2),
        ("# c\n; c\n[Service]\nExecStart=/bin/a \\\n  -b\n", "Service", "ExecStart", "/bin/a  -b", 4),
        ("[Service]\nEnvironment=A=1\n", "Service", "Environment", "A=1", 2),
    ])
    func unitParser(text: String, section: String, key: String, value: String, line: Int) {
        let parsed = SystemdUnitParser.parse(Array(text.utf8), file: "u.service")
        #expect(parsed.errors.isEmpty)
        #expect(parsed.unit.entries.count == 1)
        let entry = parsed.unit.entries.first
        #expect(entry?.section == section)
        #expect(entry?.key == key)
        #expect(entry?.value == value)
        #expect(entry?.location.line == line)
    }
}
