#include <cstdio>
#include <fmt/format.h>

#include "app/Experiment.h"
#include "app/KvmCheck.h"
#include "app/Options.h"
#include "app/PlotCommand.h"
#include "app/Run.h"
#include "base/Error.h"

int main(int argc, char **argv)
{
	using namespace quanta;
	std::vector<std::string> args(argv, argv + argc);
	// Two commands besides the plain `quanta [options]`: an experiment
	// file, and drawing a trace without running anything.
	std::string command = args.size() > 1 ? args[1] : "";
	if (command == "plot")
		return plotCommand(args);
	CommandLine cli = command == "run" ? parseExperiment(args) : parseCommandLine(args);
	if (!cli.options) {
		std::fputs(cli.message.c_str(), cli.messageIsError ? stderr : stdout);
		return cli.exitCode;
	}
	try {
		return cli.options->kvmCheck ? checkKvm() : run(*cli.options);
	} catch (const UsageError &e) {
		fmt::print(stderr, "quanta: {}\n", e.what());
		return kExitUsage;
	} catch (const HostError &e) {
		fmt::print(stderr, "quanta: {}\n", e.what());
		return kExitHost;
	} catch (const std::exception &e) {
		fmt::print(stderr, "quanta: internal error: {}\n", e.what());
		return kExitHost;
	}
}
