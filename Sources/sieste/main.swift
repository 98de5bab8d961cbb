import CSieste
import SiesteCore

func commandLineArguments() -> [String] {
    var arguments: [String] = []
    for index in 0..<csieste_argument_count() {
        arguments.append(String(cString: csieste_argument(index)))
    }
    return arguments
}

exit(CommandLineTool.run(arguments: commandLineArguments()))
