#include <cstdio>
#include <fmt/format.h>

#include "app/KvmCheck.h"
#include "app/Options.h"
#include "app/Run.h"
#include "base/Error.h"

int main(int argc, char **argv)
{
	using namespace quanta;
	CommandLine cli = parseCommandLine({ argv, argv + argc });
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
