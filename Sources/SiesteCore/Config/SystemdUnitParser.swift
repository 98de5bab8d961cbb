/// One `Key=Value` line of a systemd unit file, with its section.
struct SystemdEntry {
    var section: String
    var key: String
    var value: String
    /// The line the entry starts on, the first one when it was continued.
    var location: SourceLocation
}

/// A systemd unit file read into entries, in the order they were written.
struct SystemdUnit {
    var file: String
    var entries: [SystemdEntry]

    /// Entries of one section, in file order.
    func entries(in section: String) -> [SystemdEntry] {
        entries.filter { $0.section == section }
    }

    /// Returns the last entry of a key in a section, because a later
    /// assignment overrides an earlier one in systemd.
    func last(_ key: String, in section: String) -> SystemdEntry? {
        entries.last { $0.section == section && $0.key == key }
    }

    /// Returns the entries of a list setting. An empty assignment clears the
    /// values assigned before it, as systemd does for `ListenStream=` or
    /// `Environment=`.
    func list(_ key: String, in section: String) -> [SystemdEntry] {
        var result: [SystemdEntry] = []
        for entry in entries where entry.section == section && entry.key == key {
            if entry.value.isEmpty {
                result.removeAll()
            } else {
                result.append(entry)
            }
        }
        return result
    }
}

/// Reads the syntax of systemd.syntax(7): `[Section]` headers, `Key=Value`
/// lines with blanks around `=` removed, and comment lines that start with
/// `#` or `;`. A line that ends with `\` continues on the next line, with
/// the backslash replaced by a space, and comment lines inside it are skipped.
enum SystemdUnitParser {
    static func parse(_ bytes: [UInt8], file: String) -> (unit: SystemdUnit, errors: [Diagnostic]) {
        var entries: [SystemdEntry] = []
        var errors: [Diagnostic] = []
        var section: String? = nil
        var pending: (text: [UInt8], line: Int)? = nil
        var number = 0

        func finish(_ text: [UInt8], line: Int) {
            let location = SourceLocation(file: file, line: line)
            let content = trimmed(text[...])
            if content.first == UInt8(ascii: "[") {
                guard content.last == UInt8(ascii: "]"), content.count > 2 else {
                    errors.append(Diagnostic(location, "invalid section header " + quoted(String(decoding: content, as: UTF8.self)) + ": expected [NAME]"))
                    return
                }
                section = String(decoding: content.dropFirst().dropLast(), as: UTF8.self)
                return
            }
            guard let equals = content.firstIndex(of: UInt8(ascii: "=")), equals > content.startIndex else {
                errors.append(Diagnostic(location, "invalid line " + quoted(String(decoding: content, as: UTF8.self)) + ": expected Key=Value or [Section]"))
                return
            }
            guard let section else {
                errors.append(Diagnostic(location, "assignment " + quoted(String(decoding: content, as: UTF8.self)) + " comes before any [Section] header"))
                return
            }
            let key = String(decoding: trimmed(content[..<equals]), as: UTF8.self)
            let value = String(decoding: trimmed(content[(equals + 1)...]), as: UTF8.self)
            entries.append(SystemdEntry(section: section, key: key, value: value, location: location))
        }

        for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            let content = trimmed(raw)
            let isComment = content.first == UInt8(ascii: "#") || content.first == UInt8(ascii: ";")
            if pending == nil && (content.isEmpty || isComment) { continue }
            if pending != nil && isComment { continue }

            var text = pending?.text ?? []
            let start = pending?.line ?? number
            if content.last == UInt8(ascii: "\\") {
                text += content.dropLast()
                text.append(UInt8(ascii: " "))
                pending = (text, start)
                continue
            }
            text += content
            pending = nil
            finish(text, line: start)
        }
        if let pending { finish(pending.text, line: pending.line) }
        return (SystemdUnit(file: file, entries: entries), errors)
    }
}

/// Parses a systemd boolean: `1`, `yes`, `y`, `true`, `t`, `on` or their
/// opposites, in any case.
func parseSystemdBoolean(_ text: String) -> Bool? {
    for word in ["1", "yes", "y", "true", "t", "on"] where equalsIgnoringCase(text, word) { return true }
    for word in ["0", "no", "n", "false", "f", "off"] where equalsIgnoringCase(text, word) { return false }
    return nil
}

/// Splits a systemd command line or `Environment=` value into words.
/// Double and single quotes group blanks into one word, and a backslash
/// escapes `\`, `"`, `'` and a blank. Returns nil, with the reason, for an
/// unterminated quote or another escape sequence, which sieste cannot
/// express since its values have no quoting.
func splitSystemdWords(_ text: String) -> (words: [String]?, problem: String?) {
    var words: [String] = []
    var current: [UInt8] = []
    var inWord = false
    var quote: UInt8? = nil
    let bytes = Array(text.utf8)
    var index = 0
    while index < bytes.count {
        let byte = bytes[index]
        index += 1
        if byte == UInt8(ascii: "\\") {
            guard index < bytes.count else { return (nil, "it ends with a backslash") }
            let next = bytes[index]
            index += 1
            guard next == UInt8(ascii: "\\") || next == UInt8(ascii: "\"") || next == UInt8(ascii: "'") || isBlank(next) else {
                return (nil, "escape sequence \\" + String(decoding: [next], as: UTF8.self) + " is not converted")
            }
            current.append(next)
            inWord = true
            continue
        }
        if let open = quote {
            if byte == open {
                quote = nil
            } else {
                current.append(byte)
            }
            continue
        }
        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
            quote = byte
            inWord = true
            continue
        }
        if isBlank(byte) {
            if inWord { words.append(String(decoding: current, as: UTF8.self)) }
            current = []
            inWord = false
            continue
        }
        current.append(byte)
        inWord = true
    }
    if quote != nil { return (nil, "a quote is not closed") }
    if inWord { words.append(String(decoding: current, as: UTF8.self)) }
    return (words, nil)
}
