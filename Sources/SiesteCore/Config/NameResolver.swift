import CSieste

/// The name lookups a configuration needs at load: users, groups,
/// /etc/services, host names and sieste's environment. Each is a closure so
/// that tests can replace the system databases with tables.
public struct NameResolver {
    /// A user name to its uid and primary gid (getpwnam(3)).
    public var user: (String) -> (uid: UInt32, gid: UInt32)?
    /// A group name to its gid (getgrnam(3)).
    public var group: (String) -> UInt32?
    /// The groups initgroups(3) would set for a user and primary gid
    /// (getgrouplist(3)).
    public var supplementaryGroups: (String, UInt32) -> [UInt32]
    /// A service name and "tcp" or "udp" to a port (getservbyname(3)).
    public var servicePort: (String, String) -> UInt16?
    /// A variable of sieste's own environment (getenv(3)).
    public var environment: (String) -> String?
    /// A host name to its first address, port 0 (getaddrinfo(3)).
    public var host: (String) -> SocketAddress?
    /// Whether sieste runs as root and may switch users.
    public var isRoot: Bool
    /// The uid and gid sieste runs as; without root, `user` and `group`
    /// must name these.
    public var currentUID: UInt32
    public var currentGID: UInt32

    public init(
        user: @escaping (String) -> (uid: UInt32, gid: UInt32)?,
        group: @escaping (String) -> UInt32?,
        supplementaryGroups: @escaping (String, UInt32) -> [UInt32],
        servicePort: @escaping (String, String) -> UInt16?,
        environment: @escaping (String) -> String?,
        host: @escaping (String) -> SocketAddress? = { _ in nil },
        isRoot: Bool,
        currentUID: UInt32 = 0,
        currentGID: UInt32 = 0
    ) {
        self.user = user
        self.group = group
        self.supplementaryGroups = supplementaryGroups
        self.servicePort = servicePort
        self.environment = environment
        self.host = host
        self.isRoot = isRoot
        self.currentUID = currentUID
        self.currentGID = currentGID
    }

    /// Real lookups through the C library.
    public static var system: NameResolver {
        NameResolver(
            user: { name in
                var uid: UInt32 = 0
                var gid: UInt32 = 0
                guard csieste_lookup_user(name, &uid, &gid) == 0 else { return nil }
                return (uid, gid)
            },
            group: { name in
                var gid: UInt32 = 0
                return csieste_lookup_group(name, &gid) == 0 ? gid : nil
            },
            supplementaryGroups: { name, gid in
                var capacity = 64
                while capacity <= 65536 {
                    var groups = [UInt32](repeating: 0, count: capacity)
                    let count = groups.withUnsafeMutableBufferPointer { buffer in
                        csieste_user_groups(name, gid, buffer.baseAddress, Int32(capacity))
                    }
                    if count >= 0 { return Array(groups[0..<Int(count)]) }
                    capacity *= 4
                }
                return [gid]
            },
            servicePort: { name, protocolName in
                let port = csieste_service_port(name, protocolName)
                return port > 0 && port <= 65535 ? UInt16(port) : nil
            },
            environment: { name in
                guard let value = getenv(name) else { return nil }
                return String(cString: value)
            },
            host: { name in
                var address = csieste_addr()
                guard csieste_resolve_host(name, &address) == 0 else { return nil }
                return SocketAddress(address)
            },
            isRoot: geteuid() == 0,
            currentUID: geteuid(),
            currentGID: getegid()
        )
    }
}
