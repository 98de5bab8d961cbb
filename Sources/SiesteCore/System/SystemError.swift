import CSieste

/// A failed system call: the call, the errno and what it acted on, printed
/// as `bind 127.0.0.1:79: Address already in use`.
public struct SystemError: Error, Sendable {
    public var call: String
    public var errno: Int32
    public var subject: String

    public init(_ call: String, errno: Int32 = csieste_errno(), subject: String = "") {
        self.call = call
        self.errno = errno
        self.subject = subject
    }

    public var description: String {
        let head = subject.isEmpty ? call : call + " " + subject
        return head + ": " + errnoDescription(errno)
    }
}

/// Returns strerror(3) of an errno value as a Swift string.
public func errnoDescription(_ value: Int32) -> String {
    guard let text = strerror(value) else { return "errno " + String(value) }
    return String(cString: text)
}

/// Runs a system call that returns -1 on failure, retrying EINTR.
/// - Note: never use it for close(2), which must not be retried on Linux.
@inline(__always)
func retryingInterrupts<T: BinaryInteger>(
    _ call: String, subject: String = "", _ body: () -> T
) throws(SystemError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = csieste_errno()
        if code == EINTR { continue }
        throw SystemError(call, errno: code, subject: subject)
    }
}
