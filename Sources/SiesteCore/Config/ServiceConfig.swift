import CSieste

/// Milliseconds, the unit of every duration in the model.
public typealias Milliseconds = Int64

/// The file and line of an attribute or block, for `FILE:LINE: message` errors.
public struct SourceLocation: Hashable, Sendable {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }
}

/// `socket_type`.
public enum SocketKind: String, Sendable {
    case stream, dgram, seqpacket, raw

    public var cValue: Int32 {
        switch self {
        case .stream: return Int32(SOCK_STREAM.rawValue)
        case .dgram: return Int32(SOCK_DGRAM.rawValue)
        case .seqpacket: return Int32(SOCK_SEQPACKET.rawValue)
        case .raw: return Int32(SOCK_RAW.rawValue)
        }
    }
}

/// `handoff`: how sockets reach a started service.
public enum Handoff: String, Sendable {
    /// The socket on fds 0 and 1.
    case stdio
    /// The sockets from fd 3 on, with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES.
    case listenFDs = "listen_fds"
}

/// `stderr`: where a service's fd 2 goes.
public enum StderrTarget: String, Sendable {
    case log, inherit, socket, null
}

/// One address to listen on. An IPv6 wildcard with `v6only` false is the
/// dual-stack socket that also receives IPv4 clients.
public struct ListenSpec: Hashable, Sendable {
    public var address: SocketAddress
    public var v6only: Bool

    public init(address: SocketAddress, v6only: Bool = false) {
        self.address = address
        self.v6only = v6only
    }
}

/// The identity a service runs as, resolved when the configuration loads so
/// that the child never looks up a name.
public struct Credentials: Hashable, Sendable {
    public var userName: String
    public var uid: UInt32
    public var gid: UInt32
    /// Supplementary groups to set; nil leaves sieste's own (only possible
    /// when sieste does not run as root).
    public var groups: [UInt32]?

    public init(userName: String, uid: UInt32, gid: UInt32, groups: [UInt32]?) {
        self.userName = userName
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }
}

/// `cps`: at most `connectionsPerSecond` new connections per second, else
/// pause accepting for `pause`.
public struct RateLimit: Hashable, Sendable {
    public var connectionsPerSecond: Int
    public var pause: Milliseconds

    public init(connectionsPerSecond: Int, pause: Milliseconds) {
        self.connectionsPerSecond = connectionsPerSecond
        self.pause = pause
    }
}

/// An address prefix of `only_from` and `no_access`: `192.0.2.0/24`,
/// `2001:db8::/32`, or one address with the full length.
public struct NetworkPrefix: Hashable, Sendable {
    public var address: SocketAddress
    public var length: Int

    public init(address: SocketAddress, length: Int) {
        self.address = address
        self.length = length
    }

    /// Returns whether a peer address falls inside the prefix; an
    /// IPv4-mapped IPv6 peer is compared as IPv4.
    public func contains(_ peer: SocketAddress) -> Bool {
        switch (address, peer.unmapped) {
        case (.ipv4(let network, _), .ipv4(let host, _)):
            if length <= 0 { return true }
            let mask: UInt32 = length >= 32 ? ~0 : ~((1 << UInt32(32 - length)) - 1)
            return network & mask == host & mask
        case (.ipv6(let networkHigh, let networkLow, _), .ipv6(let hostHigh, let hostLow, _)):
            if length <= 0 { return true }
            if length <= 64 {
                let mask: UInt64 = length >= 64 ? ~0 : ~((1 << UInt64(64 - length)) - 1)
                return networkHigh & mask == hostHigh & mask
            }
            let lowBits = length - 64
            let mask: UInt64 = lowBits >= 64 ? ~0 : ~((1 << UInt64(64 - lowBits)) - 1)
            return networkHigh == hostHigh && networkLow & mask == hostLow & mask
        default:
            return false
        }
    }
}

/// An `rlimit_*` attribute, resolved to the setrlimit(2) resource number.
public struct ResourceLimit: Hashable, Sendable {
    public var resource: Int32
    public var soft: UInt64
    public var hard: UInt64

    public init(resource: Int32, soft: UInt64, hard: UInt64) {
        self.resource = resource
        self.soft = soft
        self.hard = hard
    }
}

/// `type = INTERNAL` services that run inside sieste.
public enum BuiltinService: String, Sendable {
    case echo, discard, chargen, daytime, time
}

/// One service after parsing and validation: everything the runtime needs,
/// with names, ports and users already resolved.
public struct ServiceConfig: Hashable, Sendable {
    /// The name after `service`.
    public var name: String
    /// xinetd's `id`, unique among services; the name unless set.
    public var id: String
    public var socketKind: SocketKind
    /// `protocol`: "tcp", "udp", or "unix" for Unix sockets.
    public var protocolName: String
    public var wait: Bool
    /// Absolute path of the program to start; nil for builtin services and
    /// for a plain redirect.
    public var server: String?
    /// The whole argv, argv[0] included.
    public var arguments: [String]
    public var listen: [ListenSpec]
    public var handoff: Handoff
    /// LISTEN_FDNAMES entries, one per listen address.
    public var fdNames: [String]
    public var stderr: StderrTarget
    /// `KEY=VALUE` entries from `env`, then those of `passenv` found in
    /// sieste's environment at load.
    public var environment: [String]
    /// `user`, `group` and supplementary groups; nil runs the service as
    /// sieste's own user.
    public var credentials: Credentials?
    /// `instances`; nil is unlimited.
    public var instances: Int?
    /// `per_source`; nil is unlimited.
    public var perSource: Int?
    /// `cps`; nil is unlimited.
    public var connectionRate: RateLimit?
    public var reuseAddress: Bool
    public var noDelay: Bool
    public var keepAlive: Bool
    /// Listen backlog passed to listen(2).
    public var backlog: Int32
    /// `idle_timeout`; nil never stops the service for idleness.
    public var idleTimeout: Milliseconds?
    /// `stop_signal`, a signal number.
    public var stopSignal: Int32
    /// `stop_timeout`: time between the stop signal and SIGKILL.
    public var stopTimeout: Milliseconds
    /// `start_timeout`: how long a lazy proxy waits for its backend.
    public var startTimeout: Milliseconds
    /// `redirect`: the backend address of a proxy.
    public var redirect: SocketAddress?
    /// Set for `type = INTERNAL`.
    public var builtin: BuiltinService?
    /// `only_from`; empty allows every peer.
    public var onlyFrom: [NetworkPrefix]
    /// `no_access`; checked after `only_from`.
    public var noAccess: [NetworkPrefix]
    /// `only_from` written with no address: xinetd then serves nobody.
    public var rejectsAllPeers: Bool
    /// `banner_fail`: a file sent to a refused client before the close.
    public var bannerFail: String?
    /// `socket_mode` for Unix sockets.
    public var socketMode: UInt32?
    /// `socket_user` and `socket_group` for Unix sockets, as ids.
    public var socketOwner: UInt32?
    public var socketGroup: UInt32?
    public var resourceLimits: [ResourceLimit]
    public var nice: Int32?
    public var umask: UInt32?
    public var workingDirectory: String?
    /// The location of the `service` line.
    public var location: SourceLocation

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.id = name
        self.socketKind = .stream
        self.protocolName = "tcp"
        self.wait = false
        self.server = nil
        self.arguments = []
        self.listen = []
        self.handoff = .stdio
        self.fdNames = []
        self.stderr = .log
        self.environment = []
        self.credentials = nil
        self.instances = nil
        self.perSource = nil
        self.connectionRate = nil
        self.reuseAddress = true
        self.noDelay = false
        self.keepAlive = false
        self.backlog = 4096
        self.idleTimeout = nil
        self.stopSignal = SIGTERM
        self.stopTimeout = 10_000
        self.startTimeout = 10_000
        self.redirect = nil
        self.builtin = nil
        self.onlyFrom = []
        self.noAccess = []
        self.rejectsAllPeers = false
        self.bannerFail = nil
        self.socketMode = nil
        self.socketOwner = nil
        self.socketGroup = nil
        self.resourceLimits = []
        self.nice = nil
        self.umask = nil
        self.workingDirectory = nil
        self.location = location
    }

    /// The mode sieste runs this service in.
    public var mode: ServiceMode {
        if builtin != nil { return .builtin }
        if redirect != nil { return server == nil ? .redirect : .lazyProxy }
        return wait ? .handoff : .perConnection
    }
}

/// The three ways of DESIGN's table, plus builtins and plain redirects.
public enum ServiceMode: String, Sendable {
    case perConnection = "per-connection"
    case handoff
    case lazyProxy = "lazy-proxy"
    case redirect
    case builtin
}

/// A problem found while loading, printed as `FILE:LINE: message`.
public struct Diagnostic: Hashable, Sendable {
    public var location: SourceLocation
    public var message: String

    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    /// `FILE:LINE: message`, or `FILE: message` for a problem with the
    /// whole file (line 0), such as one that cannot be read.
    public var text: String {
        if location.line <= 0 { return location.file + ": " + message }
        return location.file + ":" + String(location.line) + ": " + message
    }
}

/// A configuration that did not load, with every error found.
public struct ConfigurationError: Error, Sendable {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics
    }
}

/// The validated, immutable model the runtime serves.
public struct Configuration: Sendable {
    /// Enabled services, in the order they were written.
    public var services: [ServiceConfig]
    /// Services switched off by `disable = yes` or the defaults' lists,
    /// kept so that `sieste check` can list them.
    public var disabledServices: [ServiceConfig]
    /// Non-fatal findings, such as an attribute accepted but not acted on.
    public var warnings: [Diagnostic]

    public init(services: [ServiceConfig], disabledServices: [ServiceConfig], warnings: [Diagnostic]) {
        self.services = services
        self.disabledServices = disabledServices
        self.warnings = warnings
    }
}
