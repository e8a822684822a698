// Experiment files: one TOML file describes a whole run (guests, names,
// shares, policy, quantum, duration, channels, files, outputs), so an
// experiment is one command, `quanta run FILE.toml`, and lives in version
// control. Every top-level key is an option's key in the option table
// (Options.h), applied by the same function as the flag, so a file and the
// equivalent flags give the same Options by construction; flags after the
// file override its keys.
//
// Keys (all optional but [[vm]]; the README has the full table):
//   description = "free text"       policy = "stride"   quantum = "10ms"
//   duration = "3s"  memory = 2  page = 4  mode = "real"  seed = 42
//   load, entry, cs_base, unknown_ports, files = [...], files_dir,
//   file_max_size, stdin = "Neo", report, prefix, status, explain,
//   stats_json, trace, trace_csv, trace_level, plot, plot_style, out_dir,
//   hypercall_ports = { printStr = 0x80 }, echo_ports = [0x10, 0x11]
//   [[vm]]      image = "...", name = "Neo", share = 70, mode = "real"
//   [[channel]] from = "Producer", to = "Consumer", slots = 6, size = 256, name = "..."
// Input paths (images, files) are relative to the file's directory; output
// paths (stats_json, trace, trace_csv, plot), when relative, go to a new
// numbered run folder, out_dir/run-N (out_dir: default the file's name
// without .toml, relative to where quanta runs); files_dir is relative to
// where quanta runs. An unknown key is an error.
//
// A later [sweep] reads the file once (readExperiment), then for each
// point copies the Settings, applies one override at a time with
// applyTomlKey (or applyKey), and calls resolve() on the copy.
#pragma once

#include <string>
#include <toml++/toml.h>
#include <vector>

#include "app/Options.h"

namespace quanta {

// The keys a [[vm]] and a [[channel]] table take.
const std::vector<std::string> &experimentTableKeys();

// Reads and checks the file over the defaults; throws UsageError
// ("FILE:LINE: ..."). The result may still fail resolve() (e.g. a channel
// naming no VM).
Settings readExperiment(const std::string &path);

// A TOML value as an option value; where begins messages about it.
OptionValue tomlOptionValue(const toml::node &node, std::string where);

// Applies one top-level key of an experiment file (an option's key) to
// settings; input paths are resolved against baseDir. Throws UsageError
// naming file and line.
void applyTomlKey(Settings &settings, const std::string &key, const toml::node &node, const std::string &file,
		  const std::string &baseDir);

// `quanta run FILE.toml [options...]`: args[0] is the program, args[1]
// "run". Never throws and never exits.
CommandLine parseExperiment(const std::vector<std::string> &args);

} // namespace quanta
