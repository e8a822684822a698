// Sweeps: one experiment file run over a grid of option values, each cell
// repeated, summarised with confidence intervals (SweepSummary.h).
//
//   [sweep]                       in an experiment file (quanta run ignores it)
//   policy = ["stride", "frac"]   any option key over a list of values
//   quantum = ["1ms", "10ms"]
//   share = [[50, 50], [70, 30]]  per-VM shares: one list per value
//   repeat = 5                    runs per cell (default 1)
//
// Cells are the cartesian product of the lists, in the file's order (the
// last key varies fastest); run r is cell r / repeat, repetition
// r % repeat. `quanta sweep FILE` runs every run as its own process,
// `quanta sweep FILE --run N` one of them (what --list prints, for GNU
// parallel or a Slurm array), and `quanta sweep --collect DIR` builds the
// summary from the reports in DIR. docs/experiments.md has the recipes.
#pragma once

#include <cstddef>
#include <string>
#include <toml++/toml.h>
#include <utility>
#include <vector>

#include "app/Options.h"

namespace quanta {

struct SweepAxis {
	std::string key;                 // the option's experiment-file key
	toml::array values;              // as written, for the option parser
	std::vector<std::string> labels; // as text: "10ms", "70,30"
};

struct SweepSpec {
	std::string path; // the experiment file
	std::string name; // its stem
	std::vector<SweepAxis> axes;
	std::size_t repeat = 1;
	bool fileHasSeed = false; // a top-level seed: every run keeps it

	std::size_t cells() const;
	std::size_t runs() const { return cells() * repeat; }
	// The value index of every axis in this cell.
	std::vector<std::size_t> cellIndices(std::size_t cell) const;
	std::vector<std::pair<std::string, std::string>> cellParams(std::size_t cell) const;
};

// Reads the [sweep] table of an experiment file; throws UsageError
// ("FILE:LINE: ..."). A file without one is a sweep of one cell.
SweepSpec readSweep(const std::string &path);

// The Options of one cell: the experiment's settings with the cell's
// values applied; throws UsageError. warnings: as resolve() gives them.
Options sweepCellOptions(const SweepSpec &spec, std::size_t cell, std::vector<std::string> *warnings = nullptr);

// The file name of run N's report inside the sweep's folder: runs/run-0007.json.
std::string sweepRunFile(std::size_t run);

// `quanta sweep ...`: args[0] the program, args[1] "sweep". Returns the
// exit status; never throws.
int sweepCommand(const std::vector<std::string> &args);

} // namespace quanta
