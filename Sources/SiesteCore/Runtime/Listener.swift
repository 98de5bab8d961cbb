/// A bound listening socket of a service, watched by the loop while the
/// service wants new clients.
public final class Listener {
    public let fd: FileDescriptor
    public let spec: ListenSpec
    public let kind: SocketKind
    /// The epoll token while registered, nil while not watched.
    var token: UInt64?

    init(fd: FileDescriptor, spec: ListenSpec, kind: SocketKind) {
        self.fd = fd
        self.spec = spec
        self.kind = kind
    }

    /// Whether another service's listener for the same address can be
    /// handed over unchanged on reload.
    func matches(_ other: ListenSpec, kind otherKind: SocketKind) -> Bool {
        spec == other && kind == otherKind
    }
}
