import Foundation
import LLMTraceSupport

/// A fixed set of threads taking jobs from a bounded queue. Handlers may block (an append waits for
/// its WAL fsync), so they never run on an event loop; a full queue is refused at once (`offer`
/// returns false) and the loop answers 429 with Retry-After instead of buffering without bound.
final class WorkerPool: @unchecked Sendable {
    struct Job {
        let loop: EventLoop
        let fd: Int32
        let connection: UInt64
        let request: HTTPRequest
    }

    private let cond = Condition()
    /// Jobs from `head`; taken slots are set to nil at once (a taken job holds its request body).
    private var queue: [Job?] = []
    private var head = 0
    private var queuedBytes = 0
    private let maxJobs: Int
    private let maxBytes: Int
    private var closed = false
    private var running = 0
    private let handler: HTTPServer.Handler

    init(threads: Int, maxJobs: Int, maxBytes: Int, handler: @escaping HTTPServer.Handler) {
        self.maxJobs = maxJobs
        self.maxBytes = maxBytes
        self.handler = handler
        for i in 0..<threads {
            running += 1
            let t = Thread { [self] in
                setCurrentThreadName("http-worker-\(i)")
                work()
            }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Jobs waiting for a worker.
    var depth: Int { cond.withLock { queue.count - head } }

    /// Queues a job unless the queue is full (by count or by body bytes). A request larger than
    /// the byte budget is still taken when the queue is empty, so it can always make progress.
    func offer(_ job: Job) -> Bool {
        cond.withLock {
            let n = queue.count - head
            if closed || n >= maxJobs || (n > 0 && queuedBytes + job.request.body.count > maxBytes) { return false }
            queue.append(job)
            queuedBytes += job.request.body.count
            cond.broadcast()
            return true
        }
    }

    private func work() {
        while true {
            cond.lock()
            while head == queue.count && !closed { cond.wait() }
            if head == queue.count {
                running -= 1
                cond.broadcast()
                cond.unlock()
                return
            }
            let job = queue[head]!
            queue[head] = nil
            head += 1
            queuedBytes -= job.request.body.count
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            cond.unlock()
            let started = monotonicNanos()
            let response = handler(job.request)
            job.loop.complete(fd: job.fd, connection: job.connection, response: response, handlerNanos: monotonicNanos() - started)
        }
    }

    /// Lets the workers finish the queue, then waits for them to exit.
    func close() {
        cond.withLock {
            closed = true
            cond.broadcast()
            while running > 0 { cond.wait() }
        }
    }
}
