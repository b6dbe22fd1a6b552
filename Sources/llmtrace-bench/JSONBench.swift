enum JSONBench { static func run(_ a: [String]) throws {} }
