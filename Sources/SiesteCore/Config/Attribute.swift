/// `=`, `+=` or `-=`.
enum AssignmentOperator: String {
    case set = "="
    case add = "+="
    case remove = "-="
}

/// One value of an attribute with the line it was written on.
struct AttributeValue {
    var text: String
    var location: SourceLocation
}

/// One `name op values` line as written in a block.
struct AttributeStatement {
    var name: String
    var operation: AssignmentOperator
    var values: [String]
    var location: SourceLocation
}

/// A `service NAME { }` or `defaults { }` block, before interpretation.
struct AttributeBlock {
    /// The service name; empty for `defaults`.
    var name: String
    var location: SourceLocation
    var statements: [AttributeStatement]
    /// Listen addresses fixed by an inetd.conf line, which the `listen`
    /// attribute cannot express (an IPv6 wildcard with IPV6_V6ONLY on beside
    /// an IPv4 one).
    var presetListen: [ListenSpec]? = nil
    /// The field names an inetd.conf line uses, for messages about it.
    var isInetdLine = false
}

/// How many values an attribute takes.
enum ValueCount {
    case exactly(Int)
    case between(Int, Int)
    case any
    case atLeastOne

    func accepts(_ count: Int) -> Bool {
        switch self {
        case .exactly(let wanted): return count == wanted
        case .between(let low, let high): return count >= low && count <= high
        case .any: return true
        case .atLeastOne: return count >= 1
        }
    }

    var phrase: String {
        switch self {
        case .exactly(1): return "exactly one value"
        case .exactly(let wanted): return "exactly " + String(wanted) + " values"
        case .between(let low, let high): return String(low) + " or " + String(high) + " values"
        case .any: return "any number of values"
        case .atLeastOne: return "at least one value"
        }
    }
}

/// The blocks an attribute may be written in.
enum AttributeScope {
    case service, defaults, both
}

/// The syntax of an attribute and the use sieste makes of it.
struct AttributeSpec {
    var name: String
    var count: ValueCount
    /// Accepts `+=` and `-=` and may be written more than once; in
    /// `defaults`, `=` adds as `+=` does (xinetd's cumulative attributes).
    var isList: Bool
    var scope: AttributeScope
    /// The reason sieste accepts but ignores the attribute, or nil when it acts on it.
    var ignoredBecause: String?
    /// The attribute this one is another name for (`interface` for `bind`).
    var aliasOf: String?

    init(
        _ name: String, _ count: ValueCount, list: Bool = false, scope: AttributeScope = .service,
        ignoredBecause: String? = nil, aliasOf: String? = nil
    ) {
        self.name = name
        self.count = count
        self.isList = list
        self.scope = scope
        self.ignoredBecause = ignoredBecause
        self.aliasOf = aliasOf
    }

    var canonicalName: String { aliasOf ?? name }
}

/// Every attribute of xinetd.conf(5) (xinetd 2.3.15) plus sieste's own.
let attributeSpecs: [AttributeSpec] = [
    // What and how to run.
    AttributeSpec("id", .exactly(1)),
    AttributeSpec("type", .atLeastOne),
    AttributeSpec("flags", .any),
    AttributeSpec("disable", .exactly(1)),
    AttributeSpec("socket_type", .exactly(1)),
    AttributeSpec("protocol", .exactly(1)),
    AttributeSpec("wait", .exactly(1)),
    AttributeSpec("user", .exactly(1)),
    AttributeSpec("group", .exactly(1)),
    AttributeSpec("groups", .exactly(1), scope: .both),
    AttributeSpec("server", .exactly(1)),
    AttributeSpec("server_args", .any),
    AttributeSpec("env", .any, list: true, scope: .both),
    AttributeSpec("passenv", .any, list: true, scope: .both),
    AttributeSpec("nice", .exactly(1), scope: .both),
    AttributeSpec("umask", .exactly(1), scope: .both),
    AttributeSpec("working_directory", .exactly(1)),
    AttributeSpec("rlimit_as", .exactly(1), scope: .both),
    AttributeSpec("rlimit_cpu", .exactly(1), scope: .both),
    AttributeSpec("rlimit_data", .exactly(1), scope: .both),
    AttributeSpec("rlimit_rss", .exactly(1), scope: .both),
    AttributeSpec("rlimit_stack", .exactly(1), scope: .both),
    AttributeSpec("rlimit_files", .exactly(1), scope: .both),
    AttributeSpec("rlimit_nproc", .exactly(1), scope: .both),
    AttributeSpec("handoff", .exactly(1)),
    AttributeSpec("stderr", .exactly(1), scope: .both),
    // Addresses.
    AttributeSpec("port", .exactly(1)),
    AttributeSpec("bind", .exactly(1), scope: .both),
    AttributeSpec("interface", .exactly(1), scope: .both, aliasOf: "bind"),
    AttributeSpec("listen", .atLeastOne),
    AttributeSpec("v6only", .exactly(1), scope: .both),
    AttributeSpec("backlog", .exactly(1), scope: .both),
    AttributeSpec("fd_names", .atLeastOne),
    AttributeSpec("socket_mode", .exactly(1)),
    AttributeSpec("socket_user", .exactly(1)),
    AttributeSpec("socket_group", .exactly(1)),
    AttributeSpec("redirect", .between(1, 2)),
    // Limits and access.
    AttributeSpec("instances", .exactly(1), scope: .both),
    AttributeSpec("per_source", .exactly(1), scope: .both),
    AttributeSpec("cps", .exactly(2), scope: .both),
    AttributeSpec("only_from", .any, list: true, scope: .both),
    AttributeSpec("no_access", .any, list: true, scope: .both),
    AttributeSpec("banner_fail", .exactly(1), scope: .both),
    // Stopping idle services.
    AttributeSpec("idle_timeout", .exactly(1)),
    AttributeSpec("stop_signal", .exactly(1), scope: .both),
    AttributeSpec("stop_timeout", .exactly(1), scope: .both),
    AttributeSpec("start_timeout", .exactly(1), scope: .both),
    // Lists of the defaults block.
    AttributeSpec("disabled", .any, list: true, scope: .defaults),
    AttributeSpec("enabled", .any, list: true, scope: .defaults),
    // Accepted so that xinetd files load, but not acted on.
    AttributeSpec(
        "log_type", .any, list: true, scope: .both,
        ignoredBecause: "sieste logs to its standard error or the journal"),
    AttributeSpec(
        "log_on_success", .any, list: true, scope: .both,
        ignoredBecause: "sieste logs each start and abnormal exit with the service, pid and peer"),
    AttributeSpec(
        "log_on_failure", .any, list: true, scope: .both,
        ignoredBecause: "sieste logs every refused client, rate-limited"),
    AttributeSpec("access_times", .any, scope: .both, ignoredBecause: "sieste has no time-of-day access rules"),
    AttributeSpec("max_load", .exactly(1), scope: .both, ignoredBecause: "sieste does not watch the load average"),
    AttributeSpec("banner", .exactly(1), scope: .both, ignoredBecause: "only banner_fail is supported"),
    AttributeSpec("banner_success", .exactly(1), scope: .both, ignoredBecause: "only banner_fail is supported"),
    AttributeSpec("deny_time", .exactly(1), scope: .both, ignoredBecause: "sieste has no SENSOR services"),
    AttributeSpec("mdns", .exactly(1), scope: .both, ignoredBecause: "sieste does not register services with mDNS"),
    AttributeSpec("libwrap", .exactly(1), scope: .both, ignoredBecause: "sieste does not call libwrap; use only_from and no_access"),
    AttributeSpec("rpc_version", .exactly(1), ignoredBecause: "sieste does not serve RPC services"),
    AttributeSpec("rpc_number", .exactly(1), ignoredBecause: "sieste does not serve RPC services"),
]

/// Returns the specification of an attribute name, or nil when unknown.
func attributeSpec(named name: String) -> AttributeSpec? {
    for spec in attributeSpecs where spec.name == name { return spec }
    return nil
}

/// Returns the closest known attribute name, when one is close enough to
/// be a likely typo.
func suggestedAttribute(for name: String) -> String? {
    var best: (name: String, distance: Int)? = nil
    for spec in attributeSpecs {
        let distance = editDistance(name, spec.name)
        if distance < (best?.distance ?? Int.max) { best = (spec.name, distance) }
    }
    guard let best else { return nil }
    let allowed = max(1, min(3, name.utf8.count / 3))
    return best.distance <= allowed ? best.name : nil
}

/// Names of the list attributes, for messages about `+=` and `-=`.
var listAttributeNames: [String] {
    attributeSpecs.filter { $0.isList }.map { $0.name }
}
