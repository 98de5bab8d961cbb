import Foundation
import Testing

@testable import SiesteCore

@Suite("include and includedir")
struct ConfigIncludeTests {
    static func service(_ name: String, port: Int) -> String {
        "service \(name)\n{\n socket_type = stream\n wait = no\n server = /bin/cat\n port = \(port)\n}\n"
    }

    @Test("includedir reads files in C-locale order and skips dots and tildes")
    func includeDirectoryRules() throws {
        let directory = try TemporaryDirectory()
        try directory.write("conf.d/b", Self.service("b", port: 7002))
        try directory.write("conf.d/B", Self.service("upper", port: 7003))
        try directory.write("conf.d/a", Self.service("a", port: 7001))
        try directory.write("conf.d/a~", Self.service("backup", port: 7004))
        try directory.write("conf.d/c.dpkg-old", Self.service("old", port: 7005))
        try directory.write("conf.d/.hidden", Self.service("hidden", port: 7006))
        try FileManager.default.createDirectory(atPath: directory.path + "/conf.d/subdir", withIntermediateDirectories: true)
        let main = try directory.write("main.conf", "defaults\n{\n instances = 5\n}\nincludedir conf.d\n")

        let configuration = try ConfigurationLoader(resolver: .fake()).load(paths: [main])
        #expect(configuration.services.map { $0.name } == ["upper", "a", "b"])
        #expect(configuration.services.allSatisfy { $0.instances == 5 })
        #expect(configuration.services.first?.location.file == directory.path + "/conf.d/B")
    }

    @Test("include reads a file relative to the including one")
    func includeRelative() throws {
        let directory = try TemporaryDirectory()
        try directory.write("extra/one.conf", Self.service("one", port: 7101))
        let main = try directory.write("main.conf", Self.service("zero", port: 7100) + "include extra/one.conf\n")
        let configuration = try ConfigurationLoader(resolver: .fake()).load(paths: [main])
        #expect(configuration.services.map { $0.name } == ["zero", "one"])
    }

    @Test("errors in included files name that file")
    func errorsNameIncludedFile() throws {
        let directory = try TemporaryDirectory()
        let included = try directory.write("d/bad", "service bad\n{\n socket_type = stream\n wait = sometimes\n server = /bin/cat\n port = 7200\n}\n")
        let main = try directory.write("main.conf", "includedir d\n")
        do {
            _ = try ConfigurationLoader(resolver: .fake()).load(paths: [main])
            Issue.record("expected an error")
        } catch {
            #expect(error.diagnostics.map { $0.text } == [included + ":4: invalid value \"sometimes\" for wait: expected yes or no"])
        }
    }

    @Test("missing include is an error at the directive")
    func missingInclude() throws {
        let directory = try TemporaryDirectory()
        let main = try directory.write("main.conf", "# first\ninclude /nonexistent/sieste.conf\nincludedir /nonexistent/dir\n")
        do {
            _ = try ConfigurationLoader(resolver: .fake()).load(paths: [main])
            Issue.record("expected an error")
        } catch {
            #expect(error.diagnostics.map { $0.text } == [
                main + ":2: cannot read included file /nonexistent/sieste.conf: No such file or directory",
                main + ":3: cannot read directory /nonexistent/dir: No such file or directory",
            ])
        }
    }

    @Test("missing configuration file")
    func missingFile() {
        do {
            _ = try ConfigurationLoader(resolver: .fake()).load(paths: ["/nonexistent/sieste.conf"])
            Issue.record("expected an error")
        } catch {
            // A problem with the whole file carries no line number.
            #expect(error.diagnostics.map { $0.text } == ["/nonexistent/sieste.conf: cannot read configuration file: No such file or directory"])
        }
    }

    @Test("include cycle is reported")
    func includeCycle() throws {
        let directory = try TemporaryDirectory()
        let first = directory.path + "/first.conf"
        let second = try directory.write("second.conf", "include " + first + "\n")
        try directory.write("first.conf", "include " + second + "\n")
        do {
            _ = try ConfigurationLoader(resolver: .fake()).load(paths: [first])
            Issue.record("expected an error")
        } catch {
            #expect(error.diagnostics.map { $0.text } == [second + ":1: include of " + first + " makes a cycle: it is already being read"])
        }
    }

    @Test("several paths load together")
    func severalPaths() throws {
        let directory = try TemporaryDirectory()
        let first = try directory.write("one.conf", Self.service("one", port: 7301))
        let second = try directory.write("two.conf", "finger stream tcp nowait nobody /bin/cat in.fingerd\n")
        let configuration = try ConfigurationLoader(resolver: .fake()).load(paths: [first, second])
        #expect(configuration.services.map { $0.name } == ["one", "finger"])
        #expect(configuration.services.last?.arguments == ["in.fingerd"])
    }
}
