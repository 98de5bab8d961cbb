import CSieste

/// Reads the pipe on a child's fd 2 and logs each line tagged with the
/// service and pid, so a service's complaints land in sieste's log.
final class StderrReader {
    let fd: FileDescriptor
    let service: ServiceRuntime
    let pid: Int32
    var token: UInt64 = 0
    private var pending: [UInt8] = []
    /// A longer line is logged in pieces of this size.
    static let maximumLine = 2048

    init(fd: FileDescriptor, service: ServiceRuntime, pid: Int32) {
        self.fd = fd
        self.service = service
        self.pid = pid
    }

    /// Reads what is there; returns false at end of file.
    func readAvailable() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        // One read per readiness event: the loop is level-triggered, so a
        // blocking descriptor never blocks here.
        let count = buffer.withUnsafeMutableBytes { CSieste.read(fd.rawValue, $0.baseAddress, $0.count) }
        if count < 0 {
            let code = csieste_errno()
            return code == EINTR || code == EAGAIN
        }
        if count == 0 {
            if !pending.isEmpty { emit(pending[...]) }
            pending.removeAll()
            return false
        }
        pending.append(contentsOf: buffer[0..<count])
        var start = 0
        for index in 0..<pending.count where pending[index] == 0x0a {
            emit(pending[start..<index])
            start = index + 1
        }
        pending.removeFirst(start)
        while pending.count >= StderrReader.maximumLine {
            emit(pending[0..<StderrReader.maximumLine])
            pending.removeFirst(StderrReader.maximumLine)
        }
        return true
    }

    private func emit(_ bytes: ArraySlice<UInt8>) {
        service.logStderrLine(pid: pid, line: String(decoding: bytes, as: UTF8.self))
    }
}
