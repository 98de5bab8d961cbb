import CSieste

extension ServiceBuilder {
    // MARK: user, group and groups

    /// Resolves `user`, `group` and `groups` into credentials. Builtins and
    /// plain redirects start no process, so their `user` is not looked up
    /// (Debian's builtin files set `user = root`).
    mutating func readCredentials() {
        let groupsWanted = yesNo("groups") ?? false
        guard service.server != nil else { return }

        let userValue = single("user")
        let groupValue = single("group")
        guard let userValue else {
            if let groupValue {
                problem(groupValue.location, "group needs user in service " + block.name + ": set user as well")
            }
            return
        }
        guard let account = lookUpUser(userValue, for: "user") else { return }
        var primaryGID = account.gid
        if let groupValue {
            guard let groupID = lookUpGroup(groupValue, for: "group") else { return }
            primaryGID = groupID
        }
        guard let gid = primaryGID else {
            problem(userValue.location, "user " + userValue.text + " is not in the user database, so its group is unknown: set group as well")
            return
        }

        if resolver.isRoot {
            let groups = groupsWanted ? resolver.supplementaryGroups(userValue.text, gid) : [gid]
            service.credentials = Credentials(userName: userValue.text, uid: account.uid, gid: gid, groups: groups)
            return
        }
        // Without root, setuid and setgid can only keep the current ids.
        if account.uid != resolver.currentUID {
            problem(
                userValue.location,
                "user " + userValue.text + " (uid " + String(account.uid) + ") needs sieste to run as root; sieste runs as uid "
                    + String(resolver.currentUID))
            return
        }
        if let groupValue, gid != resolver.currentGID {
            problem(
                groupValue.location,
                "group " + groupValue.text + " (gid " + String(gid) + ") needs sieste to run as root; sieste runs as gid "
                    + String(resolver.currentGID))
            return
        }
        if groupsWanted {
            warnings.append(Diagnostic(location(of: "groups"), "groups = yes has no effect unless sieste runs as root"))
        }
        service.credentials = Credentials(userName: userValue.text, uid: account.uid, gid: resolver.currentGID, groups: nil)
    }

    /// Looks up a user name in the user database, or reads a numeric uid,
    /// whose primary group is then unknown.
    mutating func lookUpUser(_ value: AttributeValue, for name: String) -> (uid: UInt32, gid: UInt32?)? {
        if let account = resolver.user(value.text) { return (account.uid, account.gid) }
        if let number = parseUnsigned(value.text, limit: UInt64(UInt32.max - 1)) {
            return (UInt32(number), nil)
        }
        problem(value.location, "unknown user " + quoted(value.text) + " for " + name + ": expected a user name from the user database or a numeric uid")
        return nil
    }

    mutating func lookUpGroup(_ value: AttributeValue, for name: String) -> UInt32? {
        if let gid = resolver.group(value.text) { return gid }
        if let number = parseUnsigned(value.text, limit: UInt64(UInt32.max - 1)) { return UInt32(number) }
        problem(value.location, "unknown group " + quoted(value.text) + " for " + name + ": expected a group name from the group database or a numeric gid")
        return nil
    }

    // MARK: env and passenv

    mutating func readEnvironment() {
        var environment: [String] = []
        for value in values("env") {
            guard let equals = firstIndex(of: UInt8(ascii: "="), in: value.text), equals > 0 else {
                invalid(value, for: "env", expected: "NAME=VALUE")
                continue
            }
            environment.append(value.text)
        }
        for value in values("passenv") {
            guard !value.text.utf8.contains(UInt8(ascii: "=")) else {
                invalid(value, for: "passenv", expected: "the name of a variable of sieste's environment, without =")
                continue
            }
            // xinetd passes only the variables that exist; a missing one is skipped.
            if let current = resolver.environment(value.text) {
                environment.append(value.text + "=" + current)
            }
        }
        service.environment = environment
    }

    // MARK: instances, per_source, cps, backlog, banner_fail

    mutating func readLimits() {
        if let instances = countOrUnlimited("instances") { service.instances = instances }
        if let perSource = countOrUnlimited("per_source") { service.perSource = perSource }

        let rate = values("cps")
        if rate.count == 2 {
            let perSecond = parseUnsigned(rate[0].text, limit: 1_000_000)
            let pause = parseDuration(rate[1].text)
            if perSecond == nil || perSecond == 0 {
                invalid(rate[0], for: "cps", expected: "connections per second from 1 to 1000000, then the pause in seconds")
            }
            if pause == nil || pause == 0 {
                invalid(rate[1], for: "cps", expected: "a pause above zero after the rate, in seconds (10) or with a unit (10s, 1m)")
            }
            if let perSecond, let pause, perSecond > 0, pause > 0 {
                service.connectionRate = RateLimit(connectionsPerSecond: Int(perSecond), pause: pause)
            }
        }

        if let value = single("backlog") {
            if let backlog = parseUnsigned(value.text, limit: 65535), backlog > 0 {
                service.backlog = Int32(backlog)
            } else {
                invalid(value, for: "backlog", expected: "a number from 1 to 65535")
            }
        }

        if let value = single("banner_fail") {
            if value.text.utf8.first != UInt8(ascii: "/") {
                invalid(value, for: "banner_fail", expected: "the absolute path of a file")
            } else {
                if fileStatus(value.text)?.isRegular != true {
                    warnings.append(Diagnostic(value.location, "banner_fail file " + value.text + " does not exist; refused clients get no banner until it does"))
                }
                service.bannerFail = value.text
            }
        }
    }

    // MARK: idle_timeout, stop_signal, stop_timeout, start_timeout

    mutating func readStopping() {
        service.idleTimeout = duration("idle_timeout", allowZero: false)
        if let stopTimeout = duration("stop_timeout", allowZero: true) { service.stopTimeout = stopTimeout }
        if let startTimeout = duration("start_timeout", allowZero: false) { service.startTimeout = startTimeout }
        if let value = single("stop_signal") {
            if let signal = parseSignal(value.text) {
                service.stopSignal = signal
            } else {
                invalid(value, for: "stop_signal", expected: "a signal name such as TERM, SIGTERM, HUP, INT, QUIT or USR1, or a number from 1 to 64")
            }
        }
    }

    // MARK: rlimits, nice, umask, working_directory

    /// `rlimit_*` attributes: the setrlimit(2) resource and whether the
    /// value is a size that takes K, M or G suffixes.
    private static var resourceLimitAttributes: [(name: String, resource: Int32, isSize: Bool)] {
        [
            ("rlimit_as", Int32(RLIMIT_AS.rawValue), true),
            ("rlimit_cpu", Int32(RLIMIT_CPU.rawValue), false),
            ("rlimit_data", Int32(RLIMIT_DATA.rawValue), true),
            ("rlimit_rss", Int32(__RLIMIT_RSS.rawValue), true),
            ("rlimit_stack", Int32(RLIMIT_STACK.rawValue), true),
            ("rlimit_files", Int32(RLIMIT_NOFILE.rawValue), false),
            ("rlimit_nproc", Int32(__RLIMIT_NPROC.rawValue), false),
        ]
    }

    mutating func readProcessSettings() {
        for limit in Self.resourceLimitAttributes {
            guard let value = single(limit.name) else { continue }
            if let amount = parseResourceLimit(value.text, isSize: limit.isSize) {
                service.resourceLimits.append(ResourceLimit(resource: limit.resource, soft: amount, hard: amount))
            } else {
                let unit = limit.isSize ? "a number of bytes (K, M or G suffix allowed)" : (limit.name == "rlimit_cpu" ? "a number of CPU seconds" : "a number")
                invalid(value, for: limit.name, expected: unit + " or UNLIMITED")
            }
        }

        if let value = single("nice") {
            if let nice = parseInteger(value.text, in: -20...19) {
                service.nice = Int32(nice)
            } else {
                invalid(value, for: "nice", expected: "a number from -20 to 19")
            }
        }
        if let value = single("umask") {
            if let mask = parseOctal(value.text, limit: 0o777) {
                service.umask = mask
            } else {
                invalid(value, for: "umask", expected: "an octal mask such as 022")
            }
        }
        if let value = single("working_directory") {
            if value.text.utf8.first == UInt8(ascii: "/") {
                service.workingDirectory = value.text
            } else {
                invalid(value, for: "working_directory", expected: "an absolute path")
            }
        }
    }
}

/// Parses an rlimit value: UNLIMITED, or digits with an optional K, M or G
/// suffix (powers of 1024) when `isSize`.
func parseResourceLimit(_ text: String, isSize: Bool) -> UInt64? {
    if equalsIgnoringCase(text, "UNLIMITED") { return UInt64.max }
    var bytes = Array(text.utf8)
    var scale: UInt64 = 1
    if isSize, let last = bytes.last {
        switch upperCased(last) {
        case UInt8(ascii: "K"): scale = 1 << 10
        case UInt8(ascii: "M"): scale = 1 << 20
        case UInt8(ascii: "G"): scale = 1 << 30
        default: break
        }
        if scale > 1 { bytes.removeLast() }
    }
    guard let number = parseUnsigned(bytes, limit: UInt64.max - 1) else { return nil }
    let (result, overflow) = number.multipliedReportingOverflow(by: scale)
    return overflow || result == UInt64.max ? nil : result
}
