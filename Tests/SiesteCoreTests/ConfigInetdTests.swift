import Testing

@testable import SiesteCore

@Suite("inetd.conf")
struct ConfigInetdTests {
    static func ipv4Any(_ port: UInt16) -> ListenSpec { ListenSpec(address: ipv4("0.0.0.0", port: port)) }
    static func ipv6Only(_ port: UInt16) -> ListenSpec { ListenSpec(address: ipv6("::", port: port), v6only: true) }
    static func dualStack(_ port: UInt16) -> ListenSpec { ListenSpec(address: ipv6("::", port: port), v6only: false) }

    @Test(
        "protocol families",
        arguments: [
            ("tcp", [ipv4Any(79), ipv6Only(79)]), ("tcp4", [ipv4Any(79)]), ("tcp6", [ipv6Only(79)]),
            ("tcp46", [dualStack(79)]),
        ])
    func protocolFamilies(protocolField: String, listen: [ListenSpec]) throws {
        let line = "finger stream \(protocolField) nowait nobody /usr/sbin/in.fingerd in.fingerd -w\n"
        let service = try #require(loadService(line))
        #expect(service.listen == listen)
        #expect(service.protocolName == "tcp")
        #expect(service.id == "finger/" + protocolField)
    }

    @Test("udp families", arguments: [("udp", 2), ("udp4", 1), ("udp6", 1), ("udp46", 1)])
    func udpFamilies(protocolField: String, count: Int) throws {
        let service = try #require(loadService("tftp dgram \(protocolField) wait root /usr/sbin/in.tftpd in.tftpd -s /srv/tftp\n"))
        #expect(service.listen.count == count)
        #expect(service.socketKind == .dgram)
        #expect(service.protocolName == "udp")
        #expect(service.wait)
        #expect(service.listen.allSatisfy { $0.address.port == 69 })
    }

    @Test("argv comes whole from the line")
    func argumentsFromLine() throws {
        let service = try #require(loadService("finger stream tcp nowait nobody /usr/sbin/tcpd /usr/sbin/in.fingerd -w\n"))
        #expect(service.server == "/usr/sbin/tcpd")
        #expect(service.arguments == ["/usr/sbin/in.fingerd", "-w"])
        #expect(service.credentials == Credentials(userName: "nobody", uid: 65534, gid: 65534, groups: [65534]))
        #expect(service.wait == false)
        #expect(service.location == SiesteCore.SourceLocation(file: testFile, line: 1))
    }

    @Test("missing argv uses the program name")
    func missingArguments() throws {
        let service = try #require(loadService("finger stream tcp nowait nobody /usr/sbin/in.fingerd\n", ))
        #expect(service.arguments == ["in.fingerd"])
    }

    @Test("user with group", arguments: ["www-data:staff", "www-data.staff"])
    func userWithGroup(field: String) throws {
        let service = try #require(loadService("http stream tcp nowait \(field) /bin/cat cat\n"))
        #expect(service.credentials == Credentials(userName: "www-data", uid: 33, gid: 50, groups: [50]))
    }

    @Test("nowait.N sets instances")
    func nowaitMaximum() throws {
        let service = try #require(loadService("ftp stream tcp nowait.40 root /bin/cat cat\n"))
        #expect(service.instances == 40)
    }

    @Test("host and numeric service")
    func hostAndNumber() throws {
        let v4 = try #require(loadService("127.0.0.1:2121 stream tcp nowait nobody /bin/cat cat\n"))
        #expect(v4.listen == [ListenSpec(address: ipv4("127.0.0.1", port: 2121))])
        #expect(v4.id == "127.0.0.1:2121/tcp")
        let v6 = try #require(loadService("[::1]:ftp stream tcp nowait nobody /bin/cat cat\n"))
        #expect(v6.listen == [ListenSpec(address: ipv6("::1", port: 21), v6only: true)])
        let named = try #require(loadService("localhost:ftp stream tcp nowait nobody /bin/cat cat\n"))
        #expect(named.listen == [ListenSpec(address: ipv4("127.0.0.1", port: 21))])
    }

    @Test("HOST: line sets the host of later entries")
    func defaultHostLine() throws {
        let text = "127.0.0.1:\nftp stream tcp nowait nobody /bin/cat cat\n*:\nfinger stream tcp4 nowait nobody /bin/cat cat\n"
        let configuration = try #require(loadConfiguration(text, format: .inetd))
        #expect(configuration.services.map { $0.listen } == [
            [ListenSpec(address: ipv4("127.0.0.1", port: 21))], [Self.ipv4Any(79)],
        ])
    }

    @Test("unix sockets")
    func unixSocket() throws {
        let service = try #require(loadService("/run/sieste-test.sock stream unix nowait nobody /bin/cat cat\n"))
        #expect(service.listen == [ListenSpec(address: .unix("/run/sieste-test.sock"))])
        #expect(service.protocolName == "unix")
    }

    @Test("internal services", arguments: [
        ("echo stream tcp nowait root internal", BuiltinService.echo, SocketKind.stream),
        ("echo dgram udp wait root internal", .echo, .dgram),
        ("discard stream tcp nowait root internal", .discard, .stream),
        ("chargen stream tcp6 nowait root internal", .chargen, .stream),
        ("daytime dgram udp wait root internal", .daytime, .dgram),
        ("time stream tcp nowait root internal", .time, .stream),
    ])
    func internalServices(line: String, builtin: BuiltinService, kind: SocketKind) throws {
        let service = try #require(loadService(line + "\n"))
        #expect(service.builtin == builtin)
        #expect(service.socketKind == kind)
        #expect(service.server == nil)
    }

    @Test("comments, blank lines and continuation lines")
    func commentsAndContinuations() throws {
        let text = """
            # /etc/inetd.conf
            #:STANDARD: These are standard services.

            finger  stream  tcp  nowait  nobody  /usr/sbin/tcpd
                    /usr/sbin/in.fingerd -w
            #discard stream tcp nowait root internal
            echo    stream  tcp  nowait  root    internal

            """
        let configuration = try #require(loadConfiguration(text))
        #expect(configuration.services.map { $0.name } == ["finger", "echo"])
        #expect(configuration.services.first?.arguments == ["/usr/sbin/in.fingerd", "-w"])
        #expect(configuration.services.first?.location.line == 4)
        #expect(configuration.services.last?.location.line == 7)
    }

    @Test("tcp and udp of one service get distinct ids")
    func distinctIDs() throws {
        let configuration = try #require(loadConfiguration("echo stream tcp nowait root internal\necho dgram udp wait root internal\n"))
        #expect(configuration.services.map { $0.id } == ["echo/tcp", "echo/udp"])
    }

    @Test(
        "line errors name the field and what is accepted",
        arguments: [
            ("finger stream tcp nowait nobody", "incomplete inetd.conf entry: expected SERVICE SOCKET_TYPE PROTOCOL WAIT USER SERVER [ARGUMENTS...], got 5 fields"),
            ("finger stream tcpx nowait nobody /bin/cat cat", "invalid protocol \"tcpx\" in inetd.conf entry: expected tcp, udp, tcp4, udp4, tcp6, udp6, tcp46, udp46 or unix"),
            ("finger stream udp nowait nobody /bin/cat cat", "protocol udp does not match socket type stream: use dgram"),
            ("finger raw tcp nowait nobody /bin/cat cat", "invalid socket type \"raw\" (raw is not supported) in inetd.conf entry: expected stream, dgram or seqpacket"),
            ("finger stream tcp sometimes nobody /bin/cat cat", "invalid wait field \"sometimes\" in inetd.conf entry: expected wait or nowait, optionally with .MAX (nowait.40)"),
            ("finger stream tcp nowait.x nobody /bin/cat cat", "invalid wait field \"nowait.x\" in inetd.conf entry: expected a number after the dot"),
            ("gopher stream tcp nowait nobody /bin/cat cat", "service \"gopher\" is not in /etc/services for tcp: use a port number"),
            ("rstatd/1-3 dgram rpc/udp wait root /usr/sbin/rpc.rstatd rpc.rstatd", "RPC service \"rstatd/1-3\" is not supported: sieste does not register services with rpcbind"),
            ("127.0.0.1:ftp stream tcp6 nowait nobody /bin/cat cat", "host 127.0.0.1 does not match protocol tcp6"),
            ("nowhere.invalid:ftp stream tcp nowait nobody /bin/cat cat", "cannot resolve host \"nowhere.invalid\" in inetd.conf entry: expected an IP address or a resolvable host name"),
            ("finger stream tcp nowait mallory /bin/cat cat", "unknown user \"mallory\" for user: expected a user name from the user database or a numeric uid"),
            ("relative stream unix nowait nobody /bin/cat cat", "invalid socket path \"relative\" for protocol unix: expected an absolute path of at most 107 bytes"),
        ])
    func lineErrors(line: String, message: String) {
        let errors = loadErrors("# header\n" + line + "\n", format: .inetd)
        #expect(errors.map { $0.text } == [testFile + ":2: " + message])
    }
}

@Suite("format detection")
struct ConfigFormatDetectionTests {
    @Test(
        "first meaningful line decides",
        arguments: [
            ("ftp stream tcp nowait root /usr/sbin/tcpd in.ftpd", true),
            ("# comment\n\n  echo dgram udp wait root internal", true),
            ("tftp dgram udp4 wait root /usr/sbin/in.tftpd in.tftpd -s /srv/tftp", true),
            ("service ftp\n{\n}", false),
            ("defaults\n{\n}", false),
            ("includedir /etc/xinetd.d", false),
            ("ftp stream tcp nowait root", false),
            ("ftp tcp stream nowait root /usr/sbin/in.ftpd in.ftpd", false),
            ("", false),
        ])
    func detection(text: String, isInetd: Bool) {
        #expect(looksLikeInetdConf(Array(text.utf8)) == isInetd)
    }

    @Test("forced xinetd format rejects an inetd line")
    func forcedFormat() {
        let errors = loadErrors("echo stream tcp nowait root internal\n", format: .xinetd)
        #expect(errors.first?.message.hasPrefix("unexpected line \"echo stream tcp nowait root internal\" outside a block") == true)
    }
}
