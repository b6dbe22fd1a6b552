// swift-tools-version:6.0
// libFuzzer targets for LLMTrace's decoders. Kept out of the main package because a fuzz target has no
// main() until libFuzzer links one in. Build and run (see Fuzz/README.md):
//   swift build -c release --product FuzzSpanJSON --sanitize=address --sanitize=fuzzer -Xswiftc -parse-as-library
import PackageDescription

let package = Package(
    name: "LLMTraceFuzz",
    dependencies: [.package(name: "LLMTrace", path: "..")],
    targets: [
        .executableTarget(name: "FuzzSpanJSON", dependencies: [.product(name: "LLMTraceModel", package: "LLMTrace")]),
        .executableTarget(name: "FuzzWALRecord", dependencies: [.product(name: "LLMTraceStore", package: "LLMTrace")]),
        .executableTarget(name: "FuzzLZ4Block", dependencies: [.product(name: "LLMTraceStore", package: "LLMTrace")]),
        .executableTarget(name: "FuzzSegment", dependencies: [.product(name: "LLMTraceStore", package: "LLMTrace"), .product(name: "LLMTraceQuery", package: "LLMTrace")]),
        .executableTarget(name: "FuzzOTLPProtobuf", dependencies: [.product(name: "LLMTraceIngest", package: "LLMTrace")]),
        .executableTarget(name: "FuzzOTLPJSON", dependencies: [.product(name: "LLMTraceIngest", package: "LLMTrace")]),
        .executableTarget(name: "FuzzBodyDecoding", dependencies: [.product(name: "LLMTraceHTTP", package: "LLMTrace"), .product(name: "LLMTraceStore", package: "LLMTrace")]),
        .executableTarget(name: "FuzzHTTPParser", dependencies: [.product(name: "LLMTraceHTTP", package: "LLMTrace")]),
        .executableTarget(name: "FuzzHPACK", dependencies: [.product(name: "LLMTraceHTTP", package: "LLMTrace")]),
        .executableTarget(name: "FuzzHTTP2", dependencies: [.product(name: "LLMTraceHTTP", package: "LLMTrace")]),
        .executableTarget(name: "FuzzSDKAnswers", dependencies: [.product(name: "LLMTrace", package: "LLMTrace")]),
        .executableTarget(name: "FuzzQuery", dependencies: [.product(name: "LLMTraceQuery", package: "LLMTrace"), .product(name: "LLMTraceStore", package: "LLMTrace"), .product(name: "LLMTraceModel", package: "LLMTrace")]),
    ]
)
