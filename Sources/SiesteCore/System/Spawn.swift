import CSieste

/// A NULL-terminated array of C strings, allocated once and freed with the
/// object; argv and the fixed part of envp are built once per service.
public final class CStringArray {
    public private(set) var pointers: [UnsafeMutablePointer<CChar>?]

    public init(_ strings: [String]) {
        pointers = strings.map { strdup($0) }
        pointers.append(nil)
    }

    deinit {
        for pointer in pointers { free(pointer) }
    }

    public var count: Int { pointers.count - 1 }
}

/// A step of the child that failed, with its errno.
public struct SpawnError: Error, Sendable {
    public var step: String
    public var errno: Int32

    public var reason: String { errnoDescription(errno) }
}

/// The program, descriptors, environment and identity of a child process,
/// prepared completely in the parent.
public struct SpawnRequest {
    public var path: String
    public var arguments: CStringArray
    /// Fixed environment entries shared by every spawn of a service.
    public var baseEnvironment: CStringArray
    /// Entries added for this spawn only (peer address, LISTEN_FDS).
    public var extraEnvironment: [String]
    /// Descriptor i of the child is fds[i].
    public var fds: [Int32]
    public var credentials: Credentials?
    public var resourceLimits: [ResourceLimit]
    public var nice: Int32?
    public var umask: UInt32?
    public var workingDirectory: String?
    /// Adds LISTEN_PID with the child's own pid.
    public var setListenPID: Bool

    public init(path: String, arguments: CStringArray, baseEnvironment: CStringArray, fds: [Int32]) {
        self.path = path
        self.arguments = arguments
        self.baseEnvironment = baseEnvironment
        self.extraEnvironment = []
        self.fds = fds
        self.credentials = nil
        self.resourceLimits = []
        self.nice = nil
        self.umask = nil
        self.workingDirectory = nil
        self.setListenPID = false
    }
}

/// Starts processes through the C entry point csieste_spawn (vfork, then
/// the plan's steps, then execve).
public enum Spawner {
    /// Starts the request's program and returns its pid. On failure the
    /// child, if one was created, has exited with 127 and is reaped by the
    /// caller's SIGCHLD handling like any other.
    public static func spawn(_ request: SpawnRequest) throws(SpawnError) -> Int32 {
        var extras: [UnsafeMutablePointer<CChar>?] = request.extraEnvironment.map { strdup($0) }
        var listenPIDEntry: UnsafeMutablePointer<CChar>? = nil
        if request.setListenPID {
            // "LISTEN_PID=" followed by room for 20 digits and a NUL.
            listenPIDEntry = strdup("LISTEN_PID=000000000000000000000")
            extras.append(listenPIDEntry)
        }
        defer { for pointer in extras { free(pointer) } }

        var environment = Array(request.baseEnvironment.pointers.dropLast())
        environment.append(contentsOf: extras)
        environment.append(nil)

        var groups: [UInt32] = request.credentials?.groups ?? []
        let resources = request.resourceLimits.map { $0.resource }
        let limits = request.resourceLimits.map { rlimit(rlim_cur: rlim_t($0.soft), rlim_max: rlim_t($0.hard)) }

        var plan = csieste_spawn_plan()
        plan.fd_count = Int32(request.fds.count)
        plan.rlimit_count = Int32(resources.count)
        if let credentials = request.credentials {
            plan.set_ids = 1
            plan.uid = credentials.uid
            plan.gid = credentials.gid
            plan.set_groups = credentials.groups == nil ? 0 : 1
            plan.group_count = Int32(groups.count)
        }
        if let nice = request.nice {
            plan.set_nice = 1
            plan.nice_value = nice
        }
        plan.umask_value = request.umask.map { Int32($0) } ?? -1
        if let digits = listenPIDEntry { plan.listen_pid_digits = digits + 11 }

        let argv = request.arguments.pointers
        let fds = request.fds
        let pid: Int32 = request.path.withCString { path in
            let cwd = request.workingDirectory.map { strdup($0) } ?? nil
            defer { free(cwd) }
            plan.path = path
            plan.cwd = UnsafePointer(cwd)
            return argv.withUnsafeBufferPointer { argvBuffer in
                environment.withUnsafeBufferPointer { envBuffer in
                    fds.withUnsafeBufferPointer { fdBuffer in
                        groups.withUnsafeMutableBufferPointer { groupBuffer in
                            resources.withUnsafeBufferPointer { resourceBuffer in
                                limits.withUnsafeBufferPointer { limitBuffer in
                                    plan.argv = argvBuffer.baseAddress
                                    plan.envp = envBuffer.baseAddress
                                    plan.sources = fdBuffer.baseAddress
                                    plan.groups = UnsafePointer(groupBuffer.baseAddress)
                                    plan.rlimit_resources = resourceBuffer.baseAddress
                                    plan.rlimit_values = limitBuffer.baseAddress
                                    return csieste_spawn(&plan)
                                }
                            }
                        }
                    }
                }
            }
        }
        if pid > 0 { return pid }
        throw SpawnError(step: stepName(plan.failed_step), errno: plan.failed_errno)
    }

    static func stepName(_ step: Int32) -> String {
        switch UInt32(step) {
        case CSIESTE_STEP_FORK.rawValue: return "vfork"
        case CSIESTE_STEP_SETSID.rawValue: return "setsid"
        case CSIESTE_STEP_DUP.rawValue: return "dup2"
        case CSIESTE_STEP_CLOSE.rawValue: return "close_range"
        case CSIESTE_STEP_RLIMIT.rawValue: return "setrlimit"
        case CSIESTE_STEP_SETGROUPS.rawValue: return "setgroups"
        case CSIESTE_STEP_SETGID.rawValue: return "setgid"
        case CSIESTE_STEP_SETUID.rawValue: return "setuid"
        case CSIESTE_STEP_NICE.rawValue: return "nice"
        case CSIESTE_STEP_CHDIR.rawValue: return "chdir"
        case CSIESTE_STEP_SIGNALS.rawValue: return "sigprocmask"
        case CSIESTE_STEP_EXEC.rawValue: return "exec"
        default: return "step " + String(step)
        }
    }
}

/// The end of a reaped child: its exit status or the signal that killed it.
public enum ExitStatus: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)

    public var succeeded: Bool { self == .exited(0) }
}

/// Reaps one exited child without blocking (waitpid(2) WNOHANG); nil when
/// none is left.
public func reapChild() -> (pid: Int32, status: ExitStatus)? {
    var status: Int32 = 0
    while true {
        let pid = waitpid(-1, &status, WNOHANG)
        if pid > 0 {
            if csieste_wifsignaled(status) != 0 { return (pid, .signaled(csieste_wtermsig(status))) }
            return (pid, .exited(csieste_wexitstatus(status)))
        }
        if pid < 0 && csieste_errno() == EINTR { continue }
        return nil
    }
}

/// Sends a signal to a process (kill(2)); false when it is already gone.
@discardableResult
public func sendSignal(_ signal: Int32, to pid: Int32) -> Bool {
    kill(pid, signal) == 0
}
