import Testing

@testable import SiesteCore

/// Every error is `FILE:LINE: message`, names the attribute and the value,
/// and states what is accepted.
@Suite("configuration errors")
struct ConfigErrorTests {
    /// The extra line of `streamService` is line 7 of the text.
    static let extraLine = 7

    @Test(
        "invalid values name the attribute, the value and what is accepted",
        arguments: [
            ("id = a\nid = b", "id is set twice in service web (first at line 7)"),
            ("disable = perhaps", "invalid value \"perhaps\" for disable: expected yes or no"),
            ("groups = 1", "invalid value \"1\" for groups: expected yes or no"),
            ("v6only = true", "invalid value \"true\" for v6only: expected yes or no"),
            ("handoff = fds", "invalid value \"fds\" for handoff: expected stdio or listen_fds"),
            ("stderr = syslog", "invalid value \"syslog\" for stderr: expected log, inherit, socket or null"),
            ("instances = 0", "invalid value \"0\" for instances: expected a number from 1 to 1000000 or UNLIMITED"),
            ("per_source = many", "invalid value \"many\" for per_source: expected a number from 1 to 1000000 or UNLIMITED"),
            ("cps = 0 10", "invalid value \"0\" for cps: expected connections per second from 1 to 1000000, then the pause in seconds"),
            ("cps = 10 x", "invalid value \"x\" for cps: expected a pause above zero after the rate, in seconds (10) or with a unit (10s, 1m)"),
            ("cps = 10", "wrong number of values for cps: expected exactly 2 values, got 1"),
            ("backlog = 0", "invalid value \"0\" for backlog: expected a number from 1 to 65535"),
            ("stop_signal = TERMINATE", "invalid value \"TERMINATE\" for stop_signal: expected a signal name such as TERM, SIGTERM, HUP, INT, QUIT or USR1, or a number from 1 to 64"),
            ("stop_timeout = soon", "invalid value \"soon\" for stop_timeout: expected a duration such as 90 (seconds), 30s, 5m, 1h or 250ms"),
            ("start_timeout = 0", "invalid value \"0\" for start_timeout: expected a duration above zero such as 90 (seconds), 30s, 5m, 1h or 250ms"),
            ("nice = 20", "invalid value \"20\" for nice: expected a number from -20 to 19"),
            ("umask = 0800", "invalid value \"0800\" for umask: expected an octal mask such as 022"),
            ("working_directory = srv", "invalid value \"srv\" for working_directory: expected an absolute path"),
            ("rlimit_as = 8Q", "invalid value \"8Q\" for rlimit_as: expected a number of bytes (K, M or G suffix allowed) or UNLIMITED"),
            ("rlimit_cpu = 5m", "invalid value \"5m\" for rlimit_cpu: expected a number of CPU seconds or UNLIMITED"),
            ("rlimit_files = -1", "invalid value \"-1\" for rlimit_files: expected a number or UNLIMITED"),
            ("env = NOEQUALS", "invalid value \"NOEQUALS\" for env: expected NAME=VALUE"),
            ("env = =x", "invalid value \"=x\" for env: expected NAME=VALUE"),
            ("passenv = A=B", "invalid value \"A=B\" for passenv: expected the name of a variable of sieste's environment, without ="),
            ("banner_fail = motd", "invalid value \"motd\" for banner_fail: expected the absolute path of a file"),
            ("flags = FAST", "invalid value \"FAST\" for flags: expected IPv4, IPv6, REUSE, NODELAY, KEEPALIVE, NAMEINARGS, DISABLE, INTERCEPT, NORETRY, IDONLY, NOLIBWRAP, SENSOR or LABELED"),
            ("flags = IPv4 IPv6", "flags IPv4 and IPv6 exclude each other: IPv6 sockets are dual-stack unless v6only = yes"),
            ("type = BOGUS", "invalid value \"BOGUS\" for type: expected INTERNAL or UNLISTED (RPC and TCPMUX are not supported)"),
            ("type = RPC", "type RPC is not supported: sieste does not register services with rpcbind"),
            ("type = TCPMUX", "type TCPMUX is not supported: sieste has no TCPMUX multiplexer; give the service its own port"),
            ("protocol = udp", "protocol udp does not match socket_type stream: use tcp, or leave protocol out"),
            ("protocol = sctp", "invalid value \"sctp\" for protocol: expected tcp, udp or unix"),
            ("user = mallory", "unknown user \"mallory\" for user: expected a user name from the user database or a numeric uid"),
            ("user = www-data\ngroup = wheel", "unknown group \"wheel\" for group: expected a group name from the group database or a numeric gid"),
            ("group = staff", "group needs user in service web: set user as well"),
            ("user = 4242", "user 4242 is not in the user database, so its group is unknown: set group as well"),
            ("socket_mode = 0660", "socket_mode applies only to Unix socket paths in listen, and service web has none"),
            ("fd_names = a b", "fd_names has 2 names but service web listens on 1 addresses: give one name per address"),
            ("fd_names = a:b", "invalid value \"a:b\" for fd_names: expected names without \":\" of at most 255 bytes"),
            ("port = 80", "port and listen cannot both be set in service web: put the address in listen"),
            ("bind = 127.0.0.1", "bind and listen cannot both be set in service web: put the address in listen"),
            ("idle_timeout = 5m", "idle_timeout applies only to wait = yes services and to redirect with server (a lazy proxy); service web starts one process per connection"),
            ("sevrer = /bin/true", "unknown attribute \"sevrer\" in service web (did you mean \"server\"?)"),
            ("colour = blue", "unknown attribute \"colour\" in service web"),
            ("wait += yes", "operator += is not allowed for wait: only env, passenv, only_from, no_access, disabled, enabled, log_type, log_on_success or log_on_failure accept += and -="),
            ("disabled = web", "disabled is only allowed in defaults, not in service web"),
            ("wait", "invalid line \"wait\" in service web: expected ATTRIBUTE = VALUE..., += or -="),
        ])
    func invalidValue(line: String, message: String) {
        let errors = loadErrors(streamService(line))
        #expect(errors.map { $0.message } == [message])
        #expect(errors.first?.location.file == testFile)
        let lastLine = Self.extraLine + line.split(separator: "\n").count - 1
        #expect(errors.first?.location.line == lastLine)
        #expect(errors.first?.text == testFile + ":" + String(lastLine) + ": " + message)
    }

    @Test(
        "listen errors",
        arguments: [
            ("listen = 0", "invalid value \"0\" for listen: expected a port (8080), ADDRESS:PORT (127.0.0.1:8080, [::1]:8080), a socket path (/run/x.sock) or @name"),
            ("listen = 70000", "invalid value \"70000\" for listen: expected a port (8080), ADDRESS:PORT (127.0.0.1:8080, [::1]:8080), a socket path (/run/x.sock) or @name"),
            ("listen = example.org:80", "invalid value \"example.org:80\" for listen: expected a port (8080), ADDRESS:PORT (127.0.0.1:8080, [::1]:8080), a socket path (/run/x.sock) or @name; host names are not accepted"),
            ("listen = @", "invalid value \"@\" for listen: expected an abstract socket name of 1 to 106 bytes after @"),
            ("listen = 80 80", "listen names [::]:80 twice in service s"),
            ("listen = /run/a.sock 80", "listen mixes socket paths and IP addresses in service s: use one service for each"),
            ("listen = [::1]:80\nflags = IPv4", "listen [::1]:80 is an IPv6 address but flags has IPv4"),
            ("listen = 127.0.0.1:80\nflags = IPv6", "listen 127.0.0.1:80 is an IPv4 address but flags has IPv6"),
            ("port = 0", "invalid value \"0\" for port: expected a port number from 1 to 65535"),
            ("port = 80\nbind = nowhere.invalid", "cannot resolve host \"nowhere.invalid\" for bind: expected an IP address or a resolvable host name"),
            ("port = 80\ninterface = nowhere.invalid", "cannot resolve host \"nowhere.invalid\" for interface: expected an IP address or a resolvable host name"),
            ("listen = 9000\nredirect = nowhere.invalid 80", "cannot resolve host \"nowhere.invalid\" for redirect: expected an IP address or a resolvable host name"),
            ("listen = 9000\nredirect = 127.0.0.1 http", "invalid value \"http\" for redirect: expected a port number from 1 to 65535 after the host"),
            ("listen = 9000\nredirect = 8080", "invalid value \"8080\" for redirect: expected HOST PORT, ADDRESS:PORT ([::1]:8080), a socket path (/run/x.sock) or @name"),
        ])
    func listenErrors(lines: String, message: String) {
        let text = "service s\n{\n socket_type = stream\n wait = no\n server = /bin/cat\n" + lines + "\n}\n"
        let errors = loadErrors(text)
        #expect(errors.map { $0.message } == [message])
        #expect(errors.first?.location.line ?? 0 >= 6)
    }

    @Test("invalid wait value")
    func invalidWait() {
        let errors = loadErrors("service ftp\n{\n socket_type = stream\n server = /bin/cat\n wait = maybe\n}\n")
        #expect(errors.map { $0.text } == [testFile + ":5: invalid value \"maybe\" for wait: expected yes or no"])
    }

    @Test("missing attributes are reported at the service line")
    func missingAttributes() {
        let errors = loadErrors("# comment\nservice finger\n{\n port = 79\n}\n")
        #expect(errors.map { $0.text } == [
            testFile + ":2: socket_type is missing in service finger: expected stream, dgram or seqpacket",
            testFile + ":2: wait is missing in service finger: expected yes or no",
            testFile + ":2: server is missing in service finger: expected the absolute path of the program to start",
        ])
    }

    @Test("relative server path")
    func relativeServer() {
        let errors = loadErrors(streamService("").replacingOccurrences(of: "/bin/cat", with: "bin/cat"))
        #expect(errors.map { $0.message } == ["invalid value \"bin/cat\" for server: expected an absolute path such as /usr/sbin/in.fingerd"])
        #expect(errors.first?.location.line == 5)
    }

    @Test("unknown service port")
    func unknownServicePort() {
        let errors = loadErrors("service gopher\n{\n socket_type = stream\n wait = no\n server = /bin/cat\n}\n")
        #expect(errors.map { $0.text } == [testFile + ":1: service gopher is not in /etc/services for tcp: set port or listen"])
    }

    @Test("UNLISTED needs port or listen")
    func unlistedNeedsPort() {
        let errors = loadErrors("service finger\n{\n type = UNLISTED\n socket_type = stream\n wait = no\n server = /bin/cat\n}\n")
        #expect(errors.map { $0.message } == ["service finger is UNLISTED and needs port or listen"])
    }

    @Test("NAMEINARGS needs server_args")
    func nameInArgumentsNeedsArguments() {
        let errors = loadErrors(streamService("flags = NAMEINARGS"))
        #expect(errors.map { $0.message } == ["flags NAMEINARGS needs server_args to start with argv[0], but server_args is empty"])
        #expect(errors.first?.location.line == 7)
    }

    @Test("redirect needs stream and wait no")
    func redirectNeedsStreamNoWait() {
        let text = "service s\n{\n socket_type = dgram\n wait = yes\n listen = 5353\n redirect = 127.0.0.1 53\n}\n"
        let errors = loadErrors(text)
        #expect(errors.map { $0.message } == ["redirect needs socket_type = stream and wait = no in service s"])
        #expect(errors.first?.location.line == 6)
    }

    @Test("unknown builtin")
    func unknownBuiltin() {
        let text = "service servers\n{\n type = INTERNAL UNLISTED\n socket_type = stream\n wait = no\n port = 9099\n}\n"
        let errors = loadErrors(text)
        #expect(errors.map { $0.message } == [
            "no builtin service named \"servers\" (id \"servers\") for type = INTERNAL: sieste provides echo, discard, chargen, daytime and time"
        ])
        #expect(errors.first?.location.line == 3)
    }

    @Test("another user without root")
    func otherUserWithoutRoot() {
        let resolver = NameResolver.fake(isRoot: false, currentUID: 1000, currentGID: 1000)
        let errors = loadErrors(streamService("user = www-data"), resolver: resolver)
        #expect(errors.map { $0.message } == ["user www-data (uid 33) needs sieste to run as root; sieste runs as uid 1000"])
        let groupErrors = loadErrors(streamService("user = alice\ngroup = staff"), resolver: resolver)
        #expect(groupErrors.map { $0.message } == ["group staff (gid 50) needs sieste to run as root; sieste runs as gid 1000"])
    }

    @Test("duplicate service ids")
    func duplicateIDs() {
        let text = streamService("", name: "a") + "\n" + streamService("id = a\nlisten = 8081", name: "b").replacingOccurrences(of: "listen      = 8080\n", with: "")
        let errors = loadErrors(text)
        #expect(errors.map { $0.text } == [testFile + ":9: duplicate service id \"a\", also used at " + testFile + ":1: set a distinct id in one of them"])
    }

    @Test(
        "listen conflicts name both services",
        arguments: [
            ("8080", "8080", true), ("8080", "127.0.0.1:8080", true), ("127.0.0.1:8080", "127.0.0.1:8080", true),
            ("127.0.0.1:8080", "127.0.0.2:8080", false), ("8080", "8081", false), ("/run/a.sock", "/run/a.sock", true),
            ("@a", "@a", true), ("@a", "/run/a", false),
        ])
    func listenConflicts(first: String, second: String, conflicts: Bool) {
        let text = "service a\n{\n socket_type = stream\n wait = no\n server = /bin/cat\n listen = \(first)\n}\n"
            + "service b\n{\n socket_type = stream\n wait = no\n server = /bin/cat\n listen = \(second)\n}\n"
        do {
            _ = try ConfigurationLoader(resolver: .fake()).load(text: text, file: testFile)
            #expect(!conflicts)
        } catch {
            #expect(conflicts)
            #expect(error.diagnostics.count == 1)
            #expect(error.diagnostics.first?.location.line == 8)
            #expect(error.diagnostics.first?.message.contains("service b listens on") == true)
            #expect(error.diagnostics.first?.message.contains("which service a at " + testFile + ":1 already uses") == true)
        }
    }

    @Test("tcp and udp on the same port do not conflict")
    func tcpAndUDPShareAPort() {
        let text = "service a\n{\n socket_type = stream\n wait = no\n server = /bin/cat\n listen = 7000\n}\n"
            + "service b\n{\n socket_type = dgram\n wait = yes\n server = /bin/cat\n listen = 7000\n}\n"
        #expect(loadConfiguration(text)?.services.count == 2)
    }

    @Test("IPv4-only and IPv6-only wildcards do not conflict")
    func separateFamiliesShareAPort() {
        let text = "service a\n{\n socket_type = stream\n wait = no\n server = /bin/cat\n listen = 7000\n flags = IPv4\n}\n"
            + "service b\n{\n socket_type = stream\n wait = no\n server = /bin/cat\n listen = 7000\n v6only = yes\n}\n"
        #expect(loadConfiguration(text)?.services.count == 2)
    }

    @Test("every error is collected")
    func everyErrorCollected() {
        let text = streamService("wait = maybe\nsevrer = /bin/true\nnice = 99", name: "one") + "\n"
            + streamService("stderr = loud\nlisten = 9090", name: "two").replacingOccurrences(of: "listen      = 8080\n", with: "")
        let errors = loadErrors(text)
        #expect(errors.map { $0.location.line } == [7, 8, 9, 16])
        #expect(errors.count == 4)
    }

    @Test(
        "block syntax errors",
        arguments: [
            ("service a\nsocket_type = stream\n", 2, "expected \"{\" on the line after \"service a\""),
            ("service a\n{\n wait = no\n", 1, "missing \"}\" to close \"service a\" before the end of the file"),
            ("}\n", 1, "unexpected \"}\" outside a block"),
            ("wait = no\n", 1, "unexpected line \"wait = no\" outside a block: expected service NAME, defaults, include PATH or includedir DIRECTORY"),
            ("service\n{\n}\n", 1, "expected \"service NAME\", got \"service\""),
            ("service a b\n{\n}\n", 1, "expected \"service NAME\", got \"service a b\""),
            ("include\n", 1, "expected \"include PATH\", got \"include\""),
            ("defaults\n", 1, "expected \"{\" after \"defaults\", found the end of the file"),
        ])
    func blockSyntaxErrors(text: String, line: Int, message: String) {
        let errors = loadErrors(text, format: .xinetd)
        #expect(errors.first?.message == message)
        #expect(errors.first?.location.line == line)
    }

    @Test("forgotten closing brace is reported and parsing goes on")
    func forgottenBrace() {
        let text = "service a\n{\n socket_type = stream\nservice b\n{\n wait = maybe\n}\n"
        let errors = loadErrors(text)
        #expect(errors.first?.text == testFile + ":1: missing \"}\" to close \"service a\" before line 4")
        #expect(errors.contains { $0.message == "invalid value \"maybe\" for wait: expected yes or no" && $0.location.line == 6 })
    }

    @Test("defaults-only and service-only attributes")
    func attributeScopes() {
        let errors = loadErrors("defaults\n{\n server = /bin/cat\n}\n")
        #expect(errors.map { $0.text } == [testFile + ":3: server is not allowed in defaults: set it in each service"])
    }

    @Test("second defaults block")
    func secondDefaults() {
        let errors = loadErrors("defaults\n{\n}\ndefaults\n{\n}\n")
        #expect(errors.map { $0.text } == [
            testFile + ":4: a second defaults block is not allowed (the first is at " + testFile + ":1): merge them"
        ])
    }

    @Test("problems of a disabled service are warnings")
    func disabledServiceProblemsAreWarnings() throws {
        let configuration = try #require(loadConfiguration(streamService("disable = yes\nuser = mallory")))
        #expect(configuration.disabledServices.count == 1)
        #expect(configuration.warnings.map { $0.message } == [
            "unknown user \"mallory\" for user: expected a user name from the user database or a numeric uid (ignored because service web is disabled)"
        ])
    }

    @Test("unknown attribute in a disabled service is still an error")
    func unknownAttributeInDisabledService() {
        let errors = loadErrors(streamService("disable = yes\nsevrer = /bin/true"))
        #expect(errors.map { $0.message } == ["unknown attribute \"sevrer\" in service web (did you mean \"server\"?)"])
    }
}
