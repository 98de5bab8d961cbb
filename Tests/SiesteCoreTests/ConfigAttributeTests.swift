import CSieste
import Testing

@testable import SiesteCore

@Suite("xinetd attributes")
struct ConfigAttributeTests {
    @Test("minimal stream service")
    func minimalStreamService() throws {
        let service = try #require(loadService(streamService("")))
        #expect(service.name == "web")
        #expect(service.id == "web")
        #expect(service.socketKind == .stream)
        #expect(service.protocolName == "tcp")
        #expect(service.wait == false)
        #expect(service.server == "/bin/cat")
        #expect(service.arguments == ["cat"])
        #expect(service.listen == [ListenSpec(address: ipv6("::", port: 8080), v6only: false)])
        #expect(service.fdNames == ["web"])
        #expect(service.handoff == .stdio)
        #expect(service.stderr == .log)
        #expect(service.mode == .perConnection)
        #expect(service.location.line == 1)
        #expect(service.location.file == testFile)
    }

    @Test("socket_type implies protocol", arguments: [("stream", "tcp", SocketKind.stream), ("dgram", "udp", SocketKind.dgram)])
    func socketTypeImpliesProtocol(socketType: String, protocolName: String, kind: SocketKind) throws {
        let text = "service s\n{\n socket_type = \(socketType)\n wait = yes\n server = /bin/cat\n port = 7000\n}\n"
        let service = try #require(loadService(text))
        #expect(service.protocolName == protocolName)
        #expect(service.socketKind == kind)
    }

    @Test("protocol implies socket_type")
    func protocolImpliesSocketType() throws {
        let text = "service s\n{\n protocol = udp\n wait = yes\n server = /bin/cat\n port = 7000\n}\n"
        let service = try #require(loadService(text))
        #expect(service.socketKind == .dgram)
    }

    @Test(
        "listen forms",
        arguments: [
            ("8080", [ListenSpec(address: ipv6("::", port: 8080), v6only: false)], "tcp"),
            ("*:8080", [ListenSpec(address: ipv6("::", port: 8080), v6only: false)], "tcp"),
            ("127.0.0.1:8080", [ListenSpec(address: ipv4("127.0.0.1", port: 8080))], "tcp"),
            ("[::1]:8080", [ListenSpec(address: ipv6("::1", port: 8080))], "tcp"),
            ("/run/x.sock", [ListenSpec(address: .unix("/run/x.sock"))], "unix"),
            ("@sieste-test", [ListenSpec(address: .abstract("sieste-test"))], "unix"),
            (
                "127.0.0.1:80 [::1]:80",
                [ListenSpec(address: ipv4("127.0.0.1", port: 80)), ListenSpec(address: ipv6("::1", port: 80))], "tcp"
            ),
        ] as [(String, [ListenSpec], String)])
    func listenForms(value: String, listen: [ListenSpec], protocolName: String) throws {
        let text = "service s\n{\n socket_type = stream\n wait = yes\n server = /bin/cat\n listen = \(value)\n}\n"
        let service = try #require(loadService(text))
        #expect(service.listen == listen)
        #expect(service.protocolName == protocolName)
        #expect(service.fdNames == [String](repeating: "s", count: listen.count))
    }

    @Test("flags IPv4 makes an IPv4 wildcard")
    func ipv4Flag() throws {
        let service = try #require(loadService(streamService("flags = IPv4")))
        #expect(service.listen == [ListenSpec(address: ipv4("0.0.0.0", port: 8080))])
    }

    @Test("flags IPv6 stays dual-stack unless v6only")
    func ipv6FlagDualStack() throws {
        let dual = try #require(loadService(streamService("flags = IPv6")))
        #expect(dual.listen == [ListenSpec(address: ipv6("::", port: 8080), v6only: false)])
        let only = try #require(loadService(streamService("flags = IPv6\nv6only = yes")))
        #expect(only.listen == [ListenSpec(address: ipv6("::", port: 8080), v6only: true)])
    }

    @Test("port without bind is a dual-stack wildcard")
    func portWithoutBind() throws {
        let text = "service s\n{\n socket_type = stream\n wait = no\n server = /bin/cat\n port = 2121\n}\n"
        let service = try #require(loadService(text))
        #expect(service.listen == [ListenSpec(address: ipv6("::", port: 2121), v6only: false)])
    }

    @Test(
        "port and bind",
        arguments: [
            ("bind = 127.0.0.1", ipv4("127.0.0.1", port: 2121)),
            ("interface = 127.0.0.1", ipv4("127.0.0.1", port: 2121)),
            ("bind = ::1", ipv6("::1", port: 2121)),
            ("bind = [::1]", ipv6("::1", port: 2121)),
            ("bind = localhost", ipv4("127.0.0.1", port: 2121)),
        ])
    func portAndBind(line: String, address: SocketAddress) throws {
        let text = "service s\n{\n socket_type = stream\n wait = no\n server = /bin/cat\n port = 2121\n \(line)\n}\n"
        let service = try #require(loadService(text))
        #expect(service.listen == [ListenSpec(address: address)])
    }

    @Test("port from /etc/services by name and protocol")
    func portFromServices() throws {
        let text = "service finger\n{\n socket_type = stream\n wait = no\n server = /bin/cat\n}\n"
        let service = try #require(loadService(text))
        #expect(service.listen == [ListenSpec(address: ipv6("::", port: 79), v6only: false)])
    }

    @Test("bind inherited from defaults")
    func bindFromDefaults() throws {
        let text = "defaults\n{\n bind = 127.0.0.1\n}\nservice finger\n{\n socket_type = stream\n wait = no\n server = /bin/cat\n}\n"
        let service = try #require(loadService(text))
        #expect(service.listen == [ListenSpec(address: ipv4("127.0.0.1", port: 79))])
    }

    @Test("server_args split on blanks")
    func serverArguments() throws {
        let service = try #require(loadService(streamService("server_args = -l  -v\t--x=1")))
        #expect(service.arguments == ["cat", "-l", "-v", "--x=1"])
    }

    @Test("NAMEINARGS takes argv[0] from server_args")
    func nameInArguments() throws {
        let service = try #require(loadService(streamService("flags = NAMEINARGS\nserver_args = in.fingerd -w")))
        #expect(service.server == "/bin/cat")
        #expect(service.arguments == ["in.fingerd", "-w"])
    }

    @Test("flags NODELAY KEEPALIVE REUSE")
    func socketFlags() throws {
        let service = try #require(loadService(streamService("flags = NODELAY KEEPALIVE REUSE")))
        #expect(service.noDelay)
        #expect(service.keepAlive)
        #expect(service.reuseAddress)
        let plain = try #require(loadService(streamService("")))
        #expect(!plain.noDelay)
        #expect(!plain.keepAlive)
    }

    @Test("ignored flags warn")
    func ignoredFlagsWarn() throws {
        let configuration = try #require(loadConfiguration(streamService("flags = NORETRY INTERCEPT")))
        #expect(configuration.warnings.count == 2)
        #expect(configuration.warnings.first?.message == "flag NORETRY is accepted but has no effect in sieste")
        #expect(configuration.warnings.first?.location.line == 7)
    }

    @Test("wait yes is handoff mode")
    func waitYesIsHandoff() throws {
        let service = try #require(loadService(streamService("handoff = listen_fds\nidle_timeout = 5m\nfd_names = http").replacingOccurrences(of: "wait        = no", with: "wait = yes")))
        #expect(service.wait)
        #expect(service.mode == .handoff)
        #expect(service.handoff == .listenFDs)
        #expect(service.idleTimeout == 300_000)
        #expect(service.fdNames == ["http"])
    }

    @Test("stderr targets", arguments: [("log", StderrTarget.log), ("inherit", .inherit), ("socket", .socket), ("null", .null)])
    func stderrTargets(text: String, target: StderrTarget) throws {
        let service = try #require(loadService(streamService("stderr = " + text)))
        #expect(service.stderr == target)
    }

    @Test("env then passenv")
    func environment() throws {
        let resolver = NameResolver.fake(environment: ["LANG": "C.UTF-8", "TZ": "UTC"])
        let text = streamService("env = A=1 B=two=2\npassenv = TZ MISSING LANG")
        let service = try #require(loadService(text, resolver: resolver))
        #expect(service.environment == ["A=1", "B=two=2", "TZ=UTC", "LANG=C.UTF-8"])
    }

    @Test("env -= removes by name")
    func environmentRemoval() throws {
        let text = "defaults\n{\n env = A=1 B=2\n}\n" + streamService("env -= A")
        let service = try #require(loadService(text))
        #expect(service.environment == ["B=2"])
    }

    @Test("user as root sets credentials")
    func userAsRoot() throws {
        let service = try #require(loadService(streamService("user = www-data")))
        #expect(service.credentials == Credentials(userName: "www-data", uid: 33, gid: 33, groups: [33]))
    }

    @Test("group overrides the primary group")
    func groupOverride() throws {
        let service = try #require(loadService(streamService("user = www-data\ngroup = staff")))
        #expect(service.credentials == Credentials(userName: "www-data", uid: 33, gid: 50, groups: [50]))
    }

    @Test("groups yes sets supplementary groups")
    func supplementaryGroups() throws {
        let service = try #require(loadService(streamService("user = alice\ngroups = yes")))
        #expect(service.credentials == Credentials(userName: "alice", uid: 1000, gid: 1000, groups: [1000, 50]))
    }

    @Test("groups yes inherited from defaults")
    func supplementaryGroupsFromDefaults() throws {
        let text = "defaults\n{\n groups = yes\n}\n" + streamService("user = alice")
        let service = try #require(loadService(text))
        #expect(service.credentials?.groups == [1000, 50])
    }

    @Test("numeric user with group")
    func numericUser() throws {
        let service = try #require(loadService(streamService("user = 4242\ngroup = 4243")))
        #expect(service.credentials == Credentials(userName: "4242", uid: 4242, gid: 4243, groups: [4243]))
    }

    @Test("current user without root keeps groups")
    func currentUserWithoutRoot() throws {
        let resolver = NameResolver.fake(isRoot: false, currentUID: 1000, currentGID: 1000)
        let service = try #require(loadService(streamService("user = alice"), resolver: resolver))
        #expect(service.credentials == Credentials(userName: "alice", uid: 1000, gid: 1000, groups: nil))
    }

    @Test("no user runs as sieste")
    func noUser() throws {
        let service = try #require(loadService(streamService("")))
        #expect(service.credentials == nil)
    }

    @Test("limits")
    func limits() throws {
        let service = try #require(loadService(streamService("instances = 30\nper_source = 4\ncps = 50 10\nbacklog = 64")))
        #expect(service.instances == 30)
        #expect(service.perSource == 4)
        #expect(service.connectionRate == RateLimit(connectionsPerSecond: 50, pause: 10_000))
        #expect(service.backlog == 64)
    }

    @Test("UNLIMITED instances")
    func unlimitedInstances() throws {
        let text = "defaults\n{\n instances = 10\n per_source = 3\n}\n" + streamService("instances = UNLIMITED\nper_source = unlimited")
        let service = try #require(loadService(text))
        #expect(service.instances == nil)
        #expect(service.perSource == nil)
    }

    @Test("instances inherited from defaults")
    func instancesFromDefaults() throws {
        let text = "defaults\n{\n instances = 10\n cps = 5 1m\n}\n" + streamService("")
        let service = try #require(loadService(text))
        #expect(service.instances == 10)
        #expect(service.connectionRate == RateLimit(connectionsPerSecond: 5, pause: 60_000))
    }

    @Test("stopping")
    func stopping() throws {
        let text = streamService("stop_signal = SIGINT\nstop_timeout = 2s\nstart_timeout = 250ms")
        let service = try #require(loadService(text))
        #expect(service.stopSignal == SIGINT)
        #expect(service.stopTimeout == 2_000)
        #expect(service.startTimeout == 250)
        let plain = try #require(loadService(streamService("")))
        #expect(plain.stopSignal == SIGTERM)
    }

    @Test("process settings")
    func processSettings() throws {
        let text = streamService(
            "nice = -5\numask = 027\nworking_directory = /srv\nrlimit_as = 8M\nrlimit_cpu = 20\nrlimit_files = UNLIMITED\nrlimit_stack = 64k\nrlimit_nproc = 100"
        )
        let service = try #require(loadService(text))
        #expect(service.nice == -5)
        #expect(service.umask == 0o027)
        #expect(service.workingDirectory == "/srv")
        #expect(service.resourceLimits == [
            ResourceLimit(resource: Int32(RLIMIT_AS.rawValue), soft: 8 << 20, hard: 8 << 20),
            ResourceLimit(resource: Int32(RLIMIT_CPU.rawValue), soft: 20, hard: 20),
            ResourceLimit(resource: Int32(RLIMIT_STACK.rawValue), soft: 64 << 10, hard: 64 << 10),
            ResourceLimit(resource: Int32(RLIMIT_NOFILE.rawValue), soft: UInt64.max, hard: UInt64.max),
            ResourceLimit(resource: Int32(__RLIMIT_NPROC.rawValue), soft: 100, hard: 100),
        ])
    }

    @Test("Unix socket ownership")
    func unixSocketOwnership() throws {
        let text = "service s\n{\n socket_type = stream\n wait = yes\n server = /bin/cat\n listen = /run/s.sock\n socket_mode = 0660\n socket_user = www-data\n socket_group = staff\n}\n"
        let service = try #require(loadService(text))
        #expect(service.socketMode == 0o660)
        #expect(service.socketOwner == 33)
        #expect(service.socketGroup == 50)
    }

    @Test("banner_fail")
    func bannerFail() throws {
        let service = try #require(loadService(streamService("banner_fail = /etc/hostname")))
        #expect(service.bannerFail == "/etc/hostname")
    }

    @Test(
        "redirect forms",
        arguments: [
            ("192.0.2.10 8080", ipv4("192.0.2.10", port: 8080)),
            ("backend.example 8080", ipv4("192.0.2.10", port: 8080)),
            ("127.0.0.1:8081", ipv4("127.0.0.1", port: 8081)),
            ("[::1]:8081", ipv6("::1", port: 8081)),
            ("localhost:8081", ipv4("127.0.0.1", port: 8081)),
            ("/run/backend.sock", .unix("/run/backend.sock")),
            ("@backend", .abstract("backend")),
        ])
    func redirectForms(value: String, address: SocketAddress) throws {
        let text = "service proxy\n{\n socket_type = stream\n wait = no\n listen = 8080\n redirect = \(value)\n}\n"
        let service = try #require(loadService(text))
        #expect(service.redirect == address)
        #expect(service.mode == .redirect)
        #expect(service.server == nil)
    }

    @Test("redirect with server is a lazy proxy")
    func lazyProxy() throws {
        let service = try #require(loadService(streamService("redirect = 127.0.0.1:18080\nidle_timeout = 10m")))
        #expect(service.mode == .lazyProxy)
        #expect(service.idleTimeout == 600_000)
    }

    @Test("INTERNAL services by name and by id", arguments: [
        ("echo", "echo-stream", BuiltinService.echo), ("chargen", "chargen-dgram", .chargen), ("daytime", "daytime", .daytime),
        ("my-clock", "time-stream", .time), ("discard", "whatever", .discard),
    ])
    func internalServices(name: String, id: String, builtin: BuiltinService) throws {
        let text = "service \(name)\n{\n type = INTERNAL UNLISTED\n id = \(id)\n socket_type = stream\n wait = no\n port = 7007\n user = root\n}\n"
        let service = try #require(loadService(text, resolver: .fake(isRoot: false)))
        #expect(service.builtin == builtin)
        #expect(service.mode == .builtin)
        #expect(service.server == nil)
        #expect(service.credentials == nil)
    }

    @Test("disable yes keeps the service aside")
    func disabledService() throws {
        let configuration = try #require(loadConfiguration(streamService("disable = yes")))
        #expect(configuration.services.isEmpty)
        #expect(configuration.disabledServices.map { $0.name } == ["web"])
    }

    @Test("DISABLE flag disables")
    func disableFlag() throws {
        let configuration = try #require(loadConfiguration(streamService("flags = DISABLE")))
        #expect(configuration.services.isEmpty)
        #expect(configuration.disabledServices.count == 1)
    }

    @Test("defaults disabled and enabled lists")
    func defaultsLists() throws {
        let services = streamService("", name: "a") + "\n" + streamService("id = b-id\nlisten = 8081", name: "b").replacingOccurrences(of: "listen      = 8080\n", with: "") + "\n"
            + streamService("listen = 8082", name: "c").replacingOccurrences(of: "listen      = 8080\n", with: "")
        let disabled = try #require(loadConfiguration("defaults\n{\n disabled = b-id\n}\n" + services))
        #expect(disabled.services.map { $0.name } == ["a", "c"])
        #expect(disabled.disabledServices.map { $0.name } == ["b"])

        let enabled = try #require(loadConfiguration("defaults\n{\n enabled = c\n enabled += b-id\n}\n" + services))
        #expect(enabled.services.map { $0.name } == ["b", "c"])
        #expect(enabled.disabledServices.map { $0.name } == ["a"])
    }

    @Test("list attributes with += and =")
    func listOperators() throws {
        let defaults = "defaults\n{\n only_from = 10.0.0.1\n only_from = 10.0.0.2\n}\n"
        let added = try #require(loadService(defaults + streamService("only_from += 10.0.0.3")))
        #expect(added.onlyFrom.map { $0.address } == [ipv4("10.0.0.1"), ipv4("10.0.0.2"), ipv4("10.0.0.3")])

        let replaced = try #require(loadService(defaults + streamService("only_from = 10.0.0.4\nonly_from = 10.0.0.5")))
        #expect(replaced.onlyFrom.map { $0.address } == [ipv4("10.0.0.4"), ipv4("10.0.0.5")])

        let removed = try #require(loadService(defaults + streamService("only_from -= 10.0.0.1")))
        #expect(removed.onlyFrom.map { $0.address } == [ipv4("10.0.0.2")])
    }

    @Test("ignored attributes warn once at their line")
    func ignoredAttributesWarn() throws {
        let text = "defaults\n{\n log_type = SYSLOG daemon info\n log_on_success = PID HOST\n}\n"
            + streamService("log_on_failure += HOST\naccess_times = 2:00-9:00\nbanner = /etc/issue\nmax_load = 2.5\nlibwrap = x\nmdns = yes\ndeny_time = 60\nbanner_success = /etc/motd")
        let configuration = try #require(loadConfiguration(text))
        let names = configuration.warnings.map { $0.message.split(separator: " ").first.map(String.init) ?? "" }
        #expect(names == [
            "log_type", "log_on_success", "log_on_failure", "access_times", "banner", "max_load", "libwrap", "mdns", "deny_time",
            "banner_success",
        ])
        #expect(configuration.warnings.first?.location.line == 3)
        #expect(configuration.warnings.first?.message.contains("has no effect") == true)
    }

    @Test("missing server program is a warning")
    func missingServerWarns() throws {
        let text = streamService("").replacingOccurrences(of: "/bin/cat", with: "/usr/sbin/sieste-no-such-daemon")
        let configuration = try #require(loadConfiguration(text))
        #expect(configuration.services.count == 1)
        #expect(configuration.warnings.map { $0.message } == [
            "server /usr/sbin/sieste-no-such-daemon does not exist; starting it will fail until it is installed"
        ])
        #expect(configuration.warnings.first?.location.line == 5)
    }

    @Test("service block with brace on the name line")
    func braceOnNameLine() throws {
        let service = try #require(loadService("service s {\n socket_type = stream\n wait = no\n server = /bin/cat\n port = 9000\n}\n"))
        #expect(service.listen.first?.address.port == 9000)
    }

    @Test("attribute without spaces around =")
    func compactStatement() throws {
        let service = try #require(loadService("service s\n{\nsocket_type=stream\nwait=no\nserver=/bin/cat\nport+=9000\n}\n".replacingOccurrences(of: "port+=", with: "port=")))
        #expect(service.listen.first?.address.port == 9000)
    }
}
