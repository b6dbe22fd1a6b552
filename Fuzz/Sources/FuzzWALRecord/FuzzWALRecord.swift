import Foundation
import LLMTraceStore

/// Any bytes after a valid WAL header: the scanner must stop at the first bad record with a reason,
/// never crash, and never report more records than fit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let path = NSTemporaryDirectory() + "fuzz-wal-\(getpid())/0000000000000001.wal"
    try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    var file = WALFile.header(number: 1)
    file.append(contentsOf: UnsafeBufferPointer(start: data, count: size))
    try! FileIO.replaceFile(path, with: file)
    let scan = try! WALReader.scan(path: path, number: 1) { _ in }
    precondition(scan.validEnd <= file.count)
    precondition(scan.problem != nil || scan.validEnd == file.count)
    return 0
}
