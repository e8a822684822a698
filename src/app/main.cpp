#include <cstdio>
#include <exception>
#include <fmt/format.h>
#include <new>

#include "app/Experiment.h"
#include "app/HvtCommand.h"
#include "app/KvmCheck.h"
#include "app/Options.h"
#include "app/PlotCommand.h"
#include "app/Run.h"
#include "app/Sweep.h"
#include "base/Error.h"

namespace {

using namespace quanta;

int command(const std::vector<std::string> &args)
{
	// Commands besides the plain `quanta [options]`: an experiment file,
	// drawing a trace without running anything, sweeps (Sweep.h) and
	// solo5-hvt's drop-in (HvtCommand.h).
	std::string name = args.size() > 1 ? args[1] : "";
	if (name == "plot")
		return plotCommand(args);
	if (name == "sweep")
		return sweepCommand(args);
	if (name == "hvt")
		return hvtCommand(args);
	CommandLine cli = name == "run" ? parseExperiment(args) : parseCommandLine(args);
	if (!cli.options) {
		std::fputs(cli.message.c_str(), cli.messageIsError ? stderr : stdout);
		return cli.exitCode;
	}
	for (const std::string &warning : cli.warnings)
		std::fprintf(stderr, "%s\n", warning.c_str());
	return cli.options->kvmCheck ? checkKvm() : run(*cli.options);
}

// Printing in the error boundary must not throw again.
void say(const char *prefix, const char *message) noexcept
{
	std::fputs(prefix, stderr);
	std::fputs(message, stderr);
	std::fputc('\n', stderr);
}

} // namespace

// The one error boundary: every command runs inside it, so no exception
// (bad_alloc included) ever escapes as an abort; each becomes one line and
// the documented exit status.
int main(int argc, char **argv)
{
	try {
		return command(std::vector<std::string>(argv, argv + argc));
	} catch (const UsageError &e) {
		say("quanta: ", e.what());
		return kExitUsage;
	} catch (const HostError &e) {
		say("quanta: ", e.what());
		return kExitHost;
	} catch (const std::bad_alloc &) {
		say("quanta: ", "out of memory");
		return kExitHost;
	} catch (const std::exception &e) {
		say("quanta: internal error: ", e.what());
		return kExitHost;
	} catch (...) {
		say("quanta: internal error: ", "unknown exception");
		return kExitHost;
	}
}
