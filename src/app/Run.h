#pragma once

#include "app/Options.h"

namespace quanta {

// Runs the guests described by options; returns quanta's exit status.
int run(const Options &options);

} // namespace quanta
