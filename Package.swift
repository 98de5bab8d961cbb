// swift-tools-version:6.0
import PackageDescription

// The same sources build in two modes. `swift build` and `swift test` use
// standard Swift; `make release` adds `-enable-experimental-feature Embedded`
// for the shipped daemon (see Makefile), which is why SiesteCore reaches libc
// only through CSieste and never imports Glibc or Foundation.
let package = Package(
    name: "sieste",
    products: [
        .executable(name: "sieste", targets: ["sieste"]),
    ],
    targets: [
        .target(
            name: "CSieste",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        .target(
            name: "SiesteCore",
            dependencies: ["CSieste"]
        ),
        .executableTarget(
            name: "sieste",
            dependencies: ["SiesteCore", "CSieste"]
        ),
        // Benchmark tools, in C so that the load they generate costs as
        // little as possible; bench/run drives them.
        .executableTarget(
            name: "sieste-load",
            path: "bench/load"
        ),
        .executableTarget(
            name: "spawn-limit",
            path: "bench/spawn-limit"
        ),
        .testTarget(
            name: "SiesteCoreTests",
            dependencies: ["SiesteCore", "CSieste"]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: []
        ),
    ],
    swiftLanguageModes: [.v6]
)
