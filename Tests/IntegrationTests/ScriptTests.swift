import Foundation
import Testing

/// examples/script: what a per-connection service receives from sieste.
@Suite("script per connection", .timeLimit(.minutes(2)))
struct ScriptTests {
    @Test("script sees the peer and only fds 0 to 2")
    func environmentAndDescriptors() throws {
        let example = try ExampleCopy("script")
        let port = try Ports.free()
        try example.movePort(7070, to: port)

        let sieste = try Sieste.serve(configs: [example.config], in: example.root)
        let exchange = try tcpExchange(port: port)
        let context = "\(exchange.text)\n--- sieste ---\n\(sieste.stderrText)"
        try #require(exchange.end == .eof, "the script's exit must close the connection: \(context)")

        var environment: [String: String] = [:]
        var descriptors: [String: String] = [:]
        for line in exchange.text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("fd "), let arrow = line.range(of: " -> ") {
                descriptors[String(line[line.index(line.startIndex, offsetBy: 3)..<arrow.lowerBound])] = String(line[arrow.upperBound...])
            } else if let equals = line.firstIndex(of: "=") {
                environment[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
        }

        let clientPort = String(exchange.clientPort)
        #expect(environment["REMOTE_ADDR"] == "127.0.0.1", "\(context)")
        #expect(environment["REMOTE_PORT"] == clientPort, "\(context)")
        #expect(environment["REMOTE_HOST"] == "127.0.0.1", "\(context)")
        #expect(environment["PROTO"] == "TCP", "\(context)")
        #expect(environment["TCPREMOTEIP"] == "127.0.0.1", "\(context)")
        #expect(environment["TCPREMOTEPORT"] == clientPort, "\(context)")
        #expect(environment["TCPLOCALIP"] == "127.0.0.1", "\(context)")
        #expect(environment["TCPLOCALPORT"] == String(port), "\(context)")

        #expect(Set(descriptors.keys) == ["0", "1", "2"], "descriptors other than 0, 1 and 2 leaked: \(context)")
        #expect(descriptors["0"]?.hasPrefix("socket:") == true, "\(context)")
        #expect(descriptors["1"] == descriptors["0"], "\(context)")
        #expect(descriptors["2"]?.hasPrefix("pipe:") == true, "stderr = log gives fd 2 a pipe: \(context)")

        let started = try sieste.waitFor("started service=peer-info") {
            $0.event == "started" && $0["service"] == "peer-info"
        }
        #expect(started["peer"] == "127.0.0.1:\(clientPort)")
        #expect(try sieste.stop() == 0)
    }
}
