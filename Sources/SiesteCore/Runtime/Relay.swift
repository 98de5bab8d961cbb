import CSieste

/// One proxied connection: bytes move client → backend and backend →
/// client through a pipe each, with splice(2), so they never enter
/// sieste's memory. EOF on one side shuts down the write side of the other
/// while the opposite direction keeps flowing (half-close).
final class Relay {
    /// One direction of the copy.
    struct Direction {
        let source: FileDescriptor
        let destination: FileDescriptor
        let pipeRead: FileDescriptor
        let pipeWrite: FileDescriptor
        var buffered = 0
        var sourceDone = false
        var shutDown = false
    }

    /// Bytes moved per splice call; a pipe holds 64 KiB by default.
    static let chunk = 1 << 16

    // Strong (Embedded Swift has no unowned); the service drops the relay
    // from its table when the relay closes, which ends the cycle.
    let service: ServiceRuntime
    let client: FileDescriptor
    let backend: FileDescriptor
    var upstream: Direction
    var downstream: Direction
    var connected: Bool
    var clientToken: UInt64 = 0
    var backendToken: UInt64 = 0
    var closed = false

    init(service: ServiceRuntime, client: FileDescriptor, backend: FileDescriptor, connected: Bool) throws(SystemError) {
        self.service = service
        self.client = client
        self.backend = backend
        self.connected = connected
        let up = try makePipe(nonBlocking: true)
        let down: (read: FileDescriptor, write: FileDescriptor)
        do throws(SystemError) {
            down = try makePipe(nonBlocking: true)
        } catch {
            up.read.close()
            up.write.close()
            throw error
        }
        upstream = Direction(source: client, destination: backend, pipeRead: up.read, pipeWrite: up.write)
        downstream = Direction(source: backend, destination: client, pipeRead: down.read, pipeWrite: down.write)
        // Edge-triggered: pump() moves data until the kernel returns EAGAIN,
        // so no epoll_ctl call is needed as the directions fill and drain.
        let events: IOEvents = [.readable, .writable, .readHangup, IOEvents(rawValue: EPOLLET.rawValue)]
        do throws(SystemError) {
            clientToken = try service.daemon.register(client, events: events, as: .relay(self))
            backendToken = try service.daemon.register(backend, events: events, as: .relay(self))
        } catch {
            if clientToken != 0 { service.daemon.unregister(clientToken, client) }
            for fd in [up.read, up.write, down.read, down.write] { fd.close() }
            throw error
        }
    }

    /// Moves what can be moved in both directions; closes the relay when
    /// both are finished or either fails.
    func pump() {
        if closed { return }
        if !connected {
            let error = Socket.pendingError(backend)
            if error != 0 {
                service.logRefusal(peer: service.config.redirect?.text ?? "backend",
                                   reason: "backend connect failed: " + errnoDescription(error))
                close()
                return
            }
            guard Socket.isConnected(backend) else { return }
            connected = true
        }
        if !Relay.move(&upstream) || !Relay.move(&downstream) {
            close()
            return
        }
        if upstream.shutDown && downstream.shutDown { close() }
    }

    /// Copies until both ends would block; false on a connection error.
    private static func move(_ direction: inout Direction) -> Bool {
        while true {
            var moved = false
            if !direction.sourceDone && direction.buffered < chunk {
                let count = csieste_splice(direction.source.rawValue, direction.pipeWrite.rawValue,
                                           chunk - direction.buffered)
                if count > 0 {
                    direction.buffered += count
                    moved = true
                } else if count == 0 {
                    direction.sourceDone = true
                } else {
                    let code = csieste_errno()
                    if code != EAGAIN && code != EINTR { return false }
                }
            }
            if direction.buffered > 0 {
                let count = csieste_splice(direction.pipeRead.rawValue, direction.destination.rawValue,
                                           direction.buffered)
                if count > 0 {
                    direction.buffered -= count
                    moved = true
                } else if count < 0 {
                    let code = csieste_errno()
                    if code != EAGAIN && code != EINTR { return false }
                }
            }
            if direction.sourceDone && direction.buffered == 0 && !direction.shutDown {
                Socket.shutdownWrite(direction.destination)
                direction.shutDown = true
            }
            if !moved { return true }
        }
    }

    func close() {
        if closed { return }
        closed = true
        service.daemon.unregister(clientToken, client)
        service.daemon.unregister(backendToken, backend)
        for fd in [client, backend, upstream.pipeRead, upstream.pipeWrite, downstream.pipeRead, downstream.pipeWrite] {
            fd.close()
        }
        service.relayClosed(self)
    }
}
