enum CrashWriter { static func run(_ a: [String]) throws {} }
