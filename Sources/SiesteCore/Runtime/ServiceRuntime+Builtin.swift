import CSieste

/// `type = INTERNAL` services of RFC 862 to 868, answered inside sieste.
extension ServiceRuntime {
    static func supportsBuiltin(_ config: ServiceConfig) -> Bool {
        config.builtin != nil && (config.socketKind == .stream || config.socketKind == .dgram)
    }

    /// Open builtin stream connections are capped at `instances`, else at
    /// this many, so a flood cannot pile up descriptors in sieste.
    static let builtinConnectionCap = 256

    func builtinReady(_ listener: Listener) {
        guard let builtin = config.builtin else { return }
        if listener.kind == .dgram {
            answerDatagrams(builtin, on: listener)
            return
        }
        acceptBatch(from: listener, nonBlocking: true) { client, _ in
            switch builtin {
            case .daytime, .time:
                let reply = BuiltinReplies.reply(for: builtin)
                _ = reply.withUnsafeBytes { CSieste.write(client.rawValue, $0.baseAddress, $0.count) }
                client.close()
            case .echo, .discard, .chargen:
                do throws(SystemError) {
                    let connection = BuiltinConnection(service: self, fd: client, builtin: builtin)
                    let events: IOEvents = builtin == .chargen ? [.readable, .writable] : [.readable]
                    connection.token = try daemon.register(client, events: events, as: .builtin(connection))
                    builtinConnections[ObjectIdentifier(connection)] = connection
                } catch {
                    client.close()
                    logAcceptError(error)
                }
            }
            if builtinConnections.count >= (config.instances ?? ServiceRuntime.builtinConnectionCap) {
                setWatching(false)
                return .stop
            }
            return .next
        }
    }

    /// Answers up to a batch of datagrams. Echo and chargen never answer a
    /// source port below 1024, so that two such services cannot be made to
    /// bounce datagrams at each other.
    private func answerDatagrams(_ builtin: BuiltinService, on listener: Listener) {
        var buffer = [UInt8](repeating: 0, count: 8192)
        for _ in 0..<32 {
            var sender = csieste_addr()
            let count = buffer.withUnsafeMutableBytes {
                csieste_recvfrom(listener.fd.rawValue, $0.baseAddress, $0.count, &sender)
            }
            if count < 0 { return }
            let peer = SocketAddress(sender).unmapped
            if admissionRefusal(peer: peer) != nil { continue }
            let reply: [UInt8]
            switch builtin {
            case .discard:
                continue
            case .echo:
                if (peer.port ?? 0) < 1024 { continue }
                reply = Array(buffer[0..<count])
            case .chargen:
                if (peer.port ?? 0) < 1024 { continue }
                reply = BuiltinReplies.chargenLines(startingAt: 0, count: 7)
            case .daytime, .time:
                reply = BuiltinReplies.reply(for: builtin)
            }
            _ = reply.withUnsafeBytes { csieste_sendto(listener.fd.rawValue, $0.baseAddress, $0.count, &sender) }
        }
    }

    func builtinClosed(_ connection: BuiltinConnection) {
        builtinConnections[ObjectIdentifier(connection)] = nil
        setWatching(wantsWatching)
    }
}

/// The fixed answers of the builtin services.
enum BuiltinReplies {
    static func reply(for builtin: BuiltinService) -> [UInt8] {
        switch builtin {
        case .daytime:
            var text = [UInt8](repeating: 0, count: 64)
            let length = text.withUnsafeMutableBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { csieste_daytime($0.baseAddress, 64) }
            }
            return Array(text[0..<Int(length)])
        case .time:
            // RFC 868: seconds since 1900-01-01, 32 bits, network order.
            let seconds = UInt32(truncatingIfNeeded: csieste_wallclock_seconds() + 2_208_988_800)
            return [UInt8(seconds >> 24), UInt8((seconds >> 16) & 0xff), UInt8((seconds >> 8) & 0xff), UInt8(seconds & 0xff)]
        case .echo, .discard, .chargen:
            return []
        }
    }

    /// RFC 864 lines: 72 printable characters rotating by one per line.
    static func chargenLines(startingAt first: Int, count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count * 74)
        for line in 0..<count {
            let start = (first + line) % 95
            for column in 0..<72 { bytes.append(UInt8(32 + (start + column) % 95)) }
            bytes.append(0x0d)
            bytes.append(0x0a)
        }
        return bytes
    }
}

/// One client of a builtin echo, discard or chargen stream service.
final class BuiltinConnection {
    let service: ServiceRuntime
    let fd: FileDescriptor
    let builtin: BuiltinService
    var token: UInt64 = 0
    /// Echo bytes not yet written back.
    private var pending: [UInt8] = []
    private var chargenLine = 0
    private var closed = false
    /// The client has shut down its sending side; echo still writes back
    /// what it read before closing.
    private var clientFinished = false

    init(service: ServiceRuntime, fd: FileDescriptor, builtin: BuiltinService) {
        self.service = service
        self.fd = fd
        self.builtin = builtin
    }

    func handle(_ events: IOEvents) {
        if closed { return }
        if !clientFinished && (events.contains(.readable) || events.contains(.hangup) || events.contains(.error)) {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = buffer.withUnsafeMutableBytes { CSieste.read(fd.rawValue, $0.baseAddress, $0.count) }
            if count < 0 && csieste_errno() != EAGAIN && csieste_errno() != EINTR {
                close()
                return
            }
            if count == 0 {
                clientFinished = true
                if builtin != .echo || pending.isEmpty {
                    close()
                    return
                }
            }
            if count > 0 && builtin == .echo { pending.append(contentsOf: buffer[0..<count]) }
        }
        if builtin == .chargen && pending.isEmpty {
            pending = BuiltinReplies.chargenLines(startingAt: chargenLine, count: 32)
            chargenLine = (chargenLine + 32) % 95
        }
        if !pending.isEmpty {
            let written = pending.withUnsafeBytes { CSieste.write(fd.rawValue, $0.baseAddress, $0.count) }
            if written < 0 && csieste_errno() != EAGAIN && csieste_errno() != EINTR {
                close()
                return
            }
            if written > 0 { pending.removeFirst(written) }
        }
        if clientFinished && pending.isEmpty {
            close()
            return
        }
        // Echo stops reading while a reply waits, so a client that sends
        // without reading cannot make sieste buffer without bound.
        var wanted: IOEvents = []
        if builtin == .chargen || !pending.isEmpty { wanted.insert(.writable) }
        if !clientFinished && (pending.isEmpty || builtin == .chargen) { wanted.insert(.readable) }
        try? service.daemon.epoll.modify(fd, events: wanted, token: token)
    }

    func close() {
        if closed { return }
        closed = true
        service.daemon.unregister(token, fd)
        fd.close()
        service.builtinClosed(self)
    }
}
