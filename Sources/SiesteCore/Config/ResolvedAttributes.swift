/// The attributes of one block after `=`, `+=` and `-=` are applied and,
/// for a service, after the defaults are merged in. Keys are canonical
/// names (`interface` is stored as `bind`).
struct ResolvedAttributes {
    struct Entry {
        var values: [AttributeValue]
        /// The location of the last statement that set the attribute.
        var location: SourceLocation
        /// The name as written, for messages (`interface` rather than `bind`).
        var writtenName: String
        var fromDefaults: Bool
    }

    var entries: [String: Entry] = [:]

    subscript(name: String) -> Entry? { entries[name] }
}

/// Applies the statements of a `defaults` block. List attributes accumulate
/// whichever operator is used, as in xinetd.
func resolveDefaults(
    _ block: AttributeBlock, errors: inout [Diagnostic], warnings: inout [Diagnostic]
) -> ResolvedAttributes {
    var result = ResolvedAttributes()
    var firstSeen: [String: SourceLocation] = [:]
    for statement in block.statements {
        guard let spec = checkStatement(statement, inDefaults: true, serviceName: "", errors: &errors) else { continue }
        if let reason = spec.ignoredBecause {
            warnings.append(ignoredWarning(statement, reason))
        }
        let key = spec.canonicalName
        let values = statement.values.map { AttributeValue(text: $0, location: statement.location) }
        if spec.isList {
            var entry = result.entries[key] ?? .init(values: [], location: statement.location, writtenName: statement.name, fromDefaults: true)
            if statement.operation == .remove {
                entry.values.removeAll { value in statement.values.contains(value.text) }
            } else {
                entry.values += values
            }
            entry.location = statement.location
            result.entries[key] = entry
            continue
        }
        if let first = firstSeen[key] {
            errors.append(Diagnostic(statement.location, statement.name + " is set twice in defaults (first at line " + String(first.line) + ")"))
            continue
        }
        firstSeen[key] = statement.location
        result.entries[key] = .init(values: values, location: statement.location, writtenName: statement.name, fromDefaults: true)
    }
    return result
}

/// Applies the statements of a service block over the defaults. For list
/// attributes, the first `=` in the service replaces the inherited values
/// and later ones add to them. `+=` adds to the inherited values, and `-=`
/// removes from them.
func resolveService(
    _ block: AttributeBlock, defaults: ResolvedAttributes,
    errors: inout [Diagnostic], warnings: inout [Diagnostic]
) -> ResolvedAttributes {
    var result = defaults
    var setInService: [String: SourceLocation] = [:]
    for statement in block.statements {
        guard let spec = checkStatement(statement, inDefaults: false, serviceName: block.name, errors: &errors) else { continue }
        if let reason = spec.ignoredBecause {
            warnings.append(ignoredWarning(statement, reason))
        }
        let key = spec.canonicalName
        let values = statement.values.map { AttributeValue(text: $0, location: statement.location) }
        if spec.isList {
            var current = result.entries[key]?.values ?? []
            switch statement.operation {
            case .set:
                current = setInService[key] == nil ? values : current + values
            case .add:
                current += values
            case .remove:
                current.removeAll { value in
                    statement.values.contains { removed in matchesForRemoval(value.text, removed, attribute: key) }
                }
            }
            result.entries[key] = .init(values: current, location: statement.location, writtenName: statement.name, fromDefaults: false)
            setInService[key] = statement.location
            continue
        }
        if let first = setInService[key] {
            errors.append(
                Diagnostic(
                    statement.location,
                    statement.name + " is set twice in service " + block.name + " (first at line " + String(first.line) + ")"))
            continue
        }
        setInService[key] = statement.location
        result.entries[key] = .init(values: values, location: statement.location, writtenName: statement.name, fromDefaults: false)
    }
    return result
}

/// `env -= NAME` removes `NAME=...`; everywhere else values must match.
private func matchesForRemoval(_ value: String, _ removed: String, attribute: String) -> Bool {
    if value == removed { return true }
    if attribute == "env", !removed.utf8.contains(UInt8(ascii: "=")), let equals = firstIndex(of: UInt8(ascii: "="), in: value) {
        return substring(value, from: 0, to: equals) == removed
    }
    return false
}

private func ignoredWarning(_ statement: AttributeStatement, _ reason: String) -> Diagnostic {
    Diagnostic(statement.location, statement.name + " is accepted but has no effect: " + reason)
}

/// Checks a statement's name, scope, operator and number of values; returns
/// its specification when it may be applied.
private func checkStatement(
    _ statement: AttributeStatement, inDefaults: Bool, serviceName: String, errors: inout [Diagnostic]
) -> AttributeSpec? {
    let place = inDefaults ? "defaults" : "service " + serviceName
    guard let spec = attributeSpec(named: statement.name) else {
        var message = "unknown attribute " + quoted(statement.name) + " in " + place
        if let suggestion = suggestedAttribute(for: statement.name) {
            message += " (did you mean " + quoted(suggestion) + "?)"
        }
        errors.append(Diagnostic(statement.location, message))
        return nil
    }
    switch (spec.scope, inDefaults) {
    case (.service, true):
        errors.append(Diagnostic(statement.location, statement.name + " is not allowed in defaults: set it in each service"))
        return nil
    case (.defaults, false):
        errors.append(Diagnostic(statement.location, statement.name + " is only allowed in defaults, not in " + place))
        return nil
    default:
        break
    }
    if statement.operation != .set && !spec.isList {
        errors.append(
            Diagnostic(
                statement.location,
                "operator " + statement.operation.rawValue + " is not allowed for " + statement.name + ": only "
                    + listWithOr(listAttributeNames) + " accept += and -="))
        return nil
    }
    if statement.operation == .set && !spec.count.accepts(statement.values.count) {
        errors.append(
            Diagnostic(
                statement.location,
                "wrong number of values for " + statement.name + ": expected " + spec.count.phrase + ", got "
                    + String(statement.values.count)))
        return nil
    }
    return spec
}
