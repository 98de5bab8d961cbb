/// `type = INTERNAL` services.
extension ServiceRuntime {
    static func supportsBuiltin(_ config: ServiceConfig) -> Bool {
        false
    }

    func builtinReady(_ listener: Listener) {
        setWatching(false)
    }
}
