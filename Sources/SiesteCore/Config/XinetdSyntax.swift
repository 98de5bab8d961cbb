/// A top-level item of a file in xinetd's block syntax.
enum XinetdEntry {
    case service(AttributeBlock)
    case defaults(AttributeBlock)
    case include(path: String, location: SourceLocation)
    case includeDirectory(path: String, location: SourceLocation)
}

/// One meaningful line: its number and its bytes without surrounding blanks.
struct SourceLine {
    var number: Int
    var bytes: ArraySlice<UInt8>
}

/// Splits a file into lines, dropping blank lines and `#` comment lines
/// (a `#` only starts a comment at the beginning of a line, as in xinetd).
func meaningfulLines(_ bytes: [UInt8]) -> [SourceLine] {
    var lines: [SourceLine] = []
    var number = 0
    for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
        number += 1
        let line = trimmed(raw)
        if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
        lines.append(SourceLine(number: number, bytes: line))
    }
    return lines
}

func isBlank(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
}

func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    var start = bytes.startIndex
    var end = bytes.endIndex
    while start < end && isBlank(bytes[start]) { start += 1 }
    while end > start && isBlank(bytes[end - 1]) { end -= 1 }
    return bytes[start..<end]
}

/// Parses xinetd.conf(5) syntax into blocks and include directives without
/// interpreting attribute values. Every syntax error is collected, and the
/// parser resynchronises at the next `service`, `defaults` or `}` line.
struct XinetdParser {
    let file: String
    private(set) var entries: [XinetdEntry] = []
    private(set) var errors: [Diagnostic] = []

    private enum State {
        case top
        /// After `service NAME` or `defaults`, waiting for `{`.
        case expectingBrace(AttributeBlock, isDefaults: Bool)
        case inBlock(AttributeBlock, isDefaults: Bool)
    }

    private var state = State.top

    init(file: String) {
        self.file = file
    }

    static func parse(_ bytes: [UInt8], file: String) -> (entries: [XinetdEntry], errors: [Diagnostic]) {
        var parser = XinetdParser(file: file)
        for line in meaningfulLines(bytes) { parser.consume(line) }
        parser.finish()
        return (parser.entries, parser.errors)
    }

    private mutating func consume(_ line: SourceLine) {
        let location = SourceLocation(file: file, line: line.number)
        switch state {
        case .top:
            consumeTopLevel(line, location)
        case .expectingBrace(let block, let isDefaults):
            if line.bytes.elementsEqual("{".utf8) {
                state = .inBlock(block, isDefaults: isDefaults)
                return
            }
            errors.append(Diagnostic(location, "expected \"{\" on the line after \"" + blockTitle(block, isDefaults) + "\""))
            state = .top
            consumeTopLevel(line, location)
        case .inBlock(var block, let isDefaults):
            if line.bytes.elementsEqual("}".utf8) {
                entries.append(isDefaults ? .defaults(block) : .service(block))
                state = .top
                return
            }
            if startsNewBlock(line.bytes) {
                errors.append(
                    Diagnostic(
                        block.location,
                        "missing \"}\" to close \"" + blockTitle(block, isDefaults) + "\" before line "
                            + String(line.number)))
                entries.append(isDefaults ? .defaults(block) : .service(block))
                state = .top
                consumeTopLevel(line, location)
                return
            }
            if let statement = parseStatement(line.bytes, location) {
                block.statements.append(statement)
            } else {
                errors.append(
                    Diagnostic(
                        location,
                        "invalid line " + quoted(String(decoding: line.bytes, as: UTF8.self)) + " in "
                            + blockTitle(block, isDefaults) + ": expected ATTRIBUTE = VALUE..., += or -="))
            }
            state = .inBlock(block, isDefaults: isDefaults)
        }
    }

    private mutating func consumeTopLevel(_ line: SourceLine, _ location: SourceLocation) {
        var fields = splitFields(line.bytes)
        // Tolerate `service NAME {` and `defaults {` on one line.
        let braceOnSameLine = fields.count >= 2 && fields.last == "{"
        if braceOnSameLine { fields.removeLast() }

        switch fields.first {
        case "service":
            guard fields.count == 2 else {
                errors.append(Diagnostic(location, "expected \"service NAME\", got " + quoted(joined(fields))))
                return
            }
            let block = AttributeBlock(name: fields[1], location: location, statements: [])
            state = braceOnSameLine ? .inBlock(block, isDefaults: false) : .expectingBrace(block, isDefaults: false)
        case "defaults":
            guard fields.count == 1 else {
                errors.append(Diagnostic(location, "unexpected text after \"defaults\": " + quoted(joined(fields))))
                return
            }
            let block = AttributeBlock(name: "", location: location, statements: [])
            state = braceOnSameLine ? .inBlock(block, isDefaults: true) : .expectingBrace(block, isDefaults: true)
        case "include", "includedir":
            guard fields.count == 2, !braceOnSameLine else {
                errors.append(Diagnostic(location, "expected \"" + fields[0] + " PATH\", got " + quoted(joined(fields))))
                return
            }
            if fields[0] == "include" {
                entries.append(.include(path: fields[1], location: location))
            } else {
                entries.append(.includeDirectory(path: fields[1], location: location))
            }
        case "}":
            errors.append(Diagnostic(location, "unexpected \"}\" outside a block"))
        default:
            errors.append(
                Diagnostic(
                    location,
                    "unexpected line " + quoted(String(decoding: line.bytes, as: UTF8.self))
                        + " outside a block: expected service NAME, defaults, include PATH or includedir DIRECTORY"))
        }
    }

    private mutating func finish() {
        switch state {
        case .top:
            break
        case .expectingBrace(let block, let isDefaults):
            errors.append(Diagnostic(block.location, "expected \"{\" after \"" + blockTitle(block, isDefaults) + "\", found the end of the file"))
        case .inBlock(let block, let isDefaults):
            errors.append(Diagnostic(block.location, "missing \"}\" to close \"" + blockTitle(block, isDefaults) + "\" before the end of the file"))
            entries.append(isDefaults ? .defaults(block) : .service(block))
        }
        state = .top
    }

    private func blockTitle(_ block: AttributeBlock, _ isDefaults: Bool) -> String {
        isDefaults ? "defaults" : "service " + block.name
    }

    /// Returns whether a line inside a block looks like the start of the
    /// next block, which means the `}` was forgotten.
    private func startsNewBlock(_ bytes: ArraySlice<UInt8>) -> Bool {
        let fields = splitFields(bytes)
        guard let first = fields.first else { return false }
        if first == "service" { return fields.count == 2 || (fields.count == 3 && fields[2] == "{") }
        if first == "defaults" { return fields.count == 1 || (fields.count == 2 && fields[1] == "{") }
        return false
    }

    private func joined(_ fields: [String]) -> String {
        var text = ""
        for field in fields { text += text.isEmpty ? field : " " + field }
        return text
    }
}

/// Parses `name op value value ...`; returns nil when the line has no
/// attribute name followed by `=`, `+=` or `-=`.
func parseStatement(_ bytes: ArraySlice<UInt8>, _ location: SourceLocation) -> AttributeStatement? {
    var index = bytes.startIndex
    while index < bytes.endIndex && isNameByte(bytes[index]) { index += 1 }
    guard index > bytes.startIndex else { return nil }
    let name = String(decoding: bytes[bytes.startIndex..<index], as: UTF8.self)
    while index < bytes.endIndex && isBlank(bytes[index]) { index += 1 }
    guard index < bytes.endIndex else { return nil }

    let operation: AssignmentOperator
    switch bytes[index] {
    case UInt8(ascii: "="):
        operation = .set
        index += 1
    case UInt8(ascii: "+"), UInt8(ascii: "-"):
        guard index + 1 < bytes.endIndex, bytes[index + 1] == UInt8(ascii: "=") else { return nil }
        operation = bytes[index] == UInt8(ascii: "+") ? .add : .remove
        index += 2
    default:
        return nil
    }
    let values = splitFields(bytes[index...])
    return AttributeStatement(name: name, operation: operation, values: values, location: location)
}

private func isNameByte(_ byte: UInt8) -> Bool {
    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
        || isDigit(byte) || byte == UInt8(ascii: "_")
}
