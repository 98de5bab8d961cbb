import CSieste

/// Milliseconds on CLOCK_MONOTONIC.
public func monotonicNow() -> Milliseconds {
    csieste_monotonic_ms()
}

/// A timerfd armed at absolute CLOCK_MONOTONIC deadlines (timerfd_create(2)).
public final class DeadlineTimer {
    public let fd: FileDescriptor
    private var armedAt: Milliseconds = 0

    public init() throws(SystemError) {
        fd = FileDescriptor(try retryingInterrupts("timerfd_create") { csieste_timerfd_open() })
    }

    deinit { fd.close() }

    /// Arms at `deadline`, or disarms with nil; does nothing when unchanged.
    public func arm(at deadline: Milliseconds?) {
        let wanted = deadline.map { max($0, 1) } ?? 0
        if wanted == armedAt { return }
        armedAt = wanted
        _ = csieste_timerfd_arm(fd.rawValue, wanted)
    }

    /// Consumes the expiration count after the timer fired.
    public func acknowledge() {
        _ = csieste_timerfd_drain(fd.rawValue)
        armedAt = 0
    }
}

/// The signals sieste handles, read from a signalfd (signalfd(2)).
public final class SignalReader {
    public let fd: FileDescriptor

    public init() throws(SystemError) {
        fd = FileDescriptor(try retryingInterrupts("signalfd") { csieste_signalfd_open() })
    }

    deinit { fd.close() }

    /// Returns the next pending signal number, or nil when none is left.
    public func next() -> Int32? {
        let value = csieste_signalfd_read(fd.rawValue)
        return value > 0 ? value : nil
    }
}

/// The name of a signal without its SIG prefix, for logs.
public func signalName(_ number: Int32) -> String {
    switch number {
    case SIGHUP: return "HUP"
    case SIGINT: return "INT"
    case SIGQUIT: return "QUIT"
    case SIGILL: return "ILL"
    case SIGABRT: return "ABRT"
    case SIGBUS: return "BUS"
    case SIGFPE: return "FPE"
    case SIGKILL: return "KILL"
    case SIGUSR1: return "USR1"
    case SIGSEGV: return "SEGV"
    case SIGUSR2: return "USR2"
    case SIGPIPE: return "PIPE"
    case SIGALRM: return "ALRM"
    case SIGTERM: return "TERM"
    case SIGCHLD: return "CHLD"
    case SIGCONT: return "CONT"
    case SIGSTOP: return "STOP"
    case SIGTSTP: return "TSTP"
    case SIGXCPU: return "XCPU"
    case SIGXFSZ: return "XFSZ"
    case SIGWINCH: return "WINCH"
    default: return String(number)
    }
}
