// Experiment files: one TOML file describes a whole run (guests, names,
// shares, policy, quantum, duration, channels, files, outputs), so an
// experiment is one command, `quanta run FILE.toml`, and lives in version
// control. The file is translated into the command line it stands for and
// parsed by parseCommandLine, so a file and the equivalent flags give the
// same Options by construction; flags after the file override its keys.
//
// Keys (all optional but [[vm]]; the README has the full table):
//   description = "free text"       policy = "stride"   quantum = "10ms"
//   duration = "3s"  memory = 2  page = 4  mode = "real"  seed = 42
//   load, entry, cs_base, unknown_ports, files = [...], files_dir,
//   file_max_size, stdin = "Neo", report, prefix, status, explain,
//   stats_json, trace, trace_csv, trace_level, plot
//   [[vm]]      image = "...", name = "Neo", share = 70, mode = "real"
//   [[channel]] from = "Producer", to = "Consumer", slots = 6, size = 256, name = "..."
// Input paths (images, files) are relative to the file's directory; output
// paths (stats_json, trace, trace_csv, plot, files_dir) to the directory
// quanta runs in. An unknown key is an error.
#pragma once

#include <string>
#include <vector>

#include "app/Options.h"

namespace quanta {

// One option of the translated command line and its values.
struct ExperimentArg {
	std::string option;              // e.g. "--share"
	std::vector<std::string> values; // none for flags
	// Flags on the command line that replace this group ([[vm]] keys
	// belong with --guest: new guests need their own names and shares).
	std::vector<std::string> replacedBy;
};

// Reads and checks the file; throws UsageError ("FILE:LINE: ...").
std::vector<ExperimentArg> experimentArguments(const std::string &path);

// The command line: the file's arguments minus those the overrides
// replace, then the overrides. program is argv[0].
std::vector<std::string> experimentCommandLine(const std::string &program, const std::vector<ExperimentArg> &file,
					       const std::vector<std::string> &overrides);

// `quanta run FILE.toml [options...]`: args[0] is the program, args[1]
// "run". Never throws and never exits.
CommandLine parseExperiment(const std::vector<std::string> &args);

} // namespace quanta
