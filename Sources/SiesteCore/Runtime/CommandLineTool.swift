import CSieste

/// Exit codes, from sysexits(3), so scripts can tell failures apart.
public enum ExitCode {
    public static let success: Int32 = 0
    /// Bad command line.
    public static let usage: Int32 = 64
    /// A system call failed, or no service could bind its sockets.
    public static let systemFailure: Int32 = 71
    /// The configuration did not load.
    public static let configuration: Int32 = 78
}

/// Parses the command line and runs the chosen command.
public enum CommandLineTool {
    public static let version = "0.1.0"
    public static let defaultConfiguration = "/etc/sieste/sieste.conf"
    public static let defaultControlSocket = "/run/sieste.sock"

    static let usage = """
    usage: sieste [serve] [-c FILE]... [--format xinetd|inetd] [--socket PATH] [--verbose]
           sieste check [-c FILE]... [--format xinetd|inetd]
           sieste status [--socket PATH]
           sieste convert [--format inetd|systemd] FILE
           sieste --version | --help

    serve    run in the foreground, logging to stderr (the default command)
    check    load and validate the configuration, print the services, and
             exit with 78 when it does not load
    status   print what each service of the running daemon is doing now
    convert  print an inetd.conf, or a systemd .socket with its .service, as
             native configuration on stdout
    -c FILE  configuration file, repeatable (default /etc/sieste/sieste.conf)
    --format force the file format instead of detecting it
    --socket PATH  control socket that status reads (default /run/sieste.sock;
             "none" runs without one)
    --verbose  add debug lines to the log

    Signals: HUP reloads, TERM and INT stop, USR1 logs the state.
    Exit codes: 0 success, 64 usage, 71 system failure, 78 configuration.

    """

    struct Options {
        var command = "serve"
        var paths: [String] = []
        var format = ConfigFormat.automatic
        var verbose = false
        var controlSocket = CommandLineTool.defaultControlSocket
    }

    public static func run(arguments: [String]) -> Int32 {
        var options = Options()
        var index = 1
        var sawCommand = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            switch argument {
            case "convert" where !sawCommand:
                return convert(Array(arguments[index...]))
            case "serve" where !sawCommand, "check" where !sawCommand, "status" where !sawCommand:
                options.command = argument
                sawCommand = true
            case "-c", "--config":
                guard index < arguments.count else { return usageError("option " + argument + " needs a FILE") }
                options.paths.append(arguments[index])
                index += 1
            case "--format":
                guard index < arguments.count else { return usageError("option --format needs xinetd or inetd") }
                switch arguments[index] {
                case "xinetd": options.format = .xinetd
                case "inetd": options.format = .inetd
                default: return usageError("invalid --format \"" + arguments[index] + "\": expected xinetd or inetd")
                }
                index += 1
            case "--socket":
                guard index < arguments.count else { return usageError("option --socket needs a PATH") }
                options.controlSocket = arguments[index]
                index += 1
            case "-v", "--verbose":
                options.verbose = true
            case "-h", "--help":
                writeText(1, usage)
                return ExitCode.success
            case "--version":
                writeText(1, "sieste " + version + "\n")
                return ExitCode.success
            default:
                return usageError("unknown argument \"" + argument + "\"")
            }
        }
        if options.paths.isEmpty { options.paths = [defaultConfiguration] }

        switch options.command {
        case "check":
            return check(options)
        case "serve":
            return serve(options)
        case "status":
            return status(options)
        default:
            writeText(2, "sieste: the " + options.command + " command is not available in this version\n")
            return ExitCode.usage
        }
    }

    static let convertUsage = "usage: sieste convert [--format inetd|systemd] FILE\n"

    /// Runs `sieste convert [--format inetd|systemd] FILE`: prints the native
    /// configuration on stdout, warnings and errors as `FILE:LINE: message`
    /// on stderr, and exits with 78 when the file cannot be converted.
    static func convert(_ arguments: [String]) -> Int32 {
        var format = ConversionSource.automatic
        var file: String? = nil
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--format" {
                guard index < arguments.count else { return convertUsageError("option --format needs inetd or systemd") }
                switch arguments[index] {
                case "inetd": format = .inetd
                case "systemd": format = .systemd
                default: return convertUsageError("invalid --format \"" + arguments[index] + "\": expected inetd or systemd")
                }
                index += 1
            } else if argument == "-h" || argument == "--help" {
                writeText(1, convertUsage)
                return ExitCode.success
            } else if argument.utf8.first == UInt8(ascii: "-") && argument != "-" {
                return convertUsageError("unknown option \"" + argument + "\"")
            } else if file == nil {
                file = argument
            } else {
                return convertUsageError("convert takes one FILE, got \"" + file! + "\" and \"" + argument + "\"")
            }
        }
        guard let file else { return convertUsageError("convert needs a FILE: an inetd.conf or a systemd .socket unit") }

        let result = ConfigConverter().convert(path: file, format: format)
        for warning in result.warnings { writeText(2, warning.text + " (warning)\n") }
        for error in result.errors { writeText(2, error.text + "\n") }
        if !result.errors.isEmpty { return ExitCode.configuration }
        writeText(1, result.text)
        return ExitCode.success
    }

    static func convertUsageError(_ message: String) -> Int32 {
        writeText(2, "sieste: " + message + "\n" + convertUsage)
        return ExitCode.usage
    }

    static func usageError(_ message: String) -> Int32 {
        writeText(2, "sieste: " + message + "\n" + usage)
        return ExitCode.usage
    }

    /// Loads the configuration; errors go to stderr as `FILE:LINE: message`
    /// lines, or as `error config` log lines when a logger is given.
    static func load(_ options: Options, logger: Logger? = nil) -> Configuration? {
        do throws(ConfigurationError) {
            return try ConfigurationLoader().load(paths: options.paths, format: options.format)
        } catch {
            if let logger {
                for diagnostic in error.diagnostics { logger.error("config", [("message", diagnostic.text)]) }
                logger.error("startup-failed", [("reason", "the configuration did not load"),
                                                ("errors", String(error.diagnostics.count))])
                return nil
            }
            for diagnostic in error.diagnostics { writeText(2, diagnostic.text + "\n") }
            writeText(2, "sieste: the configuration did not load (" + String(error.diagnostics.count) + " error"
                + (error.diagnostics.count == 1 ? ")\n" : "s)\n"))
            return nil
        }
    }

    static func check(_ options: Options) -> Int32 {
        guard let configuration = load(options) else { return ExitCode.configuration }
        for warning in configuration.warnings { writeText(2, warning.text + " (warning)\n") }
        for service in configuration.services {
            writeText(1, describe(service, enabled: true))
        }
        for service in configuration.disabledServices {
            writeText(1, describe(service, enabled: false))
        }
        writeText(1, String(configuration.services.count) + " enabled, "
            + String(configuration.disabledServices.count) + " disabled\n")
        return ExitCode.success
    }

    static func status(_ options: Options) -> Int32 {
        do throws(SystemError) {
            writeText(1, try readDaemonStatus(path: options.controlSocket))
            return ExitCode.success
        } catch {
            writeText(2, "sieste: cannot read the state of a running sieste: " + error.description
                + " (is sieste running, and with this --socket?)\n")
            return ExitCode.systemFailure
        }
    }

    static func describe(_ service: ServiceConfig, enabled: Bool) -> String {
        var line = service.id + " " + service.mode.rawValue
        line += " " + (service.listen.isEmpty ? "-" : service.listen.map { $0.address.text }.joined(separator: ","))
        if let redirect = service.redirect { line += " -> " + redirect.text }
        if let server = service.server { line += " " + server }
        if let builtin = service.builtin { line += " builtin:" + builtin.rawValue }
        if !enabled { line += " (disabled)" }
        return line + "\n"
    }

    static func serve(_ options: Options) -> Int32 {
        let logger = Logger(verbose: options.verbose)
        guard let configuration = load(options, logger: logger) else { return ExitCode.configuration }
        let daemon: Daemon
        do throws(SystemError) {
            daemon = try Daemon(logger: logger, configurationPaths: options.paths, format: options.format,
                                loader: ConfigurationLoader())
        } catch {
            logger.error("startup-failed", [("error", error.description)])
            return ExitCode.systemFailure
        }
        if options.controlSocket != "none" { daemon.openControlSocket(at: options.controlSocket) }
        let bound = daemon.start(configuration)
        if bound == 0 && !configuration.services.isEmpty {
            logger.error("startup-failed", [("reason", "no service could bind its sockets")])
            return ExitCode.systemFailure
        }
        logger.info("ready", [("services", String(bound)), ("pid", String(getpid()))])
        _ = csieste_sd_notify("READY=1")
        do throws(SystemError) {
            try daemon.run()
        } catch {
            logger.error("loop-failed", [("error", error.description)])
            return ExitCode.systemFailure
        }
        return ExitCode.success
    }
}
