/// The life of the process behind a `wait = yes` service or a lazy proxy's
/// backend. docs/lifecycle.md draws the same machine with what a client
/// sees in each state.
enum ServiceState {
    /// No process; the listening sockets are watched.
    case sleeping
    /// A lazy proxy's backend was started and its address does not accept
    /// yet; `since` is when it was started.
    case starting(pid: Int32, since: Milliseconds)
    /// The process runs; `lastActive` is the last time it was seen with a
    /// connection, for the idle timeout.
    case running(pid: Int32, since: Milliseconds, lastActive: Milliseconds)
    /// The stop signal was sent; SIGKILL follows at `killAt`.
    case stopping(pid: Int32, since: Milliseconds, killAt: Milliseconds)
    /// Failed right after start too often; no start before `until`.
    case heldBack(until: Milliseconds)

    var pid: Int32? {
        switch self {
        case .starting(let pid, _), .running(let pid, _, _), .stopping(let pid, _, _): return pid
        case .sleeping, .heldBack: return nil
        }
    }

    var name: String {
        switch self {
        case .sleeping: return "sleeping"
        case .starting: return "starting"
        case .running: return "running"
        case .stopping: return "stopping"
        case .heldBack: return "held-back"
        }
    }
}

/// Restart protection: a process that fails within `window` of its start
/// counts as a quick failure; from the third in a row, starts are held back
/// for a delay that doubles each time, up to `maximumDelay`.
struct RestartGuard {
    static let window: Milliseconds = 2_000
    static let firstDelay: Milliseconds = 1_000
    static let maximumDelay: Milliseconds = 60_000
    static let toleratedFailures = 2

    private(set) var quickFailures = 0

    /// Records how a run ended; returns the hold-back delay, or nil when the
    /// next start may happen at once.
    mutating func record(failed: Bool, ranFor duration: Milliseconds) -> Milliseconds? {
        guard failed && duration < RestartGuard.window else {
            quickFailures = 0
            return nil
        }
        quickFailures += 1
        guard quickFailures > RestartGuard.toleratedFailures else { return nil }
        let doublings = min(quickFailures - RestartGuard.toleratedFailures - 1, 16)
        return min(RestartGuard.firstDelay << Milliseconds(doublings), RestartGuard.maximumDelay)
    }
}
