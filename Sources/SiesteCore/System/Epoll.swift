import CSieste

/// Readiness bits of epoll(7).
public struct IOEvents: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let readable = IOEvents(rawValue: EPOLLIN.rawValue)
    public static let writable = IOEvents(rawValue: EPOLLOUT.rawValue)
    public static let readHangup = IOEvents(rawValue: EPOLLRDHUP.rawValue)
    public static let hangup = IOEvents(rawValue: EPOLLHUP.rawValue)
    public static let error = IOEvents(rawValue: EPOLLERR.rawValue)
}

/// One epoll instance. Registrations carry a token that is never reused,
/// so an event that arrives for a descriptor closed earlier in the same
/// batch finds no owner and is dropped.
public final class Epoll {
    public let fd: FileDescriptor

    public init() throws(SystemError) {
        let raw = try retryingInterrupts("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        fd = FileDescriptor(raw)
    }

    deinit { fd.close() }

    /// Adds a descriptor (epoll_ctl(2) EPOLL_CTL_ADD).
    public func add(_ target: FileDescriptor, events: IOEvents, token: UInt64) throws(SystemError) {
        if csieste_epoll_ctl(fd.rawValue, EPOLL_CTL_ADD, target.rawValue, events.rawValue, token) < 0 {
            throw SystemError("epoll_ctl add", subject: "fd " + String(target.rawValue))
        }
    }

    /// Changes the events of a registered descriptor (EPOLL_CTL_MOD).
    public func modify(_ target: FileDescriptor, events: IOEvents, token: UInt64) throws(SystemError) {
        if csieste_epoll_ctl(fd.rawValue, EPOLL_CTL_MOD, target.rawValue, events.rawValue, token) < 0 {
            throw SystemError("epoll_ctl mod", subject: "fd " + String(target.rawValue))
        }
    }

    /// Removes a descriptor (EPOLL_CTL_DEL); call it before close.
    public func remove(_ target: FileDescriptor) {
        _ = csieste_epoll_ctl(fd.rawValue, EPOLL_CTL_DEL, target.rawValue, 0, 0)
    }

    /// Waits for events; a negative timeout waits for ever (epoll_wait(2)).
    /// Returns the number of entries filled, 0 on EINTR.
    public func wait(
        tokens: UnsafeMutablePointer<UInt64>, events: UnsafeMutablePointer<UInt32>, capacity: Int32, timeout: Int32
    ) throws(SystemError) -> Int {
        let count = csieste_epoll_wait(fd.rawValue, tokens, events, capacity, timeout)
        if count >= 0 { return Int(count) }
        let code = csieste_errno()
        if code == EINTR { return 0 }
        throw SystemError("epoll_wait", errno: code)
    }
}
