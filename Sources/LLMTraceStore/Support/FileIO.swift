#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CLinux

/// Thin, error-reporting wrappers over the POSIX file calls the store needs.
///
/// There is one way to replace a file (`replaceFile`: tmp, fsync, rename, fsync the directory) and
/// every error names the path and the errno text.
public enum FileIO {
    static func errnoText(_ e: Int32 = Glibc.errno) -> String { String(cString: strerror(e)) }

    /// The error for a failed call, with the errno it left.
    static func failure(_ what: String, _ path: String) -> StoreError {
        let e = Glibc.errno
        return StoreError("\(what) failed: \(errnoText(e))", path: path, errno: e)
    }

    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws -> Int32 {
        if flags & O_CREAT != 0 { try FileFaults.check(.create, path, "open") }
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("open", path) }
        return fd
    }

    public static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer, path: String) throws {
        try injectWriteFault(buf, path: path) { Glibc.write(fd, $0.baseAddress!, $0.count) }
        var off = 0
        while off < buf.count {
            let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("write", path)
            }
            off += n
        }
    }

    /// Writes all of `buf` at `offset`, whatever the descriptor's position (the WAL writes at its
    /// durable end this way, so a failed write can never leave a gap before the next one).
    public static func pwriteAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        try injectWriteFault(buf, path: path) { Glibc.pwrite(fd, $0.baseAddress!, $0.count, off_t(offset)) }
        var off = 0
        while off < buf.count {
            let n = Glibc.pwrite(fd, buf.baseAddress! + off, buf.count - off, off_t(offset + off))
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("write", path)
            }
            off += n
        }
    }

    /// An injected write failure writes half the bytes first, as running out of space does.
    private static func injectWriteFault(_ buf: UnsafeRawBufferPointer, path: String, _ write: (UnsafeRawBufferPointer) -> Int) throws {
        guard let e = FileFaults.injected(.write, path) else { return }
        if buf.count > 1 { _ = write(UnsafeRawBufferPointer(rebasing: buf[..<(buf.count / 2)])) }
        throw StoreError("write failed: \(errnoText(e))", path: path, errno: e)
    }

    public static func fsync(_ fd: Int32, path: String) throws {
        try FileFaults.check(.fsync, path, "fsync")
        // fdatasync: the WAL and segments never depend on mtime, and size changes are still flushed.
        guard Glibc.fdatasync(fd) == 0 else { throw failure("fsync", path) }
    }

    public static func fsyncDirectory(_ dir: String) throws {
        try FileFaults.check(.syncDirectory, dir, "fsync of directory")
        let fd = try open(dir, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        guard Glibc.fsync(fd) == 0 else { throw failure("fsync of directory", dir) }
    }

    public static func fileSize(_ path: String) -> Int? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int(st.st_size)
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func readFile(_ path: String) throws -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw failure("stat", path) }
        let size = Int(st.st_size)
        var out = [UInt8](repeating: 0, count: size)
        var off = 0
        try out.withUnsafeMutableBytes { (b: UnsafeMutableRawBufferPointer) throws in
            while off < size {
                let n = Glibc.read(fd, b.baseAddress! + off, size - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure("read", path)
                }
                if n == 0 { break }
                off += n
            }
        }
        if off < size { out.removeSubrange(off...) }
        return out
    }

    /// Atomically replaces `path` with `bytes`: write a tmp file, fsync it, rename, fsync the directory.
    public static func replaceFile(_ path: String, with bytes: [UInt8]) throws {
        let f = try AtomicFileWriter(path: path)
        do {
            try bytes.withUnsafeBytes { try f.write($0) }
        } catch {
            f.abandon()
            throw error
        }
        try f.commit()
    }

    /// Pushes a file's dirty pages to the disk 2 MiB at a time, waiting for each piece, then
    /// fdatasyncs it. A plain fsync of tens of MB queues every other fsync on the disk behind it
    /// (an acknowledgement's WAL fsync went from ~5 to 150 ms during an index checkpoint); in
    /// pieces, the WAL's fsyncs slip in between.
    public static func flushGently(_ fd: Int32) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return }
        let size = Int64(st.st_size)
        let piece: Int64 = 2 << 20
        var off: Int64 = 0
        while off < size {
            _ = sync_file_range(fd, off, min(piece, size - off),
                                UInt32(CLINUX_SYNC_FILE_RANGE_WAIT_BEFORE | CLINUX_SYNC_FILE_RANGE_WRITE | CLINUX_SYNC_FILE_RANGE_WAIT_AFTER))
            off += piece
        }
        _ = fdatasync(fd)
    }

    /// The descriptor this process already has open on `path` (found through /proc/self/fd), or nil.
    /// For files another library owns (SQLite's): opening and closing a second descriptor would drop
    /// that library's POSIX locks on the file.
    public static func openDescriptor(of path: String) -> Int32? {
        guard let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        let target = String(cString: real)
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        var buf = [CChar](repeating: 0, count: 4096)
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let fd = Int32(name) else { continue }
            let n = readlink("/proc/self/fd/" + name, &buf, buf.count - 1)
            guard n > 0 else { continue }
            let link = buf.withUnsafeBufferPointer { String(decoding: UnsafeRawBufferPointer($0).prefix(n), as: UTF8.self) }
            if link == target { return fd }
        }
        return nil
    }

    public static func rename(_ from: String, to: String) throws {
        try FileFaults.check(.rename, from, "rename to \(to)")
        guard Glibc.rename(from, to) == 0 else { throw failure("rename to \(to)", from) }
    }

    public static func remove(_ path: String) throws {
        try FileFaults.check(.unlink, path, "unlink")
        guard unlink(path) == 0 || errno == ENOENT else { throw failure("unlink", path) }
    }

    public static func truncate(_ path: String, to size: Int) throws {
        try FileFaults.check(.truncate, path, "truncate")
        guard Glibc.truncate(path, off_t(size)) == 0 else { throw failure("truncate", path) }
    }

    public static func truncate(_ fd: Int32, path: String, to size: Int) throws {
        try FileFaults.check(.truncate, path, "truncate")
        guard Glibc.ftruncate(fd, off_t(size)) == 0 else { throw failure("truncate", path) }
    }

    public static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StoreError("cannot create directory: \(error.localizedDescription)", path: path)
        }
    }

    /// File names (not paths) in `dir`, sorted.
    public static func list(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// A read-only memory map of a whole file, unmapped when the last reference goes.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?

    /// Anonymous memory holding bytes built in this process, not a file's pages: dropping its
    /// resident pages would zero it, so `dropResidentPages` and `willNeed` leave it alone.
    private let anonymous: Bool

    /// `bytes` copied into anonymous memory, read like a mapped file (`path` names what they are
    /// of, for errors).
    public init(copying source: [UInt8], path: String) throws {
        self.path = path
        anonymous = true
        guard !source.isEmpty else {
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let p = mmap(nil, source.count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else { throw StoreError("mmap of \(source.count) bytes failed: \(FileIO.errnoText())", path: path) }
        source.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        base = p
        bytes = UnsafeRawBufferPointer(start: p, count: source.count)
    }

    public init(path: String) throws {
        self.path = path
        anonymous = false
        let fd = try FileIO.open(path, O_RDONLY)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError("stat failed: \(FileIO.errnoText())", path: path) }
        let size = Int(st.st_size)
        if size == 0 {
            base = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { throw StoreError("mmap failed: \(FileIO.errnoText())", path: path) }
        // Without this, a read of one footer byte maps a whole 2 MiB page-cache folio into the
        // process (FilePmdMapped in smaps): 2 MB of RSS per open segment, 64 MB after 30 segments.
        _ = madvise(p, size, MADV_NOHUGEPAGE)
        base = p
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    deinit {
        if let base { munmap(base, bytes.count) }
    }

    /// Asks the kernel to read these byte ranges in now, all at once: a point read that will touch
    /// many scattered blocks of a file not in the page cache then waits for one round of parallel
    /// reads instead of one page fault after another.
    public func willNeed(_ ranges: [(offset: Int, count: Int)]) {
        guard let base, !anonymous else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        for r in ranges where r.count > 0 && r.offset >= 0 && r.offset + r.count <= bytes.count {
            let start = r.offset / page * page
            _ = madvise(base + start, r.offset + r.count - start, MADV_WILLNEED)
        }
    }

    /// Drops this mapping's resident pages after a bulk pass (text indexing, verification): they stay
    /// in the page cache and fault back in on the next read, but stop counting in this process's RSS.
    public func dropResidentPages() {
        if let base, !anonymous { _ = madvise(base, bytes.count, MADV_DONTNEED) }
    }
}

/// A file written front to back, then put in place atomically: `path.tmp` is written, fsynced,
/// renamed to `path`, and the directory fsynced (a crash leaves the old file or the whole new one).
///
/// Written in 2 MiB pieces, each pushed to the disk as the next is written and waited for before
/// the one after: the dirty data stays small, so the final fsync is short and WAL fsyncs
/// (acknowledgements) never queue behind tens of MB of segment. A caller can stream a file of any
/// size through it without holding it whole (the segment writer does).
public final class AtomicFileWriter {
    public let path: String
    let tmp: String
    let fd: Int32
    /// Bytes written so far.
    public private(set) var written = 0
    private var previousPiece: (offset: Int, length: Int)? = nil
    static let piece = 2 << 20

    public init(path: String) throws {
        self.path = path
        tmp = path + ".tmp"
        fd = try FileIO.open(tmp, O_WRONLY | O_CREAT | O_TRUNC)
    }

    public func write(_ b: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < b.count {
            let n = min(Self.piece, b.count - off)
            try FileIO.writeAll(fd, UnsafeRawBufferPointer(rebasing: b[off..<(off + n)]), path: tmp)
            _ = sync_file_range(fd, Int64(written), Int64(n), UInt32(CLINUX_SYNC_FILE_RANGE_WRITE))
            if let p = previousPiece {
                _ = sync_file_range(fd, Int64(p.offset), Int64(p.length),
                                    UInt32(CLINUX_SYNC_FILE_RANGE_WAIT_BEFORE | CLINUX_SYNC_FILE_RANGE_WRITE | CLINUX_SYNC_FILE_RANGE_WAIT_AFTER))
            }
            previousPiece = (written, n)
            written += n
            off += n
        }
    }

    /// fsync, rename into place, fsync the directory. On failure the tmp file is removed.
    public func commit() throws {
        do {
            try FileIO.fsync(fd, path: tmp)
        } catch {
            abandon()
            throw error
        }
        close(fd)
        do {
            try FileIO.rename(tmp, to: path)
        } catch {
            unlink(tmp)
            throw error
        }
        try FileIO.fsyncDirectory(FileIO.directory(of: path))
    }

    /// Gives up: the tmp file is closed and removed, `path` untouched.
    public func abandon() {
        close(fd)
        unlink(tmp)
    }
}
