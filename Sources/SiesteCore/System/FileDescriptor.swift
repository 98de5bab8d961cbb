import CSieste

/// A raw descriptor number. Ownership is explicit: whoever holds it in a
/// stored property closes it exactly once with `close()`.
public struct FileDescriptor: Hashable, Sendable {
    public let rawValue: Int32

    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// Closes the descriptor; EINTR is not retried, since Linux has already
    /// released the number by then (close(2)).
    public func close() {
        _ = CSieste.close(rawValue)
    }

    /// Reads until end of file, or until more than `limit` bytes have
    /// arrived, which the caller then checks (read(2) on a blocking
    /// descriptor).
    public func readToEnd(limit: Int, subject: String) throws(SystemError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while bytes.count <= limit {
            let count = chunk.withUnsafeMutableBytes { raw in CSieste.read(rawValue, raw.baseAddress, raw.count) }
            if count < 0 {
                let code = csieste_errno()
                if code == EINTR { continue }
                throw SystemError("read", errno: code, subject: subject)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// Sets or clears O_NONBLOCK (fcntl(2)).
    public func setNonBlocking(_ enabled: Bool) throws(SystemError) {
        let flags = try retryingInterrupts("fcntl") { csieste_fcntl_getfl(rawValue) }
        let wanted = enabled ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        if wanted != flags {
            _ = try retryingInterrupts("fcntl") { csieste_fcntl_setfl(rawValue, wanted) }
        }
    }
}

/// Creates a pipe with both ends close-on-exec (pipe2(2)).
public func makePipe(nonBlocking: Bool) throws(SystemError) -> (read: FileDescriptor, write: FileDescriptor) {
    var fds: (Int32, Int32) = (-1, -1)
    let flags = O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0)
    _ = try withUnsafeMutableBytes(of: &fds) { (raw) throws(SystemError) -> Int32 in
        let pointer = raw.baseAddress!.assumingMemoryBound(to: Int32.self)
        return try retryingInterrupts("pipe2") { csieste_pipe2(pointer, flags) }
    }
    return (FileDescriptor(fds.0), FileDescriptor(fds.1))
}

/// Opens a path close-on-exec (open(2)).
public func openFile(_ path: String, flags: Int32) throws(SystemError) -> FileDescriptor {
    let fd = try retryingInterrupts("open", subject: path) { csieste_open(path, flags | O_CLOEXEC, 0o644) }
    return FileDescriptor(fd)
}

/// Reads a whole file; `limit` bounds what a configuration file may weigh.
public func readWholeFile(_ path: String, limit: Int = 4 << 20) throws(SystemError) -> [UInt8] {
    let fd = try openFile(path, flags: O_RDONLY)
    defer { fd.close() }
    let bytes = try fd.readToEnd(limit: limit, subject: path)
    if bytes.count > limit { throw SystemError("read", errno: EFBIG, subject: path) }
    return bytes
}

/// Lists the names in a directory, without "." and "..", unsorted.
public func directoryEntries(_ path: String) throws(SystemError) -> [String] {
    var capacity = 65536
    while true {
        var buffer = [CChar](repeating: 0, count: capacity)
        let used = buffer.withUnsafeMutableBufferPointer { csieste_readdir_names(path, $0.baseAddress, capacity) }
        if used < 0 {
            let code = csieste_errno()
            if code == ERANGE && capacity < (16 << 20) {
                capacity *= 4
                continue
            }
            throw SystemError("opendir", errno: code, subject: path)
        }
        var names: [String] = []
        var start = 0
        for index in 0..<Int(used) where buffer[index] == 0 {
            let name = buffer[start..<index].withUnsafeBufferPointer { part in
                String(decoding: UnsafeRawBufferPointer(part), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
            start = index + 1
        }
        return names
    }
}

/// The part of stat(2) that configuration loading needs.
public struct FileStatus: Sendable {
    public var isDirectory: Bool
    public var isRegular: Bool
    public var isExecutable: Bool
}

/// Returns the status of a path, or nil when it does not exist (stat(2)).
public func fileStatus(_ path: String) -> FileStatus? {
    var mode: UInt32 = 0
    guard csieste_stat_mode(path, &mode) == 0 else { return nil }
    let type = mode & UInt32(S_IFMT)
    return FileStatus(
        isDirectory: type == UInt32(S_IFDIR),
        isRegular: type == UInt32(S_IFREG),
        isExecutable: access(path, X_OK) == 0
    )
}

/// Writes a whole string to a descriptor, ignoring failures; for logs.
public func writeText(_ fd: Int32, _ text: String) {
    var copy = text
    copy.withUTF8 { bytes in
        _ = csieste_write_all(fd, bytes.baseAddress, bytes.count)
    }
}
