#pragma once

#include <nlohmann/json.hpp>

#include "app/Options.h"

namespace quanta {

// Runs the guests described by options; returns quanta's exit status.
// sweep: which sweep run this is (Sweep.h), recorded in the metadata.
int run(const Options &options, const nlohmann::json &sweep = nullptr);

} // namespace quanta
