import LLMTraceCLI
import LLMTraceModel
import LLMTraceStore
import LLMTraceSynthetic

/// `llmtrace-bench writer`: the process the crash test kills. It appends synthetic batches whose span
/// ids encode (run, counter) and prints `ack <run> <first-counter> <count>` only after `append`
/// returned, so every printed line names spans that were acknowledged.
enum CrashWriter {
    static func run(_ argv: [String]) throws {
        let a = try ArgumentParser.parse(argv, options: ["data", "batch", "run", "seal-spans", "batches"], flags: [])
        guard let dir = a.value("data") else { throw UsageError("writer needs --data DIR") }
        let batch = try a.int("batch", default: 64)
        let run = try a.int("run", default: 1)
        let maxBatches = try a.int("batches", default: Int.max)
        var opts = StoreOptions(directory: dir)
        opts.sealSpanCount = try a.int("seal-spans", default: 1000)
        opts.log = { _, _ in }
        let store = try Store.open(opts)
        var gen = SyntheticWorkload(seed: UInt64(run))
        var counter: UInt64 = 0
        var batches = 0
        while batches < maxBatches {
            var spans = gen.nextBatch(count: batch)
            let first = counter
            for i in spans.indices {
                // High 24 bits: the run; low 40: a counter. Unique across runs on one data directory.
                spans[i].spanID = SpanID(UInt64(run) << 40 | counter)
                counter += 1
            }
            try store.append(spans)
            Terminal.write("ack \(run) \(first) \(spans.count)\n")
            batches += 1
        }
        try store.close()
    }
}
